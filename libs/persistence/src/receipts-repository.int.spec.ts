import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestDatabase } from '@tidemark/testing';
import { migratedDatabase } from './testing/migrated-database';
import { ReceiptsRepository, receiptCursor, type DataSource } from './index';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('ReceiptsRepository (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let receipts: ReceiptsRepository;

  before(async () => {
    ({ db, ds } = await migratedDatabase('receipts_repository'));
    receipts = new ReceiptsRepository(ds);
    // Device d of ws: seqs 1..5 (seq 3 parked); device e of ws: seq 1; the same event ids in another workspace.
    await ds.query(
      `INSERT INTO event_receipts (event_id, workspace, device_id, device_seq, entity_type, entity_id, status, reason, stream_seq, version, accepted_at)
       SELECT e, w, dev, s, 'note', 'n' || s, CASE WHEN s = 3 THEN 'parked' ELSE 'applied' END, CASE WHEN s = 3 THEN 'bad' END, 100 + s, CASE WHEN s = 3 THEN NULL ELSE s END, '2030-01-01T00:00:00Z'
         FROM (VALUES ($1::uuid, 'ws', 'd', 1), ($2::uuid, 'ws', 'd', 2), ($3::uuid, 'ws', 'd', 3), ($4::uuid, 'ws', 'd', 4), ($5::uuid, 'ws', 'd', 5), ($6::uuid, 'ws', 'e', 1), ($1::uuid, 'other', 'd', 9)) AS v(e, w, dev, s)`,
      [id(1), id(2), id(3), id(4), id(5), id(6)],
    );
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('lists a device’s receipts in deviceSeq order after a sequence or a cursor, and maps them', async () => {
    const first = await receipts.list({ workspace: 'ws', deviceId: 'd', limit: 2 });
    assert.deepEqual(
      first.map((r) => Number(r.device_seq)),
      [1, 2],
    );
    assert.equal(receiptCursor(first[1]!), `2:${id(2)}`);
    assert.deepEqual(
      (await receipts.list({ workspace: 'ws', deviceId: 'd', after: { seq: '2', id: id(2) }, limit: 10 })).map((r) => Number(r.device_seq)),
      [3, 4, 5],
    );
    assert.deepEqual(
      (await receipts.list({ workspace: 'ws', deviceId: 'd', after: { seq: '4' }, limit: 10 })).map((r) => Number(r.device_seq)),
      [5],
    );
    assert.deepEqual(await receipts.one('ws', id(3)), {
      eventId: id(3),
      deviceId: 'd',
      deviceSeq: 3,
      entity: { type: 'note', id: 'n3' },
      status: 'parked',
      reason: 'bad',
      version: null,
      streamSeq: 103,
      acceptedAt: '2030-01-01T00:00:00.000Z',
    });
    assert.equal(await receipts.one('ws', id(99)), undefined);
    assert.equal((await receipts.one('other', id(1)))?.deviceSeq, 9, 'an event id is per workspace');
  });

  it('reads receipts above a sequence, up to an optional ceiling', async () => {
    assert.deepEqual(
      (await receipts.above('ws', 'd', 1, 10)).map((r) => r.deviceSeq),
      [2, 3, 4, 5],
    );
    assert.deepEqual(
      (await receipts.above('ws', 'd', 1, 2)).map((r) => r.deviceSeq),
      [2, 3],
    );
    assert.deepEqual(
      (await receipts.above('ws', 'd', 1, 10, 3)).map((r) => r.deviceSeq),
      [2, 3],
    );
  });

  it('finds a push batch’s receipted events in its workspace, parked ones excepted', async () => {
    const found = await receipts.receipted('ws', [id(1), id(3), id(6), id(77)]);
    assert.deepEqual([...found].sort(), [
      [id(1), 101],
      [id(6), 101],
    ]);
    assert.deepEqual([...(await receipts.receipted('other', [id(2)]))], [], 'another workspace’s receipts are never consulted');
    assert.equal((await receipts.receipted('ws', [])).size, 0);
  });
});
