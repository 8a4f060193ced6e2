import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { QueryRunner } from 'typeorm';
import { testDatabase, type TestDatabase } from '@tidemark/testing';
import { MIGRATIONS, createDataSource, type DataSource } from './index';
import { DecisionsPerEvent1765280000000 } from './migrations/1765280000000-decisions-per-event';

const E1 = '00000000-0000-4000-8000-000000000001';
const E2 = '00000000-0000-4000-8000-000000000002';

/** Per-field rows as the projection wrote them before: absent, null and array values, a conflict, two workspaces. */
const BY_FIELD = [
  {
    event_id: E1,
    idx: 0,
    workspace: 'w1',
    entity_type: 'note',
    entity_id: 'n1',
    field: 'n',
    policy: 'counter',
    rule: 'counter:add',
    outcome: 'applied',
    change: { op: 'inc', by: 1 },
    before: null,
    after: 1,
    conflict_id: null,
    stream_seq: '7',
  },
  {
    event_id: E1,
    idx: 1,
    workspace: 'w1',
    entity_type: 'note',
    entity_id: 'n1',
    field: 'tags',
    policy: 'set',
    rule: 'set:add',
    outcome: 'applied',
    change: { op: 'add', values: ['a'] },
    before: ['x'],
    after: ['a', 'x'],
    conflict_id: null,
    stream_seq: '7',
  },
  {
    event_id: E1,
    idx: 2,
    workspace: 'w1',
    entity_type: 'note',
    entity_id: 'n1',
    field: 'body',
    policy: 'review',
    rule: 'review:concurrent-edit',
    outcome: 'conflicted',
    change: { op: 'set', value: null },
    before: 'ours',
    after: 'ours',
    conflict_id: `${E1}:body`,
    stream_seq: '7',
  },
  {
    event_id: E1,
    idx: 0,
    workspace: 'w2',
    entity_type: 'note',
    entity_id: 'n1',
    field: 'title',
    policy: 'lww',
    rule: 'lww:newer-stamp',
    outcome: 'applied',
    change: { op: 'set', value: null },
    before: 'old',
    after: 'JSON_NULL',
    conflict_id: null,
    stream_seq: '8',
  },
  {
    event_id: E2,
    idx: 0,
    workspace: 'w1',
    entity_type: 'note',
    entity_id: 'n2',
    field: 'title',
    policy: 'lww',
    rule: 'lww:first-write',
    outcome: 'applied',
    change: { op: 'set', value: { a: 1 } },
    before: null,
    after: { a: 1 },
    conflict_id: null,
    stream_seq: '9',
  },
];

/** `before`/`after` as parameters: SQL NULL for none, the JSON text otherwise (`JSON_NULL` is a JSON null value). */
const jsonParam = (v: unknown): string | null => (v === null ? null : v === 'JSON_NULL' ? 'null' : JSON.stringify(v));

async function byField(q: QueryRunner): Promise<unknown[]> {
  return q.query(
    `SELECT event_id, idx, workspace, entity_type, entity_id, field, policy, rule, outcome, change, before, after, conflict_id, stream_seq,
            before IS NULL AS before_absent, after IS NULL AS after_absent
       FROM merge_decisions ORDER BY event_id, workspace, idx`,
  );
}

describe('migration DecisionsPerEvent: one merge_decisions row per event', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let q: QueryRunner;
  before(async () => {
    db = await testDatabase('decisions_per_event');
    ds = createDataSource({ url: db.url });
    await ds.initialize();
    q = ds.createQueryRunner();
    for (const migration of MIGRATIONS.filter((m) => m !== DecisionsPerEvent1765280000000)) await new migration().up(q);
    for (const r of BY_FIELD) {
      await q.query(
        `INSERT INTO merge_decisions (event_id, idx, workspace, entity_type, entity_id, field, policy, rule, outcome, change, before, after, conflict_id, stream_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, $13, $14)`,
        [
          r.event_id,
          r.idx,
          r.workspace,
          r.entity_type,
          r.entity_id,
          r.field,
          r.policy,
          r.rule,
          r.outcome,
          JSON.stringify(r.change),
          jsonParam(r.before),
          jsonParam(r.after),
          r.conflict_id,
          r.stream_seq,
        ],
      );
    }
  });
  after(async () => {
    await q?.release();
    await ds?.destroy();
    await db?.drop();
  });

  it('converts the per-field rows to one row per event and back, losing nothing', async () => {
    const original = await byField(q);
    assert.equal(original.length, 5);

    await new DecisionsPerEvent1765280000000().up(q);
    const rows: { event_id: string; workspace: string; entity_type: string; entity_id: string; stream_seq: string; decisions: unknown[] }[] = await q.query(
      'SELECT * FROM merge_decisions ORDER BY event_id, workspace',
    );
    assert.deepStrictEqual(rows, [
      {
        event_id: E1,
        workspace: 'w1',
        entity_type: 'note',
        entity_id: 'n1',
        stream_seq: '7',
        decisions: [
          ['n', 'counter', 'counter:add', 'applied', { op: 'inc', by: 1 }, null, 1],
          ['tags', 'set', 'set:add', 'applied', { op: 'add', values: ['a'] }, [['x']], [['a', 'x']]],
          ['body', 'review', 'review:concurrent-edit', 'conflicted', { op: 'set', value: null }, 'ours', 'ours', `${E1}:body`],
        ],
      },
      { event_id: E1, workspace: 'w2', entity_type: 'note', entity_id: 'n1', stream_seq: '8', decisions: [['title', 'lww', 'lww:newer-stamp', 'applied', { op: 'set', value: null }, 'old', [null]]] },
      {
        event_id: E2,
        workspace: 'w1',
        entity_type: 'note',
        entity_id: 'n2',
        stream_seq: '9',
        decisions: [['title', 'lww', 'lww:first-write', 'applied', { op: 'set', value: { a: 1 } }, null, { a: 1 }]],
      },
    ]);

    // The entity index serves a per-entity lookup, and a field filter over the array stays behind it.
    await q.query('SET enable_seqscan = off');
    const plan: { 'QUERY PLAN': string }[] = await q.query(
      `EXPLAIN SELECT d.event_id FROM merge_decisions d WHERE d.workspace = 'w1' AND d.entity_type = 'note' AND d.entity_id = 'n1'
          AND EXISTS (SELECT 1 FROM jsonb_array_elements(d.decisions) AS x(t) WHERE x.t ->> 0 = 'body')`,
    );
    await q.query('RESET enable_seqscan');
    assert.match(plan.map((p) => p['QUERY PLAN']).join('\n'), /Index Scan using "?merge_decisions_entity"?|Bitmap Index Scan on "?merge_decisions_entity"?/);

    await new DecisionsPerEvent1765280000000().down(q);
    assert.deepStrictEqual(await byField(q), original);
  });
});
