import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy, DeliverPolicy, DurableBatchConsumer, connectJetStream, type JetStreamConnection } from '@tidemark/messaging';
import { createLogger } from '@tidemark/telemetry';
import { drain, eventually, faultyFirstFetch, testNats } from '@tidemark/testing';

/**
 * A fetch that expires while its messages are in flight leaves them delivered to nobody: the server counts
 * them as waiting for an ack and redelivers them only after the ack wait (30 s here). When nothing newer
 * follows to reveal the gap, the consumer notices on its next empty fetch and re-aligns at once.
 */
describe('batch consumer: deliveries lost in flight at the tail of a stream', () => {
  let nats: Awaited<ReturnType<typeof testNats>>;
  let conn: JetStreamConnection;
  const stream = 'LOST';
  const durable = 'lost-d';
  const config = { durable_name: durable, ack_policy: AckPolicy.Explicit, ack_wait: 30_000_000_000, deliver_policy: DeliverPolicy.All, filter_subject: 'lost.>' };

  before(async () => {
    nats = await testNats();
    conn = await connectJetStream({ servers: nats.url, name: 'lost-delivery-test' });
    await conn.jsm.streams.add({ name: stream, subjects: ['lost.>'] });
    await conn.jsm.consumers.add(stream, config);
  });
  after(async () => {
    await conn?.close();
    await nats?.stop();
  });

  it('re-aligns on an empty fetch while deliveries wait for an ack, instead of waiting out the ack wait', async () => {
    for (let i = 1; i <= 3; i++) await conn.js.publish(`lost.${i}`, `m${i}`);
    // The lost fetch: the messages are delivered, then dropped without an ack (as a fetch that expired in flight).
    const lost = await (await conn.js.consumers.get(stream, durable)).fetch({ max_messages: 3, expires: 1000 });
    assert.equal(await drain(lost), 3);
    assert.equal((await conn.jsm.consumers.info(stream, durable)).num_ack_pending, 3);

    let realigned = 0;
    const handled: number[] = [];
    const consumer = new DurableBatchConsumer(conn.js, {
      stream,
      durable,
      maxMessages: 10,
      expiresMs: 1000,
      logger: createLogger('lost-delivery-test', 'silent'),
      // Nothing was committed: start again from the beginning.
      realign: async () => {
        realigned++;
        await conn.jsm.consumers.delete(stream, durable);
        await conn.jsm.consumers.add(stream, config);
      },
    });
    consumer.start(async (batch) => void handled.push(...batch.messages.map((m) => m.seq)));
    try {
      // Well inside the 30 s ack wait, after which the server would redeliver them anyway.
      await eventually(() => assert.deepEqual(handled, [1, 2, 3]), { timeoutMs: 5_000 });
    } finally {
      await consumer.stop();
    }
    assert.equal(realigned, 1);
  });

  it('re-aligns after a failed fetch, so deliveries made to it are not hidden behind newer messages the checkpoint then passes', async () => {
    const failing = 'lost-f';
    const failingConfig = { ...config, durable_name: failing, filter_subject: 'fail.>' };
    await conn.jsm.streams.update(stream, { subjects: ['lost.>', 'fail.>'] });
    await conn.jsm.consumers.add(stream, failingConfig);
    for (let i = 1; i <= 3; i++) await conn.js.publish(`fail.${i}`, `m${i}`);
    await conn.js.publish('fail.x', 'probe');
    // The first fetch fails the way a fetch with missed heartbeats does: the server has delivered its
    // messages, the client never hands them on, and newer messages arrive before the next fetch.
    const { js, fetches } = faultyFirstFetch(conn.js, async (real) => {
      await drain(real);
      for (let i = 4; i <= 6; i++) await conn.js.publish(`fail.${i}`, `m${i}`);
      throw new Error('heartbeats missed');
    });
    // The handler commits like the projector: a checkpoint, and messages at or below it are skipped.
    let checkpoint = 0;
    const applied: string[] = [];
    let realigned = 0;
    const consumer = new DurableBatchConsumer(js, {
      stream,
      durable: failing,
      maxMessages: 10,
      expiresMs: 1000,
      logger: createLogger('lost-delivery-test', 'silent'),
      realign: async () => {
        realigned++;
        await conn.jsm.consumers.delete(stream, failing);
        await conn.jsm.consumers.add(stream, checkpoint > 0 ? { ...failingConfig, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: checkpoint + 1 } : failingConfig);
      },
    });
    consumer.start(async (batch) => {
      for (const msg of batch.messages) {
        if (msg.seq <= checkpoint) continue;
        applied.push(msg.string());
        checkpoint = msg.seq;
      }
    });
    try {
      await eventually(() => assert.deepEqual(applied, ['m1', 'm2', 'm3', 'probe', 'm4', 'm5', 'm6']), { timeoutMs: 10_000 });
    } finally {
      await consumer.stop();
    }
    assert.ok(fetches() > 1);
    assert.equal(realigned, 1, 're-aligned once, after the failed fetch');
  });

  it('never holds a batch in silence: a handler that has not settled is logged every slowBatchMs until it does', async () => {
    const slow = 'lost-s';
    await conn.jsm.streams.update(stream, { subjects: ['lost.>', 'fail.>', 'slow.>'] });
    await conn.jsm.consumers.add(stream, { ...config, durable_name: slow, filter_subject: 'slow.>' });
    await conn.js.publish('slow.1', 'm1');
    const warnings: { msg: string; inHandMs: number }[] = [];
    const logger = createLogger('lost-delivery-test', 'silent');
    logger.warn = ((fields: { inHandMs: number }, msg: string) => void warnings.push({ msg, inHandMs: fields.inHandMs })) as typeof logger.warn;
    let settle: () => void = () => undefined;
    const consumer = new DurableBatchConsumer(conn.js, { stream, durable: slow, maxMessages: 10, expiresMs: 1000, slowBatchMs: 200, logger, realign: async () => undefined });
    let committed = 0;
    consumer.start(async (batch) => {
      await new Promise<void>((resolve) => (settle = resolve));
      committed += batch.messages.length;
    });
    try {
      await eventually(() => assert.ok(warnings.length >= 2, `warnings so far: ${warnings.length}`), { timeoutMs: 10_000 });
      assert.ok(
        warnings.every((w) => w.msg === 'batch still in hand; its handler has not settled'),
        JSON.stringify(warnings),
      );
      assert.ok(warnings[1]!.inHandMs > warnings[0]!.inHandMs, 'each warning says how long the batch has been in hand');
      settle();
      await eventually(() => assert.equal(committed, 1));
      const after = warnings.length;
      await eventually(async () => assert.equal((await conn.jsm.consumers.info(stream, slow)).num_ack_pending, 0));
      assert.ok(warnings.length <= after + 1, 'no more warnings once the handler settled');
    } finally {
      settle();
      await consumer.stop();
    }
  });
});
