import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { testDatabase, type TestDatabase } from '@tidemark/testing';
import { createDataSource, migrateWithLock, migrationDrift, type DataSource } from './index';

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
