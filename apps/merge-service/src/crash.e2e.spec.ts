import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STREAMS } from '@tidemark/messaging';
import { FakeDevice, count, eventually, startSlice, type SliceStack } from '@tidemark/testing';

/**
 * Nothing lost, nothing doubled: merge-service is SIGKILLed between committing a batch and acking it,
 * and again at an arbitrary moment mid-ingest; after restarts every accepted event is projected once.
 */
describe('merge-service crash safety', () => {
  let stack: SliceStack;
  const ENTITIES = 40;
  const BATCHES = 20;
  const PER_BATCH = 100;

  before(async () => {
    stack = await startSlice(['journal-service', 'gateway']);
  });
  after(async () => {
    await stack?.stop();
  });

  it('projects every accepted event exactly once across SIGKILLs', async () => {
    const devices = Array.from({ length: 4 }, (_, i) => new FakeDevice(`crash-dev-${i}`));
    const expectedVersion = new Map<string, number>();
    let accepted = 0;
    const pushBatch = async (b: number) => {
      const device = devices[b % devices.length]!;
      const events = Array.from({ length: PER_BATCH }, (_, i) => {
        const id = `e${(b * PER_BATCH + i) % ENTITIES}`;
        expectedVersion.set(id, (expectedVersion.get(id) ?? 0) + 1);
        return device.upsert('annotation', id, { assetId: `img-${b}-${i}`, confidence: (b * PER_BATCH + i) / 10_000 });
      });
      const result = await stack.push(events);
      assert.equal(result.status, 200, JSON.stringify(result.body));
      accepted += result.body.results.filter((r: { status: string }) => r.status === 'accepted').length;
    };

    // Half the events are journaled before merge-service starts, so its first batches are full.
    for (let b = 0; b < BATCHES / 2; b++) await pushBatch(b);

    // 1. Die right after the 2nd committed batch, before its ack.
    const first = await stack.start('merge-service', { MERGE_FAILPOINT: 'after-commit:2', MERGE_BATCH_SIZE: '50' }, { waitReady: false });
    const died = await first.exited();
    assert.equal(died.signal, 'SIGKILL', 'the failpoint killed the process between commit and ack');
    const afterFirstCrash = await count(stack.db, 'SELECT count(*) AS n FROM event_receipts');
    assert.ok(afterFirstCrash >= 2 && afterFirstCrash <= 100, `two batches committed before the crash (got ${afterFirstCrash})`);

    // 2. Restart, keep ingesting, and SIGKILL it again while it is working.
    const second = await stack.start('merge-service', { MERGE_BATCH_SIZE: '50' });
    const ingest = (async () => {
      for (let b = BATCHES / 2; b < BATCHES; b++) await pushBatch(b);
    })();
    await eventually(async () => assert.ok((await count(stack.db, 'SELECT count(*) AS n FROM event_receipts')) > afterFirstCrash + 50), { timeoutMs: 20_000 });
    await second.kill();
    await ingest;

    // 3. Restart and let it finish.
    await stack.start('merge-service');
    const total = BATCHES * PER_BATCH;
    assert.equal(accepted, total);
    await eventually(async () => assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM event_receipts'), total), { timeoutMs: 60_000, message: 'every accepted event has a receipt' });

    assert.equal((await stack.js.jsm.streams.info(STREAMS.journal)).state.messages, total, 'one journal entry per event');
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM event_receipts WHERE status IN ('applied', 'merged')"), total, 'every event accepted by the merge rules');
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM change_log'), total, 'one change per event: nothing applied twice');
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM journal_duplicates'), 0);
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM parked_events'), 0);
    const rows = await stack.db.query<{ entity_id: string; version: string }>('SELECT entity_id, version FROM entities');
    assert.equal(rows.rowCount, ENTITIES);
    for (const row of rows.rows) assert.equal(Number(row.version), expectedVersion.get(row.entity_id), `entity ${row.entity_id} applied each of its events once`);
    // The entity's final state is its last event in journal order.
    const lastSeq = await count(stack.db, 'SELECT max(stream_seq) AS n FROM consumer_checkpoints');
    assert.ok(lastSeq > 0 && lastSeq <= total);
  });
});
