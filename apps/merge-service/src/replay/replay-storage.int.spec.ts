import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SHADOW_TABLES, createDataSource, createShadow, dropShadow, migrateWithLock, shadowExists, type DataSource } from '@tidemark/persistence';
import { createLogger } from '@tidemark/telemetry';
import { testDatabase, type TestDatabase } from '@tidemark/testing';
import { PolicyRevisionCache } from '../projection/policy-revisions';

describe('replay storage (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const logger = createLogger('replay-storage-test', 'silent');

  before(async () => {
    db = await testDatabase('replay_storage');
    ds = createDataSource({ url: db.url });
    await ds.initialize();
    await migrateWithLock(ds);
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('creates a shadow with every projection table, its own sequences, and drops it', async () => {
    await createShadow(ds, 'replay_test');
    await createShadow(ds, 'replay_test'); // idempotent: a resumed job creates it again
    const tables: { table_name: string }[] = await ds.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'replay_test' ORDER BY table_name");
    assert.deepEqual(
      tables.map((t) => t.table_name),
      [...SHADOW_TABLES].sort(),
    );
    const before: { last_value: string; is_called: boolean }[] = await ds.query('SELECT last_value, is_called FROM public.change_log_cursor_seq');
    await ds.query(
      "INSERT INTO replay_test.change_log (workspace, entity_type, entity_id, version, deleted, view, scope_key, event_id, device_id, stream_seq) VALUES ('w', 't', 'i', 1, false, '{}', 't', '00000000-0000-4000-8000-000000000001', 'd', 1)",
    );
    const after: { last_value: string; is_called: boolean }[] = await ds.query('SELECT last_value, is_called FROM public.change_log_cursor_seq');
    assert.deepEqual(after[0], before[0], 'the live cursor sequence is not drawn from');
    assert.equal(Number((await ds.query('SELECT count(*) AS n FROM public.change_log'))[0].n), 0);
    // Primary keys came along: a duplicate receipt in the shadow is refused as live would refuse it.
    await ds.query(
      "INSERT INTO replay_test.event_receipts (event_id, workspace, device_id, device_seq, entity_type, entity_id, status, stream_seq, accepted_at) VALUES ('00000000-0000-4000-8000-000000000002', 'w', 'd', 1, 't', 'i', 'applied', 1, now())",
    );
    await assert.rejects(
      ds.query(
        "INSERT INTO replay_test.event_receipts (event_id, workspace, device_id, device_seq, entity_type, entity_id, status, stream_seq, accepted_at) VALUES ('00000000-0000-4000-8000-000000000002', 'w', 'd', 1, 't', 'i', 'applied', 1, now())",
      ),
      /duplicate key/,
    );
    await dropShadow(ds, 'replay_test');
    assert.equal(await shadowExists(ds, 'replay_test'), false);
  });

  it('follows activations per workspace and type, and reloads when their generation moves', async () => {
    const cache = new PolicyRevisionCache(ds, logger);
    await cache.ensureCurrent();
    assert.equal(cache.revisionFor('acme', 'prompt'), undefined);
    assert.equal(cache.activeRevision('acme', 'prompt'), 1);
    const revision = { type: 'prompt', revision: 2, fields: { title: { policy: 'max' } } };
    await ds.query('INSERT INTO policy_revisions (type, revision, definition) VALUES ($1, $2, $3)', ['prompt', 2, JSON.stringify(revision)]);
    await ds.query("INSERT INTO policy_activations (workspace, type, revision) VALUES ('acme', 'prompt', 2)");
    assert.equal(cache.revisionFor('acme', 'prompt'), undefined, 'not before the next check');
    await cache.ensureCurrent();
    assert.deepEqual(cache.revisionFor('acme', 'prompt'), revision);
    assert.equal(cache.revisionFor('other', 'prompt'), undefined, 'per workspace');
    await ds.query("INSERT INTO policy_activations (workspace, type, revision) VALUES ('acme', 'prompt', 1)");
    await cache.ensureCurrent();
    assert.equal(cache.revisionFor('acme', 'prompt'), undefined, 'revision 1 reverts to the declared policies');
    await assert.rejects(cache.definition('prompt', 9), /not published/);
  });
});
