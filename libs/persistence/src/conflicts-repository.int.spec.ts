import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestDatabase } from '@tidemark/testing';
import { migratedDatabase } from './testing/migrated-database';
import { ConflictsRepository, conflictCursor, type DataSource } from './index';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('ConflictsRepository (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let conflicts: ConflictsRepository;

  before(async () => {
    ({ db, ds } = await migratedDatabase('conflicts_repository'));
    conflicts = new ConflictsRepository(ds);
    const rows: [string, string, string, string, string, number, string, number | null][] = [
      // id, workspace, type, field, status, opened seq, opened at, resolved by event n
      ['c1', 'ws', 'note', 'title', 'open', 10, '2030-01-01T00:00:03Z', null],
      ['c2', 'ws', 'note', 'title', 'open', 11, '2030-01-01T00:00:01Z', null],
      ['c3', 'ws', 'note', 'body', 'resolved', 12, '2030-01-01T00:00:02Z', 13],
      ['c4', 'ws', 'task', 'state', 'open', 14, '2030-01-01T00:00:04Z', null],
      ['c1', 'other', 'note', 'title', 'open', 10, '2030-01-01T00:00:00Z', null],
    ];
    for (const [conflict, ws, type, field, status, seq, at, resolved] of rows) {
      await ds.query(
        `INSERT INTO conflicts (conflict_id, workspace, entity_type, entity_id, field, kind, rule, status, detail, opened_event_id, opened_seq, opened_accepted_at, resolved_event_id, resolved_seq)
         VALUES ($1, $2, $3, 'e1', $4, 'field', 'review', $5, '{"ours":{"value":1},"theirs":{"value":2},"openedAt":1}', $6, $7, $8, $9, $10)`,
        [conflict, ws, type, field, status, id(seq), seq, at, resolved === null ? null : id(resolved), resolved],
      );
    }
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('lists by opening sequence with filters and a cursor, in one workspace', async () => {
    const ids = async (q: Partial<Parameters<ConflictsRepository['list']>[0]>) => (await conflicts.list({ workspace: 'ws', limit: 10, ...q })).map((r) => r.conflict_id);
    assert.deepEqual(await ids({}), ['c1', 'c2', 'c3', 'c4']);
    assert.deepEqual(await ids({ status: 'open' }), ['c1', 'c2', 'c4']);
    assert.deepEqual(await ids({ entityType: 'note', field: 'title' }), ['c1', 'c2']);
    assert.deepEqual(await ids({ entityId: 'nope' }), []);
    assert.deepEqual(await ids({ limit: 2 }), ['c1', 'c2']);
    const [first] = await conflicts.list({ workspace: 'ws', limit: 1 });
    assert.equal(conflictCursor(first!), '10:c1');
    assert.deepEqual(await ids({ after: { seq: '11', id: 'c2' } }), ['c3', 'c4']);
    assert.deepEqual(await ids({ after: { seq: '11' } }), ['c2', 'c3', 'c4'], 'a bare sequence starts at that sequence');
  });

  it('counts open conflicts by type and field, most first, with the oldest opening', async () => {
    assert.deepEqual(await conflicts.hotspots({ workspace: 'ws', limit: 10 }), [
      { entityType: 'note', field: 'title', open: 2, oldestOpenedAt: '2030-01-01T00:00:01.000Z' },
      { entityType: 'task', field: 'state', open: 1, oldestOpenedAt: '2030-01-01T00:00:04.000Z' },
    ]);
    assert.deepEqual(
      (await conflicts.hotspots({ workspace: 'ws', entityType: 'task', limit: 10 })).map((h) => h.field),
      ['state'],
    );
    assert.equal((await conflicts.hotspots({ workspace: 'ws', limit: 1 })).length, 1);
  });

  it('finds one conflict per workspace, and those events opened or resolved', async () => {
    assert.equal((await conflicts.find('ws', 'c3'))?.status, 'resolved');
    assert.equal(await conflicts.find('other', 'c3'), undefined);
    const views = await conflicts.ofEvents('ws', [id(13), id(14)]);
    assert.deepEqual(
      views.map((v) => v.id),
      ['c3', 'c4'],
      'c3 by its resolving event, c4 by its opening one',
    );
    assert.deepEqual(views[0]!.resolved, { eventId: id(13), seq: 13 });
    assert.deepEqual(await conflicts.ofEvents('ws', []), []);
  });
});
