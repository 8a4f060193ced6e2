#!/usr/bin/env node
// Runs every test tier with Node's test runner and ends with `N passed, N failed, N skipped`.
//   node tools/test.mjs [--tier unit|int|e2e]... [--project libs/x] [--no-build] [--file substring]
// Tiers by file name: *.spec.ts unit (pure), *.int.spec.ts real servers, *.e2e.spec.ts running services.
// Integration and end-to-end tiers share one throwaway Postgres and S3 per run (each test file makes
// its own database and bucket) and start their own nats-server per file; all are removed at the end.
import { execSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const { values } = parseArgs({
  options: {
    tier: { type: 'string', multiple: true },
    project: { type: 'string', multiple: true },
    file: { type: 'string', multiple: true },
    'no-build': { type: 'boolean', default: false },
    'no-lint': { type: 'boolean', default: false },
  },
});
const tiers = values.tier?.length ? values.tier : ['unit', 'int', 'e2e'];

execSync('node tools/ensure-install.mjs', { stdio: 'inherit' });
if (!values['no-build']) {
  console.log('[test] building (tsc -b)…');
  execSync('npx tsc -b tsconfig.json', { stdio: 'inherit' });
}

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.spec.js')) out.push(path);
  }
  return out;
}
const projects = values.project?.length ? values.project : ['libs', 'apps', 'tests'].flatMap((group) => (existsSync(group) ? readdirSync(group).map((name) => join(group, name)) : []));
// Only compiled specs whose source still exists: tsc -b leaves the output of a moved or deleted file.
const hasSource = (project, file) => existsSync(join(project, 'src', relative(join(project, 'dist'), file)).replace(/\.js$/, '.ts'));
const all = projects.flatMap((project) => walk(join(project, 'dist')).filter((file) => hasSource(project, file))).sort();
const tierOf = (file) => (file.endsWith('.int.spec.js') ? 'int' : file.endsWith('.e2e.spec.js') ? 'e2e' : 'unit');
const selected = all.filter((file) => tiers.includes(tierOf(file)) && (!values.file?.length || values.file.some((s) => file.includes(s))));

const { run } = await import('node:test');
const { spec } = await import('node:test/reporters');
const totals = { passed: 0, failed: 0, skipped: 0 };
let stack;

async function runTier(tier, files) {
  if (files.length === 0) return;
  console.log(`\n[test] tier ${tier}: ${files.length} file(s)`);
  const stream = run({ files, concurrency: tier === 'unit' ? 2 : 1, timeout: 5 * 60_000 });
  stream.on('test:pass', (data) => {
    if (data.details?.type === 'suite') return;
    if (data.skip || data.todo) totals.skipped++;
    else totals.passed++;
  });
  stream.on('test:fail', (data) => {
    if (data.details?.type === 'suite' && !data.details?.error?.failureType?.includes('hook')) return;
    totals.failed++;
  });
  const reporter = stream.compose(spec);
  for await (const chunk of reporter) process.stdout.write(chunk);
}

function staticCheck(name, command) {
  console.log(`\n[test] ${name}: ${command}`);
  try {
    execSync(command, { stdio: 'inherit' });
    console.log(`✔ ${name}`);
    totals.passed++;
  } catch {
    console.log(`✖ ${name}`);
    totals.failed++;
  }
}

try {
  // Lint with module boundaries runs with the whole suite (not when a part is picked).
  if (!values['no-lint'] && !values.project?.length && !values.file?.length && tiers.includes('unit')) {
    staticCheck('lint (eslint, module boundaries)', 'npm run --silent lint');
    staticCheck('format (prettier --check)', 'npm run --silent format:check');
  }
  const needsStack = selected.some((file) => tierOf(file) !== 'unit');
  if (needsStack) {
    const { startSharedStack } = await import('@tidemark/testing');
    stack = await startSharedStack();
    Object.assign(process.env, stack.env);
    console.log(
      `[test] shared stack: ${Object.entries(stack.env)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  }
  for (const tier of ['unit', 'int', 'e2e']) {
    if (tiers.includes(tier))
      await runTier(
        tier,
        selected.filter((file) => tierOf(file) === tier),
      );
  }
} catch (error) {
  console.error('[test] the run could not complete:', error);
  totals.failed++;
} finally {
  if (stack) await stack.stop().catch((error) => console.error('[test] stopping the shared stack failed:', error));
}
if (selected.length === 0) console.log(`[test] no test files matched (${relative(root, root) || '.'})`);
console.log(`\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exit(totals.failed > 0 || selected.length === 0 ? 1 : 0);
