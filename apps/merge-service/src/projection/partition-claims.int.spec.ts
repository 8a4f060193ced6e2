import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STREAMS, connectJetStream, mergeConsumerName, type JetStreamConnection } from '@tidemark/messaging';
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
    const c = new PartitionClaims(db.url, ds, () => conn.jsm, STREAMS.journal, logger, 'merge', instance);
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
});
