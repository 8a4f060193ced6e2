// The outbox relay (@tidemark/messaging) over the outbox repository, against real Postgres and a real nats-server: rows are published to JetStream and marked; when
// some publishes of a pipelined batch fail, the acknowledged ones are marked and only the others wait for the next
// pass, which publishes them once the stream takes them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OutboxRelay, connectJetStream, type JetStreamConnection } from '@tidemark/messaging';
import { createLogger } from '@tidemark/telemetry';
import { testDatabase, testNats, type TestDatabase } from '@tidemark/testing';
import { OutboxRepository, createDataSource, migrateWithLock, type DataSource } from './index';

describe('OutboxRelay (real Postgres and NATS)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let nats: Awaited<ReturnType<typeof testNats>>;
  let conn: JetStreamConnection;

  before(async () => {
    db = await testDatabase('outbox-relay');
    ds = createDataSource({ url: db.url, poolSize: 2, applicationName: 'tidemark-outbox-relay-test' });
    await ds.initialize();
    await migrateWithLock(ds);
    nats = await testNats();
    conn = await connectJetStream({ servers: nats.url, name: 'outbox-relay-test' });
    await conn.jsm.streams.add({ name: 'RELAYED', subjects: ['relay.ok.>'] });
  });
  after(async () => {
    await conn?.close();
    await ds?.destroy();
    await db?.drop();
    await nats?.stop();
  });

  const insert = (subject: string, n: number) =>
    ds.query(`INSERT INTO outbox (subject, payload, msg_id, headers) SELECT $1 || '.' || i, jsonb_build_object('n', i), $1 || '-' || i, '{}'::jsonb FROM generate_series(1, $2) AS i`, [subject, n]);
  const unpublished = async () => ((await ds.query('SELECT subject FROM outbox WHERE published_at IS NULL ORDER BY id')) as { subject: string }[]).map((r) => r.subject);

  it('marks what JetStream acknowledged; what it refused stays for the next pass, which sends it once a stream takes it', async () => {
    await insert('relay.ok', 40);
    await insert('relay.later', 3); // no stream takes these subjects yet
    await insert('relay.ok.tail', 2);
    const relay = new OutboxRelay(new OutboxRepository(ds, 'outbox'), () => conn.js, {
      name: 'outbox',
      intervalMs: 60_000,
      batch: 500,
      ordered: false,
      logger: createLogger('outbox-relay-test', 'error'),
    });
    await assert.rejects(relay.drain(), 'the pass reports the failure');
    assert.deepEqual(await unpublished(), ['relay.later.1', 'relay.later.2', 'relay.later.3'], 'the acknowledged rows are marked, the refused ones wait');
    assert.equal((await conn.jsm.streams.info('RELAYED')).state.messages, 42);

    await conn.jsm.streams.add({ name: 'LATER', subjects: ['relay.later.>'] });
    assert.equal(await relay.drain(), 3, 'the next pass publishes the rest');
    assert.deepEqual(await unpublished(), []);
    assert.equal((await conn.jsm.streams.info('LATER')).state.messages, 3);
    assert.equal((await conn.jsm.streams.info('RELAYED')).state.messages, 42, 'nothing was published twice');
  });
});
