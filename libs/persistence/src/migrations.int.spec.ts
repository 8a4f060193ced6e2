import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { QueryRunner } from 'typeorm';
import { testDatabase, type TestDatabase } from '@tidemark/testing';
import { MIGRATIONS, createDataSource, migrateWithLock, migrationDrift, type DataSource } from './index';

/** The migration sources (this file runs from `dist`). */
const SOURCES = join(__dirname, '..', 'src', 'migrations');
/** What each released migration sends to Postgres, by name: the SHA-256 of its statements and their parameters. */
const LEDGER = join(__dirname, '..', 'migration-effects.json');
const FILE_NAME = /^(\d{13})-[a-z0-9]+(-[a-z0-9]+)*\.ts$/;

const timestampOf = (name: string): number => Number(/(\d{13})$/.exec(name)?.[1]);
const byTimestamp = [...MIGRATIONS].sort((a, b) => timestampOf(a.name) - timestampOf(b.name));

describe('migrations', () => {
  let db: TestDatabase;
  let ds: DataSource;
  before(async () => {
    db = await testDatabase('migrations');
    ds = createDataSource({ url: db.url });
    await ds.initialize();
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('create every table the entities need: no drift between entities and migrations', async () => {
    const applied = await migrateWithLock(ds);
    assert.ok(applied.length >= 1);
    assert.deepEqual(await migrationDrift(ds), []);
  });

  it('are idempotent and safe to run from several replicas at once', async () => {
    const others = [createDataSource({ url: db.url }), createDataSource({ url: db.url })];
    await Promise.all(others.map((o) => o.initialize()));
    const results = await Promise.all(others.map((o) => migrateWithLock(o)));
    assert.deepEqual(results, [[], []]);
    await Promise.all(others.map((o) => o.destroy()));
  });
});

describe('migrations are named by their timestamp and never change once released', () => {
  it('one file `<13-digit timestamp>-<kebab-name>.ts` per migration, its class and `name` ending in that timestamp, each timestamp once', () => {
    const files = readdirSync(SOURCES).filter((f) => f.endsWith('.ts'));
    for (const file of files) assert.match(file, FILE_NAME);
    for (const migration of MIGRATIONS) assert.equal(new migration().name, migration.name, `${migration.name}: its \`name\` (what the migrations table records) is its class name`);
    const fromFiles = files.map((f) => Number(FILE_NAME.exec(f)?.[1])).sort((a, b) => a - b);
    const fromClasses = byTimestamp.map((m) => timestampOf(m.name));
    assert.deepEqual(fromClasses, fromFiles, 'every file under migrations/ is in MIGRATIONS (data-source.ts), and nothing else is');
    assert.equal(new Set(fromFiles).size, fromFiles.length, 'no two migrations share a timestamp');
  });

  it('each released migration sends exactly the statements it sent when released; a new one sorts after all of them', async () => {
    const db = await testDatabase('migration_effects');
    const ds = createDataSource({ url: db.url });
    await ds.initialize();
    const runner = ds.createQueryRunner();
    try {
      // Run one by one on an empty database, recording every statement and its parameters as sent.
      const effects: Record<string, string> = {};
      for (const migration of byTimestamp) {
        const sent: string[] = [];
        const recording = new Proxy(runner, {
          get(target, property, receiver) {
            if (property !== 'query') return Reflect.get(target, property, receiver) as unknown;
            return (sql: string, parameters?: unknown[], ...rest: unknown[]) => {
              sent.push(JSON.stringify([sql, parameters ?? []]));
              return (target.query as (...args: unknown[]) => Promise<unknown>)(sql, parameters, ...rest);
            };
          },
        }) as QueryRunner;
        await new migration().up(recording);
        effects[migration.name] = `sha256:${createHash('sha256').update(sent.join('\n')).digest('hex')}`;
      }
      const released = JSON.parse(readFileSync(LEDGER, 'utf8')) as Record<string, string>;
      const names = Object.keys(released);
      assert.deepEqual(
        names,
        [...names].sort((a, b) => timestampOf(a) - timestampOf(b)),
        'the ledger lists migrations in timestamp order',
      );
      for (const name of names) {
        assert.ok(name in effects, `${name} was released and is gone (deleted or renamed); a released migration stays, under its name`);
        assert.equal(effects[name], released[name], `${name} was released and now sends other statements or parameters; add a new migration instead`);
      }
      const last = Math.max(0, ...names.map(timestampOf));
      const added = byTimestamp.map((m) => m.name).filter((name) => !(name in released));
      for (const name of added) assert.ok(timestampOf(name) > last, `${name} is new but older than a released migration (${last}); give it a later timestamp`);
      assert.deepEqual(added, [], `new migrations: add to libs/persistence/migration-effects.json\n${added.map((name) => `  "${name}": "${effects[name]}"`).join(',\n')}`);
    } finally {
      await runner.release();
      await ds.destroy();
      await db.drop();
    }
  });
});
