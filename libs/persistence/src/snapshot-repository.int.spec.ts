import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestDatabase } from '@tidemark/testing';
import { migratedDatabase } from './testing/migrated-database';
import { SNAPSHOT_PAGE_SQL, SnapshotRepository, type DataSource } from './index';

const EVENT = '00000000-0000-4000-8000-000000000000';
const view = (values: Record<string, unknown>, deleted = false) => JSON.stringify({ values, inConflict: [], deleted });

describe('SnapshotRepository (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let repo: SnapshotRepository;

  /** Writes one change of an entity as the projector does: the change-log row, and the projection row. */
  const write = async (workspace: string, type: string, id: string, version: number, values: Record<string, unknown>, deleted = false): Promise<string> => {
    const rows: { cursor: string }[] = await ds.query(
      `INSERT INTO change_log (workspace, entity_type, entity_id, version, deleted, view, scope_key, event_id, device_id, stream_seq) VALUES ($1, $2, $3, $4, $5, $6, $2, $7, 'd1', 1) RETURNING cursor`,
      [workspace, type, id, version, deleted, view(values, deleted), EVENT],
    );
    await ds.query(
      `INSERT INTO entities (workspace, entity_type, entity_id, version, deleted, state, view, scope_key, last_event_id, last_stream_seq) VALUES ($1, $2, $3, $4, $5, '{}', $6, $2, $7, 1)
       ON CONFLICT (workspace, entity_type, entity_id) DO UPDATE SET version = EXCLUDED.version, deleted = EXCLUDED.deleted, view = EXCLUDED.view`,
      [workspace, type, id, version, deleted, view(values, deleted), EVENT],
    );
    return rows[0]!.cursor;
  };
  const all = async (workspace: string, cursor: string, limit: number) => {
    const seen: { key: string; version: number; label: unknown }[] = [];
    let after: { type: string; id: string } | undefined;
    for (;;) {
      const page = await repo.page(workspace, cursor, after, limit);
      seen.push(...page.rows.map((r) => ({ key: `${r.entity_type}/${r.entity_id}`, version: Number(r.version), label: r.view.values.label })));
      if (!page.hasMore) return seen;
      const last = page.rows[page.rows.length - 1]!;
      after = { type: last.entity_type, id: last.entity_id };
    }
  };

  before(async () => {
    ({ db, ds } = await migratedDatabase('snapshot'));
    repo = new SnapshotRepository(ds);
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('answers each entity as of the cursor, skipping later rows, deleted entities and other workspaces; the latest row is by cursor, not version', async () => {
    assert.equal(await repo.head('ws-s'), '0', 'an empty workspace snapshots at cursor 0');
    await write('ws-s', 'annotation', 'a', 1, { label: 'cat' });
    await write('ws-s', 'annotation', 'b', 1, { label: 'dog' });
    await write('ws-s', 'annotation', 'a', 2, { label: 'lion' });
    await write('ws-s', 'annotation', 'c', 1, { label: 'gone' });
    await write('ws-s', 'annotation', 'c', 2, {}, true);
    await write('ws-s', 'job', 'j1', 5, { label: 'job' });
    await write('ws-s', 'job', 'j1', 3, { label: 'replayed' }); // a replay may write a lower version later
    await write('ws-other', 'annotation', 'x', 1, { label: 'foreign' });
    const cursor = await repo.head('ws-s');
    // Written after the snapshot's cursor: an edit, a new entity, a delete. None shows in the snapshot.
    await write('ws-s', 'annotation', 'a', 3, { label: 'tiger' });
    await write('ws-s', 'annotation', 'aa', 1, { label: 'new' });
    await write('ws-s', 'annotation', 'b', 2, {}, true);
    const expected = [
      { key: 'annotation/a', version: 2, label: 'lion' },
      { key: 'annotation/b', version: 1, label: 'dog' },
      { key: 'job/j1', version: 3, label: 'replayed' },
    ];
    for (const limit of [1, 2, 10]) assert.deepEqual(await all('ws-s', cursor, limit), expected, `pages of ${limit}`);
    const now = await all('ws-s', await repo.head('ws-s'), 10);
    assert.deepEqual(
      now.map((r) => r.key),
      ['annotation/a', 'annotation/aa', 'job/j1'],
    );
  });

  it('reads a page of a 50 000-entity workspace by index: one probe of change_log_entity_cursor per entity (EXPLAIN ANALYZE, BUFFERS)', async () => {
    // 50 000 entities with 3 versions each, written in rounds as devices would (versions of one entity far apart).
    await ds.query(
      `INSERT INTO change_log (workspace, entity_type, entity_id, version, deleted, view, scope_key, event_id, device_id, stream_seq)
      SELECT 'ws-big', 'annotation', 'e' || lpad(i::text, 6, '0'), v, false, jsonb_build_object('values', jsonb_build_object('label', 'v' || v, 'note', repeat('x', 100)), 'inConflict', '[]'::jsonb), 'annotation', $1, 'd1', 1
        FROM generate_series(1, 3) v, generate_series(1, 50000) i ORDER BY v, i`,
      [EVENT],
    );
    await ds.query(
      `INSERT INTO entities (workspace, entity_type, entity_id, version, deleted, state, view, scope_key, last_event_id, last_stream_seq)
      SELECT 'ws-big', 'annotation', 'e' || lpad(i::text, 6, '0'), 3, false, '{}', '{}', 'annotation', $1, 1 FROM generate_series(1, 50000) i`,
      [EVENT],
    );
    await ds.query('ANALYZE change_log');
    await ds.query('ANALYZE entities');
    const cursor = await repo.head('ws-big');
    const plans: string[] = [];
    for (const [label, afterId] of [
      ['first page', ''],
      ['middle page', 'e025000'],
    ] as const) {
      const rows: { 'QUERY PLAN': string }[] = await ds.query(`EXPLAIN (ANALYZE, BUFFERS) ${SNAPSHOT_PAGE_SQL}`, ['ws-big', cursor, afterId ? 'annotation' : '', afterId, 501]);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      plans.push(`-- ${label} (500 of 50 000 entities, 150 000 change-log rows)\n${plan}`);
      assert.doesNotMatch(plan, /Seq Scan/, `${label}: no sequential scan\n${plan}`);
      assert.match(plan, /Index Scan Backward using change_log_entity_cursor/, `${label}: the latest row per entity comes from one backward index probe\n${plan}`);
      assert.match(plan, /Index (Only )?Scan using "PK_entities"/, `${label}: entities are walked in key order by their primary key\n${plan}`);
      assert.match(plan, /loops=501\b/, `${label}: one probe per entity of the page\n${plan}`);
    }
    process.stdout.write(`${plans.join('\n\n')}\n`);
    const page = await repo.page('ws-big', cursor, { type: 'annotation', id: 'e049999' }, 500);
    assert.deepEqual(
      page.rows.map((r) => [r.entity_id, Number(r.version)]),
      [['e050000', 3]],
    );
    assert.equal(page.hasMore, false);
  });
});
