import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '@tidemark/contracts';
import { ANNOTATION_V1, DEFAULT_SCHEMAS, findSchema, mergeWithRegistry, type EntityTypeSchema } from '@tidemark/merge';
import { createDataSource, migrateWithLock, type DataSource } from '@tidemark/persistence';
import { createLogger } from '@tidemark/telemetry';
import { FakeDevice, eventually, testDatabase, type TestDatabase } from '@tidemark/testing';
import { SchemaRegistryCache } from './schema-registry-cache';

describe('SchemaRegistryCache (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const caches: SchemaRegistryCache[] = [];
  const skipped: { type: string; version: number; reason: string }[] = [];
  const logger = createLogger('schema-cache-test', 'silent');
  logger.error = ((fields: { type: string; version: number; reason: string }) => void skipped.push(fields)) as typeof logger.error;

  const publish = (schema: EntityTypeSchema | { type: string; version: number; [k: string]: unknown }) =>
    ds.query('INSERT INTO entity_schemas (type, version, definition) VALUES ($1, $2, $3::jsonb)', [schema.type, schema.version, JSON.stringify(schema)]);
  const cache = async (refreshMs = 60_000) => {
    const c = new SchemaRegistryCache(ds, { refreshMs, logger });
    caches.push(c);
    await c.start();
    return c;
  };
  const keys = (c: SchemaRegistryCache) => c.current().schemas.map((s) => `${s.type}@${s.version}`);

  before(async () => {
    db = await testDatabase('schema_cache');
    ds = createDataSource({ url: db.url });
    await ds.initialize();
    await migrateWithLock(ds);
  });
  after(async () => {
    await Promise.all(caches.map((c) => c.stop()));
    await ds?.destroy();
    await db?.drop();
  });

  it('loads the shipped schemas the migration seeded', async () => {
    const c = await cache();
    assert.deepEqual(
      c.current().schemas.map((s) => canonicalJson(s)),
      [...DEFAULT_SCHEMAS].sort((a, b) => (a.type < b.type ? -1 : 1)).map((s) => canonicalJson(s)),
    );
  });

  it('ensure() reloads once for a version published after start, so its events merge', async () => {
    const c = await cache();
    assert.equal(await c.ensure('annotation', 2), false, 'not published yet');
    const v2: EntityTypeSchema = { ...ANNOTATION_V1, version: 2, fields: { ...ANNOTATION_V1.fields, severity: { policy: 'max', valueType: 'integer' } } };
    await publish(v2);
    assert.equal(findSchema(c.current(), 'annotation', 2).ok, false, 'the periodic refresh has not run');
    assert.equal(await c.ensure('annotation', 2), true);
    assert.equal(findSchema(c.current(), 'annotation', 2).ok, true);

    const event = new FakeDevice('dev-schema').event('annotation', 'a1', 'upsert', { schemaVersion: 2, fields: { severity: { op: 'set', value: 3 } } });
    const result = mergeWithRegistry(undefined, { event, workspace: 'default', acceptedAt: '2025-11-25T00:00:00.000Z', streamSeq: 1 }, c.current());
    assert.equal(result.outcome, 'applied');
  });

  it('ensure() during a load that may have read too early waits for the next one', async () => {
    const c = await cache();
    const running = c.refresh();
    await publish({ ...ANNOTATION_V1, version: 3, fields: { ...ANNOTATION_V1.fields, severity: { policy: 'max', valueType: 'integer' }, score: { policy: 'max', valueType: 'number' } } });
    assert.equal(await c.ensure('annotation', 3), true);
    await running;
  });

  it('skips and reports rows that are not usable schemas, keeping the rest', async () => {
    await publish({ type: 'broken', version: 1, fields: {}, onDeleteConflict: 'maybe' });
    // A row whose definition is another type's.
    await ds.query('INSERT INTO entity_schemas (type, version, definition) VALUES ($1, $2, $3::jsonb)', ['prompt', 9, JSON.stringify({ ...ANNOTATION_V1, version: 9 })]);
    await publish({ ...ANNOTATION_V1, version: 4, fields: { ...ANNOTATION_V1.fields, label: { policy: 'lww', valueType: 'string' } } });
    const c = await cache();
    assert.deepEqual(keys(c), ['annotation@1', 'annotation@2', 'annotation@3', 'job@1', 'output@1', 'prompt@1']);
    assert.equal(await c.ensure('annotation', 4), false);
    assert.deepEqual([...new Set(skipped.map((s) => `${s.type}@${s.version}`))].sort(), ['annotation@4', 'broken@1', 'prompt@9']);
    assert.match(skipped.find((s) => s.type === 'annotation')!.reason, /merge rule cannot change/);
    const before = skipped.length;
    await c.refresh();
    assert.equal(skipped.length, before, 'a skipped row is reported once');
  });

  it('refreshes on its interval', async () => {
    const c = await cache(100);
    await publish({ type: 'invoice', version: 1, onDeleteConflict: 'review', fields: { total: { policy: 'review', valueType: 'number' } } });
    await eventually(() => assert.equal(findSchema(c.current(), 'invoice', 1).ok, true));
  });
});
