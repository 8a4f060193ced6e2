import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JetStreamPullTransport, STREAMS, connectJetStream, mergeConsumerName, type JetStreamConnection, type PullBinding } from '@tidemark/messaging';
import { createDataSource, migrateWithLock, type DataSource } from '@tidemark/persistence';
import { createLogger } from '@tidemark/telemetry';
import { eventually, testDatabase, testNats, type TestDatabase } from '@tidemark/testing';
import { PartitionClaims } from './partition-claims';

/** Two merge-service replicas' claims on one partition: one owner at a time, and a lost claim touches nothing. */
describe('partition claims (real Postgres and NATS)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let nats: Awaited<ReturnType<typeof testNats>>;
  let conn: JetStreamConnection;
  const logger = createLogger('partition-claims-test', 'silent');
  const durable = mergeConsumerName(0);
  const binding = { pattern: 'journal.batch', stream: STREAMS.journal, durable, maxMessages: 10, expiresMs: 1000 };
  const claims: PartitionClaims[] = [];
  const replica = (instance?: string) => {
    const c = new PartitionClaims({ url: db.url }, ds, () => conn.jsm, STREAMS.journal, logger, 'merge', instance);
    claims.push(c);
    return c;
  };

  before(async () => {
    db = await testDatabase('partition_claims');
    ds = createDataSource({ url: db.url });
    await ds.initialize();
    await migrateWithLock(ds);
    nats = await testNats();
    conn = await connectJetStream({ servers: nats.url, name: 'partition-claims-test' });
    await conn.jsm.streams.add({ name: STREAMS.journal, subjects: ['tm.journal.>'] });
  });
  after(async () => {
    await Promise.all(claims.map((c) => c.close()));
    await conn?.close();
    await nats?.stop();
    await ds?.destroy();
    await db?.drop();
  });

  it('one replica owns a partition; after it loses its session, it refuses to re-align the consumer the new owner uses', async () => {
    const a = replica();
    const b = replica();
    assert.equal(await a.claim(0, binding), true);
    assert.equal(await b.claim(0, binding), false, 'held by the first replica');
    await a.realign(0, durable);
    const before = await conn.jsm.consumers.info(STREAMS.journal, durable);

    await a.close(); // its session ends: Postgres releases the lock
    assert.equal(a.owns(0), false);
    await eventually(async () => assert.equal(await b.claim(0, binding), true), { message: 'the second replica claims the freed partition' });
    const owned = await conn.jsm.consumers.info(STREAMS.journal, durable);
    await assert.rejects(a.realign(0, durable), /no longer claimed by this replica/);
    const after = await conn.jsm.consumers.info(STREAMS.journal, durable);
    assert.equal(after.created, owned.created, 'the new owner’s consumer was left alone');
    assert.ok(before.created <= owned.created);
  });

  it('each replica’s share is its fair part of the partitions among the live replicas, and pg_locks names who holds what', async () => {
    for (const earlier of claims.splice(0)) await earlier.close();
    const a = replica('replica-a');
    assert.equal(await a.share(8), 8, 'alone, a replica takes every partition');
    const b = replica('replica-b');
    assert.equal(await b.share(8), 4);
    assert.equal(await a.share(8), 4, 'a second replica halves the first one’s share');
    assert.equal(await a.share(3), 2, 'rounded up, so every partition has an owner');
    assert.equal(await a.claim(1, { ...binding, durable: mergeConsumerName(1) }), true);
    const holders: { holder: string; partition: number }[] = await ds.query(
      "SELECT a.application_name AS holder, l.objid::int AS partition FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.classid = 29805 AND l.objsubid = 2 AND l.granted",
    );
    assert.deepEqual(holders, [{ holder: 'tidemark-merge-claims replica-a', partition: 1 }]);
    await a.close();
    await eventually(async () => assert.equal(await b.share(8), 8), { message: 'the replica left alone takes every partition again' });
  });

  it('a partition no live replica takes is taken beyond the share after a few passes, so nothing is left unprojected', async () => {
    for (const earlier of claims.splice(0)) await earlier.close();
    const a = replica('replica-a');
    // A second replica that counts as live (it holds the member lock) but never takes its share, as one whose NATS is down.
    const broken = replica('replica-broken');
    assert.equal(await a.share(4), 4, 'alone at first');
    assert.equal(await broken.share(4), 2);
    assert.equal(await a.share(4), 2, 'two live replicas');
    const bindings: PullBinding[] = Array.from({ length: 4 }, (_, p) => ({ ...binding, durable: mergeConsumerName(p) }));
    const partition = (b: PullBinding) => bindings.indexOf(bindings.find((x) => x.durable === b.durable)!);
    const transport = new JetStreamPullTransport({
      js: () => conn.js,
      bindings: () => bindings,
      claim: (b) => a.claim(partition(b), b),
      release: (b) => a.release(partition(b)),
      realign: (b) => a.realign(partition(b), b.durable),
      stillOwned: (b) => a.owns(partition(b)),
      share: (total) => a.share(total),
      heldByAnyone: async () => new Set([...(await a.heldPartitions())].map((p) => mergeConsumerName(p))),
      claimIntervalMs: 100,
      logger,
    });
    transport.addHandler('journal.batch', async () => undefined, true);
    await new Promise<void>((resolve, reject) => transport.listen((error?: unknown) => (error ? reject(error as Error) : resolve())));
    try {
      assert.equal(transport.owned().length, 2, 'its fair share first');
      await eventually(() => assert.deepEqual(transport.owned(), bindings.map((b) => b.durable).sort()), {
        timeoutMs: 20_000,
        message: 'the partitions nobody took are taken by the replica that can',
      });
      assert.deepEqual([...(await a.heldPartitions())].sort(), [0, 1, 2, 3]);
    } finally {
      await transport.close();
    }
  });
});
