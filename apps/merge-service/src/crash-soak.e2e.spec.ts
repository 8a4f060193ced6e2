import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findFreePort } from '@tidemark/local-stack';
import { STREAMS } from '@tidemark/messaging';
import { createDataSource, projectionDigest } from '@tidemark/persistence';
import { FakeDevice, count, eventually, startServiceProcess, startSlice, testDatabase, type ServiceProcess, type SliceStack } from '@tidemark/testing';

/** A small seeded PRNG (mulberry32): the kill schedule is random but reproducible from the printed seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Ten SIGKILLs of merge-service at random moments during a 50,000-event ingest. Afterwards every accepted
 * event has exactly one receipt, the projection equals a clean rebuild from the journal, and no consumer
 * checkpoint ever moved back.
 */
describe('merge-service under repeated SIGKILL during a 50k-event ingest', () => {
  let stack: SliceStack;
  const EVENTS = 50_000;
  const BATCH = 500;
  const KILLS = 10;
  const seed = Number(process.env.TIDEMARK_SOAK_SEED ?? Date.now() % 1_000_000);
  const random = prng(seed);

  before(async () => {
    stack = await startSlice(['journal-service', 'gateway']);
  });
  after(async () => {
    await stack?.stop();
  });

  it(`loses nothing and doubles nothing (seed ${seed})`, async () => {
    const devices = Array.from({ length: 20 }, (_, i) => new FakeDevice(`soak-${i}`));
    let accepted = 0;
    let next = 0;
    const ingest = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < EVENTS / BATCH) {
          const b = next++;
          const device = devices[b % devices.length]!;
          const events = Array.from({ length: BATCH }, (_, i) =>
            device.event('annotation', `e${(b * BATCH + i) % 2000}`, 'upsert', { fields: { votes: { op: 'inc', by: 1 }, assetId: { op: 'set', value: `a-${b}-${i}` } } }),
          );
          const result = await stack.push(events);
          assert.equal(result.status, 200);
          accepted += result.body.results.filter((r: { status: string }) => r.status === 'accepted').length;
        }
      }),
    );

    // Watch the checkpoints: they may only move forward.
    const seen = new Map<string, number>();
    let regressions: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const rows = (await stack.db.query<{ consumer: string; stream_seq: string }>('SELECT consumer, stream_seq FROM consumer_checkpoints')).rows;
        for (const r of rows) {
          const value = Number(r.stream_seq);
          if (value < (seen.get(r.consumer) ?? 0)) regressions.push(`${r.consumer}: ${seen.get(r.consumer)} → ${value}`);
          seen.set(r.consumer, Math.max(value, seen.get(r.consumer) ?? 0));
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();

    let merge: ServiceProcess | undefined;
    let killedWithWorkInFlight = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      merge = await stack.start('merge-service', { MERGE_BATCH_SIZE: String(50 + Math.floor(random() * 400)) }, { waitReady: false });
      await new Promise((resolve) => setTimeout(resolve, 400 + Math.floor(random() * 1600)));
      const journaled = (await stack.js.jsm.streams.info(STREAMS.journal)).state.messages;
      const projected = await count(stack.db, 'SELECT count(*) AS n FROM event_receipts');
      await merge.kill();
      if (projected < journaled) killedWithWorkInFlight++;
    }
    assert.ok(killedWithWorkInFlight >= KILLS / 2, `most kills hit a projector with a backlog (${killedWithWorkInFlight} of ${KILLS})`);
    await ingest;
    merge = await stack.start('merge-service');
    assert.equal(accepted, EVENTS);
    await eventually(async () => assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM event_receipts'), EVENTS), { timeoutMs: 120_000, intervalMs: 250 });
    watching = false;
    await watcher;
    assert.deepEqual(regressions, [], 'no checkpoint ever went back');
    regressions = [];

    assert.equal((await stack.js.jsm.streams.info(STREAMS.journal)).state.messages, EVENTS, 'one journal entry per event');
    assert.equal(await count(stack.db, 'SELECT count(DISTINCT event_id) AS n FROM event_receipts'), EVENTS, 'exactly one receipt per event');
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM change_log'), EVENTS, 'one change per event');
    assert.equal(await count(stack.db, "SELECT sum((view->'values'->>'votes')::int) AS n FROM entities"), EVENTS, 'every increment counted once');
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM parked_events'), 0);

    // The projection equals a clean rebuild from the journal.
    const shadow = await testDatabase('soak_rebuild');
    const rebuild = await startServiceProcess('merge-service', {
      ...stack.env,
      DATABASE_URL: shadow.url,
      HTTP_PORT: String(await findFreePort()),
      MERGE_CONSUMER_PREFIX: 'rebuild',
      OUTBOX_ENABLED: 'false',
    });
    const live = createDataSource({ url: stack.env.DATABASE_URL! });
    const rebuilt = createDataSource({ url: shadow.url });
    await Promise.all([live.initialize(), rebuilt.initialize()]);
    try {
      await eventually(async () => assert.equal(Number((await rebuilt.query('SELECT count(*) AS n FROM event_receipts'))[0].n), EVENTS), { timeoutMs: 120_000, intervalMs: 250 });
      const [a, b] = [await projectionDigest(live), await projectionDigest(rebuilt)];
      assert.deepEqual(b.tables, a.tables);
    } finally {
      await rebuild.kill();
      await Promise.all([live.destroy(), rebuilt.destroy()]);
      await shadow.drop();
    }
  });
});
