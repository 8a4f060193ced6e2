#!/usr/bin/env node
// Builds the example against the SDK as an app gets it: `npm pack` of @tidemark/contracts, @tidemark/merge and
// @tidemark/client (their built `dist/`: run `npm run build` at the repository root first), unpacked into this
// folder's node_modules as `npm install` of the tarballs would leave them, then src/main.tsx bundled for the browser
// by esbuild into dist/. The build fails if the bundle took anything of tidemark from outside this folder's
// node_modules (the monorepo's sources). Third-party packages (react, idb, tus-js-client, …) resolve from the
// nearest node_modules up the tree, as in any app.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const PACKAGES = ['contracts', 'merge', 'client'];

/** Packs and unpacks the SDK into `<here>/node_modules/@tidemark/*`; returns the client's version. */
async function installPackedSdk() {
  const work = await mkdtemp(join(tmpdir(), 'tidemark-example-sdk-'));
  try {
    const dirs = PACKAGES.map((name) => join(repo, 'libs', name));
    for (const dir of dirs) await stat(join(dir, 'dist')).catch(() => Promise.reject(new Error(`${relative(repo, dir)}/dist is missing: run \`npm run build\` first`)));
    const { stdout } = await run('npm', ['pack', ...dirs, '--pack-destination', work, '--ignore-scripts', '--json', '--loglevel=error'], {
      cwd: work,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    const packed = JSON.parse(stdout);
    for (const entry of packed) {
      const target = join(here, 'node_modules', ...entry.name.split('/'));
      await rm(target, { recursive: true, force: true });
      await mkdir(target, { recursive: true });
      await run('tar', ['-xzf', join(work, entry.filename), '-C', target, '--strip-components=1']);
    }
    return packed.find((entry) => entry.name === '@tidemark/client').version;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Builds the example into `<here>/dist` (index.html, app.css, app.js and its source map). With `typecheck`, first
 * type-checks src/ against the packed SDK's declarations (tsconfig.json here).
 */
export async function buildExample({ typecheck = false, minify = true } = {}) {
  const started = Date.now();
  const version = await installPackedSdk();
  if (typecheck) {
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(process.execPath, [tsc, '-p', join(here, 'tsconfig.json')], { cwd: here }).catch((error) =>
      Promise.reject(new Error(`the example does not type-check against the packed SDK:\n${error.stdout}${error.stderr}`)),
    );
  }
  const { build } = await import('esbuild');
  const out = join(here, 'dist');
  await rm(out, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: here,
    entryPoints: [join(here, 'src', 'main.tsx')],
    outfile: join(out, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    minify,
    sourcemap: true,
    metafile: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  const installed = join(here, 'node_modules', '@tidemark') + sep;
  const outside = Object.keys(result.metafile.inputs)
    .map((input) => resolve(here, input))
    .filter((input) => (input.startsWith(join(repo, 'libs') + sep) || input.includes(`${sep}@tidemark${sep}`)) && !input.startsWith(installed));
  if (outside.length > 0) throw new Error(`the example's bundle took tidemark code from outside the packed SDK: ${outside.slice(0, 5).join(', ')}`);
  const sdkInputs = Object.keys(result.metafile.inputs).filter((input) => resolve(here, input).startsWith(installed)).length;
  if (sdkInputs === 0) throw new Error('the bundle holds nothing of the packed SDK');
  for (const file of ['index.html', 'app.css']) await copyFile(join(here, file), join(out, file));
  const bytes = (await readFile(join(out, 'app.js'))).length;
  return { dir: out, version, bytes, sdkInputs, ms: Date.now() - started };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = await buildExample({ typecheck: process.argv.includes('--typecheck') });
  console.log(
    `built the annotator with @tidemark/client ${built.version} (packed): ${relative(process.cwd(), built.dir)}/app.js, ${built.bytes} bytes, ${built.sdkInputs} SDK modules, in ${built.ms} ms`,
  );
}
