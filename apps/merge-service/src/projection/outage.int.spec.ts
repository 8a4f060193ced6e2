import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { journalSubject, type JournalRecord } from '@tidemark/contracts';
import { mergeWithRegistry } from '@tidemark/merge';
import {
  AckPolicy,
  DeliverPolicy,
  DependencyUnavailableError,
  DurableBatchConsumer,
  STREAMS,
  applyTopology,
  connectJetStream,
  journalTopology,
  mergeConsumerConfig,
  mergeConsumerName,
  type JetStreamConnection,
  type JsMsg,
} from '@tidemark/messaging';
import { createDataSource, migrateWithLock, type DataSource } from '@tidemark/persistence';
import { createLogger } from '@tidemark/telemetry';
import { FakeDevice, eventually, testDatabase, testNats, type TestDatabase } from '@tidemark/testing';
import { PartitionClaims } from './partition-claims';
import { Projector } from './projector';
import { SchemaRegistryCache } from './schema-registry-cache';

/**
 * An outage is not a failure of the batch: the consumer waits it out without counting attempts, and a
 * replica that lost its partition claim parks nothing for it (real Postgres and NATS).
 */
describe('dependency outages and lost claims never park', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let nats: Awaited<ReturnType<typeof testNats>>;
  let conn: JetStreamConnection;
  let schemas: SchemaRegistryCache;
  const logger = createLogger('outage-test', 'silent');
  const durable = mergeConsumerName(0);
  const binding = { pattern: 'journal.batch', stream: STREAMS.journal, durable, maxMessages: 10, expiresMs: 1000 };
  const device = new FakeDevice('outage-dev');

  before(async () => {
    db = await testDatabase('outage');
    ds = createDataSource({ url: db.url });
    await ds.initialize();
    await migrateWithLock(ds);
    schemas = new SchemaRegistryCache(ds, { refreshMs: 600_000, logger });
    await schemas.start();
    nats = await testNats();
    conn = await connectJetStream({ servers: nats.url, name: 'outage-test' });
    const topology = journalTopology({ partitions: 1, duplicateWindowMs: 120_000, replicas: 1 });
    await applyTopology(conn.jsm, { streams: topology.streams, consumers: [] });
  });
  after(async () => {
    await schemas?.stop();
    await conn?.close();
    await nats?.stop();
    await ds?.destroy();
    await db?.drop();
  });

  it('a batch whose handler reports an outage is tried again at the same attempt, and the wait is visible meanwhile', async () => {
    const stream = 'OUTAGE';
    await conn.jsm.streams.add({ name: stream, subjects: ['outage.>'] });
    await conn.jsm.consumers.add(stream, { durable_name: 'outage-d', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: 'outage.>' });
    await conn.js.publish('outage.1', 'm1');
    const attempts: number[] = [];
    const waits: (string | undefined)[] = [];
    let down = 6;
    const consumer = new DurableBatchConsumer(conn.js, { stream, durable: 'outage-d', maxMessages: 10, expiresMs: 1000, retryBaseMs: 10, waitMaxMs: 50, logger, realign: async () => undefined });
    consumer.start(async (batch) => {
      attempts.push(batch.attempt);
      waits.push(consumer.waiting()?.dependency);
      if (down-- > 0) throw new DependencyUnavailableError('postgres', new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    });
    try {
      await eventually(() => assert.equal(attempts.length, 7), { timeoutMs: 10_000 });
      await eventually(() => assert.equal(consumer.waiting(), undefined), { timeoutMs: 5_000, message: 'no longer waiting once the batch committed' });
    } finally {
      await consumer.stop();
    }
    assert.deepEqual(attempts, [1, 1, 1, 1, 1, 1, 1], 'an outage never counts as an attempt, so it never leads to isolating or parking');
    assert.deepEqual(waits, [undefined, 'postgres', 'postgres', 'postgres', 'postgres', 'postgres', 'postgres'], 'the wait is reported while it lasts');
    assert.equal((await conn.jsm.consumers.info(stream, 'outage-d')).num_ack_pending, 0, 'acked after the commit');
  });

  it('a replica that lost its partition claim parks nothing; the owner parks what keeps failing', async () => {
    await conn.jsm.consumers.add(STREAMS.journal, mergeConsumerConfig(0, 0));
    const claims = new PartitionClaims({ url: db.url }, ds, () => conn.jsm, STREAMS.journal, logger);
    const failing = new Projector(ds, {
      isolateAfter: 1,
      parkAfter: 1,
      logger,
      // Postgres is healthy and the message fails anyway: a failure that parks, when the owner takes the decision.
      merge: (state, input) => {
        if (input.event.entity.id === 'broken') throw new Error('cannot merge this event');
        return mergeWithRegistry(state, input, schemas.current());
      },
      holdsPartition: (_consumer, q) => claims.holds(0, q),
    });
    const event = device.event('note', 'broken', 'upsert', { fields: { text: { op: 'set', value: 'x' } } });
    const record: JournalRecord = { v: 1, workspace: 'default', acceptedAt: new Date(1_764_000_000_000).toISOString(), event };
    await conn.js.publish(journalSubject('default', event.entity, 1), JSON.stringify(record), { msgID: event.eventId });
    const fetchOne = async (): Promise<JsMsg> => {
      const msgs: JsMsg[] = [];
      for await (const m of await (await conn.js.consumers.get(STREAMS.journal, durable)).fetch({ max_messages: 1, expires: 2000 })) msgs.push(m);
      assert.equal(msgs.length, 1);
      return msgs[0]!;
    };
    const parked = async () => Number((await ds.query('SELECT count(*) AS n FROM parked_events'))[0].n);
    try {
      assert.equal(await claims.claim(0, binding), true);
      // The claim session is ended by Postgres (as when it restarts or a network partition cuts it).
      await ds.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tidemark-merge-claims' AND datname = current_database()");
      await eventually(async () => assert.equal(Number((await ds.query("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 0 AND objsubid = 2"))[0].n), 0), {
        message: 'the claim session is gone',
      });
      const msg = await fetchOne();
      await assert.rejects(
        failing.handle({ stream: STREAMS.journal, durable, messages: [msg], attempt: 1 }),
        (error: unknown) => error instanceof DependencyUnavailableError && error.dependency === 'partition-claim',
      );
      assert.equal(await parked(), 0, 'nothing parked without the claim');
      msg.nak();

      // Claimed again (the claim re-aligns the consumer): the same failure, with the claim held, parks the message.
      await eventually(async () => assert.equal(await claims.claim(0, binding), true), { message: 'the partition claimed again' });
      await failing.handle({ stream: STREAMS.journal, durable, messages: [await fetchOne()], attempt: 1 });
      assert.equal(await parked(), 1, 'the owner parks a message that fails with Postgres healthy');
    } finally {
      await claims.close();
    }
  });
});
