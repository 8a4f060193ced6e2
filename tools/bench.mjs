#!/usr/bin/env node
// `npm run bench <name>` (or `npm run bench:<name>`): builds, then runs one benchmark script.
import { execSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, readdirSync } from 'node:fs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const [name, ...args] = process.argv.slice(2);
const available = readdirSync(join(root, 'tools', 'bench'))
  .filter((f) => f.endsWith('.mjs') && !f.startsWith('_'))
  .map((f) => f.replace(/\.mjs$/, ''));
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench <${available.join('|')}> [options]`);
  process.exit(2);
}
execSync('node tools/ensure-install.mjs', { stdio: 'inherit' });
if (!existsSync(join(root, 'libs/local-stack/dist/index.js')) || process.env.TIDEMARK_SKIP_BUILD !== '1') execSync('npx tsc -b tsconfig.json', { stdio: 'inherit' });
await import(join(root, 'tools', 'bench', `${name}.mjs`)).then((m) => m.main(args));
