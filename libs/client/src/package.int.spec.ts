// The SDK as a user gets it: `npm pack` of @tidemark/client and of what it needs at run time (@tidemark/contracts,
// and @tidemark/merge, the local replica's merge engine), installed into an empty folder outside the monorepo with
// the registry out of reach (`--offline`; contracts' and the client's third-party dependencies (idb, tus-js-client, @noble/hashes), and react for the
// optional React entry, are packed from this install). Then it is used from an ES module and a CommonJS script (all three entries), its
// types are checked with `moduleResolution` node16 (ESM and CommonJS files) and bundler, and its browser and React
// entries are bundled by esbuild for `platform: 'browser'`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root (where nx.json is), found from this file in src or dist. */
function repoRoot(from: string): string {
  for (let dir = from; dirname(dir) !== dir; dir = dirname(dir)) if (existsSync(join(dir, 'nx.json'))) return dir;
  throw new Error(`no nx.json above ${from}`);
}
const ROOT = repoRoot(__dirname);

/** Where Node would find package `name` from `from` (node_modules walking up), without relying on its `exports`. */
function packageDir(name: string, from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`${name} is not installed above ${from}`);
  }
}

/** The installed third-party packages `roots` need at run time (dependencies, transitively), as directories. */
function thirdPartyClosure(roots: { name: string; from: string }[]): string[] {
  const dirs = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const { name, from } = queue.shift()!;
    const dir = packageDir(name, from);
    if (dirs.has(dir)) continue;
    dirs.add(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(manifest.dependencies ?? {})) queue.push({ name: dep, from: dir });
  }
  return [...dirs];
}

const npm = async (cwd: string, args: string[]) =>
  run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, env: { ...process.env, npm_config_update_notifier: 'false' }, maxBuffer: 16 * 1024 * 1024 });
const node = async (cwd: string, file: string) => (await run(process.execPath, [file], { cwd, env: { PATH: process.env.PATH ?? '' } })).stdout;

describe('the packed SDK in an empty folder', () => {
  let work: string;
  let app: string;
  const packed: { name: string; files: string[] }[] = [];
  const started = Date.now();

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'tidemark-pack-'));
    const tarballs = join(work, 'tarballs');
    app = join(work, 'app');
    mkdirSync(tarballs);
    mkdirSync(app);
    const ours = ['contracts', 'merge', 'client'].map((lib) => join(ROOT, 'libs', lib));
    const manifest = (lib: string) => JSON.parse(readFileSync(join(ROOT, 'libs', lib, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const thirdParty = (lib: string) =>
      Object.keys(manifest(lib).dependencies)
        .filter((name) => !name.startsWith('@tidemark/'))
        .map((name) => ({ name, from: join(ROOT, 'libs', lib) }));
    // What contracts and the client (idb) need at run time, and @types/node for the type check of a Node app (a dev
    // dependency there).
    const theirs = thirdPartyClosure([
      ...thirdParty('contracts'),
      ...thirdParty('client'),
      { name: '@types/node', from: ROOT },
      // the React entry's optional peer, and its types for the type check
      { name: 'react', from: join(ROOT, 'libs', 'client') },
      { name: '@types/react', from: join(ROOT, 'libs', 'client') },
    ]);
    assert.ok(
      theirs.some((dir) => dir.endsWith(join('node_modules', 'idb'))),
      `idb is packed: ${theirs.join(', ')}`,
    );
    const { stdout } = await npm(work, ['pack', ...ours, ...theirs, '--pack-destination', tarballs, '--ignore-scripts', '--json']);
    const entries = JSON.parse(stdout) as { name: string; filename: string; files: { path: string }[] }[];
    for (const entry of entries) packed.push({ name: entry.name, files: entry.files.map((f) => f.path) });
    assert.equal(entries.length, ours.length + theirs.length);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'tidemark-sdk-user', version: '1.0.0', private: true }, null, 2));
    // No registry: an install that needed one fails here.
    await npm(app, ['install', '--offline', '--ignore-scripts', '--no-package-lock', ...entries.map((entry) => join(tarballs, entry.filename))]);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
    console.log(`packed SDK test: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it('packs only built files: no sources, specs, test support or monorepo paths; none is private', () => {
    for (const name of ['@tidemark/contracts', '@tidemark/merge', '@tidemark/client']) {
      const entry = packed.find((p) => p.name === name);
      assert.ok(entry, `${name} packed`);
      assert.ok(entry.files.includes('package.json') && entry.files.includes('dist/index.js') && entry.files.includes('dist/index.d.ts'), `${name}: ${entry.files.slice(0, 8).join(', ')}`);
      for (const file of entry.files) assert.doesNotMatch(file, /^src\/|\.spec\.|test-support|^dist\/testing\/|tsbuildinfo|\.map$/, `${name} ships ${file}`);
      const manifest = JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8')) as Record<string, unknown>;
      assert.notEqual(manifest.private, true, `${name} is not private`);
      assert.equal(manifest.license, 'Apache-2.0');
      for (const range of Object.values((manifest.dependencies ?? {}) as Record<string, string>)) assert.doesNotMatch(range, /^(\*|file:|workspace:|\.)/, `${name}: dependency range ${range}`);
    }
    const client = packed.find((p) => p.name === '@tidemark/client')!;
    for (const file of ['esm/index.mjs', 'esm/index.d.mts', 'esm/node.mjs', 'esm/node.d.mts', 'esm/react.mjs', 'esm/react.d.mts', 'dist/node.js', 'dist/react.js', 'dist/react.d.ts', 'README.md'])
      assert.ok(client.files.includes(file), `client ships ${file}`);
    assert.ok(!existsSync(join(app, 'node_modules', '@tidemark', 'testing')), 'no dev dependency of the SDK was installed');
  });

  it('works from an ES module and from CommonJS, browser, Node and React entries (the replica reads its write back), against a server that is not there', async () => {
    const script = (load: string) => `${load}
const storage = new MemoryStorage();
const client = await TidemarkClient.open({ baseUrl: 'http://127.0.0.1:9', storage, workspace: 'default', deviceId: 'packed-1', retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 }, requestTimeoutMs: 2000 });
const event = await client.upsert('annotation', 'img-1', { label: 'cat' });
let failure;
try { await client.push(); } catch (error) { failure = error; }
const dir = await mkdtemp(join(tmpdir(), 'fs-'));
const files = await FileStorage.open(dir);
await files.put('k', 'v');
const label = client.get('annotation', 'img-1').values.label;
const reopened = await TidemarkClient.open({ baseUrl: 'http://127.0.0.1:9', storage });
console.log(JSON.stringify({
  seq: event.deviceSeq, pending: client.pending().length, unavailable: failure instanceof ServerUnavailableError, same: FileStorage === NodeFileStorage,
  stored: await files.get('k'), reopenedSeq: reopened.lastSeq, canonical: canonicalJson({ b: 1, a: 2 }), policies: typeof mergeLib.merge,
  label, reread: reopened.get('annotation', 'img-1').values.label, hooks: [typeof useEntity, typeof useQuery],
}));
await files.close(); await client.close(); await reopened.close();`;
    writeFileSync(
      join(app, 'esm.mjs'),
      script(`import { TidemarkClient, MemoryStorage, ServerUnavailableError } from '@tidemark/client';
import { FileStorage, FileStorage as NodeFileStorage } from '@tidemark/client/node';
import { canonicalJson } from '@tidemark/contracts';
import * as mergeLib from '@tidemark/merge';
import { useEntity, useQuery } from '@tidemark/client/react';
import { mkdtemp } from 'node:fs/promises'; import { tmpdir } from 'node:os'; import { join } from 'node:path';`),
    );
    writeFileSync(
      join(app, 'cjs.cjs'),
      `(async () => {
${script(`const { TidemarkClient, MemoryStorage, ServerUnavailableError } = require('@tidemark/client');
const { FileStorage } = require('@tidemark/client/node'); const NodeFileStorage = FileStorage;
const { canonicalJson } = require('@tidemark/contracts');
const mergeLib = require('@tidemark/merge');
const { useEntity, useQuery } = require('@tidemark/client/react');
const { mkdtemp } = require('node:fs/promises'); const { tmpdir } = require('node:os'); const { join } = require('node:path');`)}
})().catch((error) => { console.error(error); process.exit(1); });`,
    );
    const expected = {
      seq: 1,
      pending: 1,
      unavailable: true,
      same: true,
      stored: 'v',
      reopenedSeq: 1,
      canonical: '{"a":2,"b":1}',
      policies: 'function',
      label: 'cat',
      reread: 'cat',
      hooks: ['function', 'function'],
    };
    const [esm, cjs] = await Promise.all([node(app, 'esm.mjs'), node(app, 'cjs.cjs')]);
    assert.deepEqual(JSON.parse(esm), expected, 'ES module');
    assert.deepEqual(JSON.parse(cjs), expected, 'CommonJS');
  });

  it('its types resolve: moduleResolution node16 (ES module and CommonJS files) and bundler, strict, without skipLibCheck', async () => {
    const use = `const storage = new MemoryStorage();
export const opened: Promise<TidemarkClient> = TidemarkClient.open({ baseUrl: 'https://sync.example', storage, workspace: 'w', deviceId: 'd' });
export async function edit(client: TidemarkClient): Promise<number> {
  const draft: EventDraft = { entity: { type: 'annotation', id: 'a' }, op: 'upsert', fields: { label: { op: 'set', value: 'cat' } } };
  const event: DeviceEvent = await client.enqueue(draft);
  const summary: PushSummary = await client.push();
  return event.deviceSeq + summary.accepted;
}
export const isUnreachable = (error: unknown): boolean => error instanceof ServerUnreachableError;
export const labelOf = (client: TidemarkClient): unknown => client.get('annotation', 'a')?.values.label;
export const cats = (client: TidemarkClient): EntityRead[] => client.query({ type: 'annotation', where: { label: 'cat', confidence: { gte: 0.5 } }, orderBy: '-confidence', limit: 10 });
export const useCats = (client: TidemarkClient): EntityRead[] => useQuery(client, { type: 'annotation', where: { label: 'cat' } });
// @ts-expect-error: a typo in an option is a type error, so the types are real (not any)
export const wrong = TidemarkClient.open({ baseUrl: 'x', storage, retrys: 1 });
`;
    const imports = `import { TidemarkClient, MemoryStorage, ServerUnreachableError, type EventDraft, type PushSummary, type EntityRead } from '@tidemark/client';
import { useQuery } from '@tidemark/client/react';
import type { DeviceEvent } from '@tidemark/contracts';`;
    const nodeOnly = `\nexport const files: Promise<Storage> = FileStorage.open('/tmp/x');\n`;
    mkdirSync(join(app, 'types'));
    writeFileSync(join(app, 'types', 'esm.mts'), `${imports}\nimport { FileStorage, type Storage } from '@tidemark/client/node';\n${use}${nodeOnly}`);
    writeFileSync(join(app, 'types', 'cjs.cts'), `${imports}\nimport { FileStorage, type Storage } from '@tidemark/client/node';\n${use}${nodeOnly}`);
    const browserOnly = `\nexport const tabs: Promise<TidemarkClient> = IndexedDbStorage.open('device').then((idb: Storage) => TidemarkClient.open({ baseUrl: 'https://sync.example', storage: idb, tabs: 'auto' }));\n`;
    writeFileSync(join(app, 'types', 'browser.ts'), `${imports}\nimport { IndexedDbStorage, type Storage } from '@tidemark/client';\n${use}${browserOnly}`);
    const base = { strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022' };
    writeFileSync(
      join(app, 'tsconfig.node16.json'),
      JSON.stringify({ compilerOptions: { ...base, module: 'node16', moduleResolution: 'node16', lib: ['ES2022'], types: ['node'] }, files: ['types/esm.mts', 'types/cjs.cts'] }),
    );
    // A browser app: DOM types, no Node types at all.
    writeFileSync(
      join(app, 'tsconfig.bundler.json'),
      JSON.stringify({ compilerOptions: { ...base, module: 'esnext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: [] }, files: ['types/browser.ts'] }),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const check = (project: string) =>
      run(process.execPath, [tsc, '-p', project], { cwd: app }).then(
        () => '',
        (error: { stdout?: string }) => `${project}:\n${error.stdout ?? String(error)}`,
      );
    const failures = (await Promise.all([check('tsconfig.node16.json'), check('tsconfig.bundler.json')])).filter(Boolean);
    assert.deepEqual(failures, []);
  });

  it('its browser entry bundles for the browser with esbuild: no error, no Node built-in, of the contracts only their dependency-free core', async () => {
    const esbuild = await import('esbuild');
    writeFileSync(
      join(app, 'page.js'),
      `import { TidemarkClient, IndexedDbStorage } from '@tidemark/client';\nexport const open = async (baseUrl) => TidemarkClient.open({ baseUrl, storage: await IndexedDbStorage.open('device'), tabs: 'auto' });\n`,
    );
    const result = await esbuild.build({
      entryPoints: [join(app, 'page.js')],
      absWorkingDir: app,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.warnings, []);
    const text = result.outputFiles[0]!.text;
    assert.doesNotMatch(text, /["'`]node:|require\(["'](fs|path|crypto|os)["']\)/, 'the bundle loads no Node built-in');
    const inputs = Object.keys(result.metafile.inputs);
    assert.ok(
      inputs.some((input) => input.includes('@tidemark/client/esm/index.mjs')),
      `resolved through the ES module entry: ${inputs.join(', ')}`,
    );
    assert.ok(!inputs.some((input) => input.includes('file-storage') || input.includes('ajv') || input.includes('typebox')), `bundled: ${inputs.join(', ')}`);
    const contractsFiles = inputs.filter((input) => input.includes('@tidemark/contracts'));
    for (const file of contractsFiles)
      assert.match(file, /@tidemark\/contracts\/dist\/(core|canonical-json|events\/patterns|events\/subjects|events\/scope-key)\.js$/, `only the core of the contracts: ${contractsFiles.join(', ')}`);
    assert.ok(
      inputs.some((input) => input.includes('@tidemark/merge')),
      'the merge engine is in the bundle (the replica)',
    );
    assert.ok(
      inputs.some((input) => input.includes('node_modules/idb/')),
      `IndexedDbStorage's idb is bundled: ${inputs.join(', ')}`,
    );
    console.log(`browser bundle: ${text.length} bytes, ${inputs.length} modules`);
    // The React entry bundles too, with react (the app's) and nothing of Node.
    writeFileSync(join(app, 'react-page.js'), `import { useQuery } from '@tidemark/client/react';\nexport const hook = useQuery;\n`);
    const react = await esbuild.build({
      entryPoints: [join(app, 'react-page.js')],
      absWorkingDir: app,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    assert.deepEqual(react.errors, []);
    assert.ok(
      Object.keys(react.metafile.inputs).some((input) => input.includes('@tidemark/client/esm/react.mjs')),
      'resolved through the ES module React entry',
    );
    assert.doesNotMatch(react.outputFiles[0]!.text, /["'`]node:/);
    // The Node entry, bundled for the browser, is refused (it is what keeps node: out of the browser entry).
    writeFileSync(join(app, 'node-page.js'), `import { FileStorage } from '@tidemark/client/node';\nexport const f = FileStorage;\n`);
    const refused = await esbuild.build({ entryPoints: [join(app, 'node-page.js')], absWorkingDir: app, bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' }).then(
      () => [],
      (error: { errors: { text: string }[] }) => error.errors.map((e) => e.text),
    );
    assert.ok(
      refused.some((text) => /node:fs/.test(text)),
      `the Node entry needs node:fs: ${refused.join('; ')}`,
    );
  });
});
