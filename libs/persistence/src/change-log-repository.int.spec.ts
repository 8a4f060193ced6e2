import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scopeKey } from '@tidemark/contracts';
import type { TestDatabase } from '@tidemark/testing';
import { migratedDatabase } from './testing/migrated-database';
import { DeviceActivityRepository, changeLogAfter, scopeBacklog, type DataSource } from './index';

const EVENT = '00000000-0000-4000-8000-000000000000';
const PROJECTS = 1000;
const project = (i: number) => `p-${String(i % PROJECTS).padStart(4, '0')}`;

describe('the change log read by scope (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;

  before(async () => {
    ({ db, ds } = await migratedDatabase('change_log_scopes'));
    // 200 000 changes of `task` spread over 1 000 projects, then 2 000 of `label_set` (unpartitioned).
    await ds.query(
      `INSERT INTO change_log (workspace, entity_type, entity_id, version, deleted, view, scope_key, event_id, device_id, stream_seq)
       SELECT 'ws', 'task', 't' || i, 1, false, '{"values":{},"inConflict":[]}', 'task' || chr(31) || 'p-' || lpad((i % ${PROJECTS})::text, 4, '0'), $1, 'd', i
         FROM generate_series(1, 200000) i ORDER BY i`,
      [EVENT],
    );
    await ds.query(
      `INSERT INTO change_log (workspace, entity_type, entity_id, version, deleted, view, scope_key, event_id, device_id, stream_seq)
       SELECT 'ws', 'label_set', 'l' || i, 1, false, '{"values":{},"inConflict":[]}', 'label_set', $1, 'd', i FROM generate_series(1, 2000) i ORDER BY i`,
      [EVENT],
    );
    // t5 moves from p-0005 to p-0006, then back.
    for (const [from, to] of [
      [5, 6],
      [6, 5],
    ]) {
      await ds.query(
        `INSERT INTO change_log (workspace, entity_type, entity_id, version, deleted, view, scope_key, moved_from_key, event_id, device_id, stream_seq)
         VALUES ('ws', 'task', 't5', 2, false, '{"values":{},"inConflict":[]}', $1, $2, $3, 'd', 1)`,
        [scopeKey('task', project(to)), scopeKey('task', project(from)), EVENT],
      );
    }
    await ds.query('ANALYZE change_log');
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('returns exactly the rows of the scope, and of records leaving it, in cursor order', async () => {
    const all = await changeLogAfter(ds, 'ws', '0', 1_000_000);
    const keys = [scopeKey('task', project(5)), scopeKey('task', project(17))];
    const scoped = await changeLogAfter(ds, 'ws', '0', 1_000_000, { keys, types: ['label_set'] });
    const expected = all.filter((r) => keys.includes(r.scope_key) || (r.moved_from_key !== null && keys.includes(r.moved_from_key)) || r.entity_type === 'label_set');
    assert.deepEqual(
      scoped.map((r) => r.cursor),
      expected.map((r) => r.cursor),
    );
    assert.equal(scoped.length, 200 + 200 + 2000 + 2, 'both projects, the whole type, and t5 leaving p-0005 and coming back');
    const paged: string[] = [];
    for (let after = '0'; ;) {
      const page = await changeLogAfter(ds, 'ws', after, 300, { keys, types: ['label_set'] });
      if (page.length === 0) break;
      paged.push(...page.map((r) => r.cursor));
      after = page[page.length - 1]!.cursor;
    }
    assert.deepEqual(
      paged,
      expected.map((r) => r.cursor),
      'paging by the last cursor neither skips nor repeats',
    );
    assert.deepEqual(await changeLogAfter(ds, 'ws', '0', 10, { keys: [], types: [] }), [], 'an empty scope reads nothing');
  });

  it('costs the changes in scope, not the workspace: index ranges per key (EXPLAIN ANALYZE, BUFFERS)', async () => {
    const keys = [0, 1, 2].map((i) => scopeKey('task', project(i)));
    const sql = `EXPLAIN (ANALYZE, BUFFERS) SELECT cursor FROM change_log WHERE workspace = $1 AND cursor > $2
      AND (scope_key = ANY($4::text[]) OR moved_from_key = ANY($4::text[])) ORDER BY cursor LIMIT $3`;
    const rows: { 'QUERY PLAN': string }[] = await ds.query(sql, ['ws', '100000', 1000, keys]);
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    process.stdout.write(`-- 3 projects of 1 000 (300 of 202 002 changes), after the middle cursor\n${plan}\n`);
    assert.doesNotMatch(plan, /Seq Scan/, plan);
    assert.match(plan, /change_log_scope_cursor/, plan);
    const buffers = [...plan.matchAll(/shared hit=(\d+)(?: read=(\d+))?/g)].map((m) => Number(m[1]) + Number(m[2] ?? 0));
    assert.ok(Math.max(...buffers) < 500, `a few hundred pages at most, not the change log's thousands: ${buffers.join(', ')}\n${plan}`);
  });

  it("counts each reader's backlog in a scope up to a cap, with the scope's newest cursor", async () => {
    const keys = [scopeKey('task', project(5))];
    const inScope = (await changeLogAfter(ds, 'ws', '0', 1_000_000, { keys, types: [] })).map((r) => r.cursor);
    assert.equal(inScope.length, 202, 'p-0005: 200 tasks, and t5 leaving and coming back');
    const readers = [
      { deviceId: 'current', cursor: inScope.at(-1)! },
      { deviceId: 'three-behind', cursor: inScope.at(-4)! },
      { deviceId: 'never', cursor: null },
    ];
    const { head, behind } = await scopeBacklog(ds, 'ws', { keys, types: [] }, readers, 150);
    assert.equal(head, inScope.at(-1));
    assert.deepEqual(Object.fromEntries(behind), { current: 0, 'three-behind': 3, never: 150 }, 'a reader that never read is counted up to the cap');
    const whole = await scopeBacklog(ds, 'ws', { keys: [], types: ['label_set'] }, [{ deviceId: 'never', cursor: null }], 100_000);
    assert.deepEqual(Object.fromEntries(whole.behind), { never: 2000 });
    assert.deepEqual(await scopeBacklog(ds, 'ws', { keys: [], types: [] }, readers, 10), {
      head: null,
      behind: new Map([
        ['current', 0],
        ['three-behind', 0],
        ['never', 0],
      ]),
    });
  });

  it("keeps each device's newest read position and adds up its refused writes; a device that does not exist is skipped", async () => {
    await ds.query("INSERT INTO workspaces (workspace, name) VALUES ('ws', 'ws')");
    for (const id of ['d1', 'd2']) await ds.query('INSERT INTO devices (workspace, device_id, created_at) VALUES ($1, $2, now())', ['ws', id]);
    const repo = new DeviceActivityRepository(ds);
    const at = (s: number) => new Date(Date.UTC(2026, 11, 8, 0, 0, s));
    await repo.recordReadPositions([
      { workspace: 'ws', deviceId: 'd1', cursor: '40', at: at(10) },
      { workspace: 'ws', deviceId: 'ghost', cursor: '1', at: at(10) },
    ]);
    await repo.recordReadPositions([{ workspace: 'ws', deviceId: 'd1', cursor: '55', at: at(9) }]);
    await repo.recordReadPositions([{ workspace: 'ws', deviceId: 'd1', cursor: '12', at: at(11) }]);
    const denial = (field: string) => ({ role: 'annotator', accessRulesVersion: 3, denials: [{ pointer: `/events/0/fields/${field}`, code: 'field-not-writable', detail: `may not write ${field}` }] });
    await repo.recordWriteRefusals([{ workspace: 'ws', deviceId: 'd2', events: 2, at: at(20), last: denial('label') }]);
    await repo.recordWriteRefusals([{ workspace: 'ws', deviceId: 'd2', events: 1, at: at(19), last: denial('project') }]);
    const activity = await repo.of('ws', ['d1', 'd2', 'ghost']);
    assert.deepEqual(
      Object.fromEntries(activity),
      {
        d1: { read: { cursor: '12', at: at(11).toISOString() } },
        d2: { refusals: { events: 3, lastAt: at(20).toISOString(), last: denial('label') } },
      },
      'the newest delivery wins (a device that started over reads as behind again); an older refusal adds to the count only',
    );
  });
});
