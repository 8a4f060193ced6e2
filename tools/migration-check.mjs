#!/usr/bin/env node
// `npm run migration:check`: the checks CI makes of the TypeORM migrations (libs/persistence/src/migrations),
// on a throwaway Postgres that is removed afterwards:
//   - each file is `<13-digit timestamp>-<kebab-name>.ts`, its class and `name` end in that timestamp, each
//     timestamp once, and every file is in MIGRATIONS (data-source.ts);
//   - run one by one on an empty database, each released migration sends exactly the statements and parameters
//     it sent when released (libs/persistence/migration-effects.json), and a new one sorts after all of them;
//   - the whole set runs cleanly, leaves no drift from the entities, and runs again as a no-op.
// They are libs/persistence/src/migrations.int.spec.ts, run on their own:
//   node tools/migration-check.mjs [--no-build]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = ['tools/test.mjs', '--no-lint', '--tier', 'int', '--project', 'libs/persistence', '--file', 'migrations.int.spec', ...process.argv.slice(2)];
const { status, error } = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (error) throw error;
process.exit(status ?? 1);
