import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestDatabase } from '@tidemark/testing';
import { migratedDatabase } from './testing/migrated-database';
import { RepairsRepository, repairCursor, type DataSource } from './index';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('RepairsRepository (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let repairs: RepairsRepository;

  before(async () => {
    ({ db, ds } = await migratedDatabase('repairs_repository'));
    repairs = new RepairsRepository(ds);
    for (const [repair, ws, type, entity, status, seq] of [
      ['r1', 'ws', 'job', 'j1', 'open', 5],
      ['r2', 'ws', 'job', 'j2', 'skipped', 6],
      ['r3', 'ws', 'task', 't1', 'open', 7],
      ['r1', 'other', 'job', 'j1', 'open', 1],
    ] as const) {
      await ds.query(
        `INSERT INTO repairs (repair_id, workspace, entity_type, entity_id, code, reason, status, detail, event_id, stream_seq)
         VALUES ($1, $2, $3, $4, 'job-transition', 'running after succeeded', $5, '{"current":{"state":"succeeded","attempt":1},"reported":{"state":"running","attempt":1}}', $6, $7)`,
        [repair, ws, type, entity, status, id(seq), seq],
      );
    }
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('lists by journal sequence, open, closed or all, with filters and a cursor', async () => {
    const ids = async (q: Partial<Parameters<RepairsRepository['list']>[0]>) => (await repairs.list({ workspace: 'ws', status: 'all', limit: 10, ...q })).map((r) => r.repair_id);
    assert.deepEqual(await ids({}), ['r1', 'r2', 'r3']);
    assert.deepEqual(await ids({ status: 'open' }), ['r1', 'r3']);
    assert.deepEqual(await ids({ status: 'closed' }), ['r2']);
    assert.deepEqual(await ids({ entityType: 'job', entityId: 'j2' }), ['r2']);
    assert.deepEqual(await ids({ after: { seq: '5', id: 'r1' } }), ['r2', 'r3']);
    assert.deepEqual(await ids({ limit: 1 }), ['r1']);
    assert.equal(repairCursor((await repairs.list({ workspace: 'ws', status: 'all', limit: 1 }))[0]!), '5:r1');
  });

  it('reads one repair of a workspace as the API shows it', async () => {
    assert.deepEqual(await repairs.one('ws', 'r1'), {
      id: 'r1',
      entity: { type: 'job', id: 'j1' },
      code: 'job-transition',
      reason: 'running after succeeded',
      status: 'open',
      eventId: id(5),
      streamSeq: 5,
      current: { state: 'succeeded', attempt: 1 },
      reported: { state: 'running', attempt: 1 },
      cursor: '5:r1',
    });
    assert.equal(await repairs.one('other', 'r3'), undefined);
  });
});
