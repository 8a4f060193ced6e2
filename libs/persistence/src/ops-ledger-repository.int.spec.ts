import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestDatabase } from '@tidemark/testing';
import { migratedDatabase } from './testing/migrated-database';
import { conflictCursor, conflictsWithId, findParked, listAudit, listConflicts, listParked, type DataSource } from './index';

const EVENT = '00000000-0000-4000-8000-000000000000';

/** Pages through a list to its end, checking every page's size; the rows in order. */
async function all<T>(read: (after: string | undefined) => Promise<{ rows: T[]; hasMore: boolean }>, cursor: (row: T) => string, limit: number): Promise<T[]> {
  const out: T[] = [];
  for (let after: string | undefined; ;) {
    const page = await read(after);
    assert.ok(page.rows.length <= limit);
    out.push(...page.rows);
    if (!page.hasMore) return out;
    assert.equal(page.rows.length, limit, 'a page before the last is full');
    after = cursor(page.rows.at(-1)!);
  }
}

describe('operators’ lists: conflicts, parked entries and the audit log, keyset-paged (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;

  before(async () => {
    ({ db, ds } = await migratedDatabase('ops_ledgers'));
    // 250 conflicts in two workspaces; every third resolved; two opened by the same sequence (ids order them).
    await ds.query(
      `INSERT INTO conflicts (conflict_id, workspace, entity_type, entity_id, field, kind, rule, status, detail, opened_event_id, opened_seq, opened_accepted_at)
       SELECT 'c-' || i, CASE WHEN i % 2 = 0 THEN 'acme' ELSE 'beta' END, 'annotation', 'e-' || i, CASE WHEN i % 5 = 0 THEN 'title' ELSE 'label' END, 'field', 'review',
              CASE WHEN i % 3 = 0 THEN 'resolved' ELSE 'open' END, '{}', $1, (i + 1) / 2, now()
         FROM generate_series(1, 250) i`,
      [EVENT],
    );
    // The same conflict id in both workspaces (an id is per workspace), opened by another journal message.
    await ds.query(
      `INSERT INTO conflicts (conflict_id, workspace, entity_type, entity_id, field, kind, rule, status, detail, opened_event_id, opened_seq, opened_accepted_at)
       VALUES ('c-1', 'acme', 'annotation', 'e-1', 'label', 'field', 'review', 'open', '{}', $1, 999, now())`,
      [EVENT],
    );
    await ds.query(
      `INSERT INTO parked_events (consumer, stream_seq, event_id, workspace, subject, reason, code, attempts, payload, status)
       SELECT 'merge-p0' || (i % 4), i * 3, NULL, CASE WHEN i % 2 = 0 THEN 'acme' ELSE 'beta' END, 's', 'r', 'unknown-entity-type', 1, '{}',
              CASE WHEN i % 4 = 0 THEN 'redriven' ELSE 'parked' END
         FROM generate_series(1, 120) i`,
    );
    await ds.query(
      `INSERT INTO audit_log (actor, actor_kind, action, target, reason, outcome)
       SELECT CASE WHEN i % 2 = 0 THEN 'ops-a' ELSE 'ops-b' END, 'operator', CASE WHEN i % 3 = 0 THEN 'conflict.resolve' WHEN i % 3 = 1 THEN 'parked.redrive' ELSE 'parked.skip' END,
              jsonb_build_object('workspace', CASE WHEN i % 4 < 2 THEN 'acme' ELSE 'beta' END, 'consumer', 'merge-p00', 'seq', i),
              'why ' || i, CASE WHEN i % 10 = 0 THEN 'already-resolved' ELSE 'ok' END
         FROM generate_series(1, 300) i`,
    );
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('conflicts: pages in opening order neither skip nor repeat, with filters; an id held by two workspaces is found in both', async () => {
    const every = await all((after) => listConflicts(ds, {}, 17, after), conflictCursor, 17);
    assert.equal(every.length, 251);
    const keys = every.map((r) => [Number(r.opened_seq), r.conflict_id] as const);
    const sorted = [...keys].sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    assert.deepEqual(keys, sorted, 'by opening sequence, then id');
    assert.equal(new Set(every.map((r) => `${r.workspace}/${r.conflict_id}`)).size, 251, 'no row twice');

    const open = await all((after) => listConflicts(ds, { workspace: 'acme', status: 'open', field: 'label' }, 10, after), conflictCursor, 10);
    assert.ok(open.length > 10);
    assert.ok(open.every((r) => r.workspace === 'acme' && r.status === 'open' && r.field === 'label'));
    const expected = (await ds.query("SELECT count(*)::int AS n FROM conflicts WHERE workspace = 'acme' AND status = 'open' AND field = 'label'"))[0].n;
    assert.equal(open.length, expected);

    const some = await listConflicts(ds, { conflictIds: ['c-4', 'c-5', 'c-1'] }, 10);
    assert.deepEqual(
      some.rows.map((r) => `${r.workspace}/${r.conflict_id}`),
      ['beta/c-1', 'acme/c-4', 'beta/c-5', 'acme/c-1'],
    );
    assert.deepEqual(
      (await conflictsWithId(ds, 'c-1')).map((r) => r.workspace),
      ['acme', 'beta'],
    );
    assert.deepEqual(
      (await conflictsWithId(ds, 'c-1', 'beta')).map((r) => r.workspace),
      ['beta'],
    );
    await assert.rejects(listConflicts(ds, {}, 501), RangeError);
    await assert.rejects(listConflicts(ds, {}, 10, 'nonsense'), RangeError);
  });

  it('parked: pages in journal order, filtered by status, workspace and consumer; one entry found and locked', async () => {
    const parked = await all(
      (after) => listParked(ds, { status: 'parked' }, 25, after),
      (r) => r.stream_seq,
      25,
    );
    assert.equal(parked.length, 90);
    assert.deepEqual(
      parked.map((r) => Number(r.stream_seq)),
      [...parked.map((r) => Number(r.stream_seq))].sort((a, b) => a - b),
    );
    const filtered = await all(
      (after) => listParked(ds, { workspace: 'acme', consumer: 'merge-p02' }, 7, after),
      (r) => r.stream_seq,
      7,
    );
    assert.equal(filtered.length, 30);
    assert.ok(filtered.every((r) => r.workspace === 'acme' && r.consumer === 'merge-p02'));
    assert.equal((await findParked(ds, 'merge-p01', 3))?.status, 'parked');
    assert.equal(await findParked(ds, 'merge-p01', 4), undefined);
  });

  it('audit log: newest first, paged by id, filtered by action (or a prefix), actor, outcome, workspace and target members', async () => {
    const every = await all(
      (before) => listAudit(ds, {}, 40, before),
      (r) => r.id,
      40,
    );
    assert.equal(every.length, 300);
    assert.deepEqual(
      every.map((r) => Number(r.id)),
      [...every.map((r) => Number(r.id))].sort((a, b) => b - a),
    );
    const parked = await all(
      (before) => listAudit(ds, { action: 'parked.*', actor: 'ops-a' }, 30, before),
      (r) => r.id,
      30,
    );
    assert.equal(parked.length, 100);
    assert.ok(parked.every((r) => r.action.startsWith('parked.') && r.actor === 'ops-a'));
    const resolves = await listAudit(ds, { action: 'conflict.resolve', outcome: 'already-resolved', workspace: 'acme' }, 100);
    assert.ok(resolves.rows.length > 0 && resolves.rows.every((r) => r.action === 'conflict.resolve' && r.outcome === 'already-resolved' && r.target.workspace === 'acme'));
    const one = await listAudit(ds, { target: { consumer: 'merge-p00', seq: '17' } }, 10);
    assert.deepEqual(
      one.rows.map((r) => r.reason),
      ['why 17'],
    );
    assert.equal((await listAudit(ds, { action: 'parked%' }, 10)).rows.length, 0, 'a LIKE wildcard is a plain character');
  });
  it('a page of open conflicts reads its own rows through conflicts_listing, not a sort of every open one (EXPLAIN)', async () => {
    await ds.query(
      `INSERT INTO conflicts (conflict_id, workspace, entity_type, entity_id, field, kind, rule, status, detail, opened_event_id, opened_seq, opened_accepted_at)
       SELECT 'big-' || i, 'big', 'annotation', 'e-' || i, 'label', 'field', 'review', CASE WHEN i % 4 = 0 THEN 'resolved' ELSE 'open' END, '{}', $1, 1000 + i, now()
         FROM generate_series(1, 60000) i`,
      [EVENT],
    );
    await ds.query('ANALYZE conflicts');
    const rows: { 'QUERY PLAN': string }[] = await ds.query(
      `EXPLAIN (ANALYZE, BUFFERS) SELECT conflict_id FROM conflicts WHERE status = $1 AND (opened_seq, conflict_id) > ($2::bigint, $3::text) ORDER BY opened_seq, conflict_id LIMIT $4`,
      ['open', '31000', 'big-30000', 101],
    );
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    assert.match(plan, /conflicts_listing/, plan);
    assert.doesNotMatch(plan, /Sort|Seq Scan/, plan);
    const page = await listConflicts(ds, { status: 'open' }, 100, '31000:big-30000');
    assert.equal(page.rows[0]!.conflict_id, 'big-30001');
    assert.equal(page.rows.length, 100);
  });
});
