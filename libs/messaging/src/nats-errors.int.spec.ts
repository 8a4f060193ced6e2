import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { errors, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { startNats, type NatsServerHandle } from '@tidemark/local-stack';
import { connectJetStream, type JetStreamConnection } from './connection';
import { isNatsUnavailable, isNoResponders, isNotFound, isPublishRetryable } from './nats-errors';
import { publishIdempotent } from './publish';

/** The settled rejection of a promise that must fail. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => assert.fail(`expected a failure, got ${JSON.stringify(value)}`),
    (error: unknown) => error,
  );
}

/** A core subscriber standing in for JetStream on `subject`: answers each request with `answer` (or never), and counts them. */
function fakeStream(nc: NatsConnection, subject: string, answer?: object): { requests: Msg[] } {
  const requests: Msg[] = [];
  nc.subscribe(subject, {
    callback: (_, msg) => {
      requests.push(msg);
      if (answer) msg.respond(JSON.stringify(answer));
    },
  });
  return { requests };
}

/** What the nats.js 3.x clients really throw, against a real nats-server, and how each is classified. */
describe('NATS errors from a real server', () => {
  let dir: string;
  let nats: NatsServerHandle;
  let conn: JetStreamConnection;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tidemark-nats-errors-'));
    nats = await startNats({ dataDir: dir });
    conn = await connectJetStream({ servers: nats.url, name: 'nats-errors-test' });
    await conn.jsm.streams.add({ name: 'EVENTS', subjects: ['events.>'] });
  });
  after(async () => {
    await conn?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a missing stream or consumer is a JetStream API error with its code, and is not found; another API error is not', async () => {
    const stream = await failure(conn.jsm.streams.info('NOPE'));
    assert.ok(stream instanceof JetStreamApiError);
    assert.equal(stream.code, JetStreamApiCodes.StreamNotFound);
    assert.equal(isNotFound(stream), true);
    const consumer = await failure(conn.jsm.consumers.info('EVENTS', 'nope'));
    assert.ok(consumer instanceof JetStreamApiError);
    assert.equal(consumer.code, JetStreamApiCodes.ConsumerNotFound);
    assert.equal(isNotFound(consumer), true);
    const overlap = await failure(conn.jsm.streams.add({ name: 'OTHER', subjects: ['events.>'] }));
    assert.ok(overlap instanceof JetStreamApiError, String(overlap));
    assert.equal(isNotFound(overlap), false, overlap.message);
    for (const error of [stream, consumer, overlap]) assert.equal(isNatsUnavailable(error), false, 'an answer, not an outage');
  });

  it('a publish to a subject no stream takes is no responders (wrapped as "jetstream is not enabled"): retried, unavailable', async () => {
    const error = await failure(conn.js.publish('nostream.x', 'x', { timeout: 2000 }));
    assert.equal(isNoResponders(error), true, String(error));
    assert.equal(isPublishRetryable(error), true);
    assert.equal(isNatsUnavailable(error), true);
  });

  it('a publish whose acknowledgement never comes is a TimeoutError, sent again with the same message id', async () => {
    const silent = fakeStream(conn.nc, 'silent.x');
    await conn.nc.flush();
    const error = await failure(publishIdempotent(conn.js, { subject: 'silent.x', data: 'x', msgID: 'm-1', attempts: 3, timeoutMs: 200 }));
    assert.ok(error instanceof errors.TimeoutError, String(error));
    assert.equal(isNatsUnavailable(error), true);
    assert.deepEqual(
      silent.requests.map((m) => m.headers?.get('Nats-Msg-Id')),
      ['m-1', 'm-1', 'm-1'],
    );
  });

  it('a JetStream 503 answer is sent again; an answer that a retry would only repeat is not', async () => {
    const busy = fakeStream(conn.nc, 'busy.x', { error: { code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' } });
    const refused = fakeStream(conn.nc, 'refused.x', { error: { code: 400, err_code: 10071, description: 'wrong last sequence: 3' } });
    await conn.nc.flush();
    const unavailable = await failure(publishIdempotent(conn.js, { subject: 'busy.x', data: 'x', msgID: 'm-2', attempts: 3, timeoutMs: 1000 }));
    assert.ok(unavailable instanceof JetStreamApiError && unavailable.status === 503, String(unavailable));
    assert.equal(busy.requests.length, 3);
    const final = await failure(publishIdempotent(conn.js, { subject: 'refused.x', data: 'x', msgID: 'm-3', attempts: 3, timeoutMs: 1000 }));
    assert.ok(final instanceof JetStreamApiError && final.code === 10071, String(final));
    assert.equal(refused.requests.length, 1);
    assert.equal(isNatsUnavailable(final), false);
  });

  it('a publish on a closed connection is a ClosedConnectionError: unavailable, and not retried on that connection', async () => {
    const closed = await connectJetStream({ servers: nats.url, name: 'nats-errors-closed' });
    await closed.close();
    const error = await failure(closed.js.publish('events.x', 'x'));
    assert.ok(error instanceof errors.ClosedConnectionError, String(error));
    assert.equal(isNatsUnavailable(error), true);
    assert.equal(isPublishRetryable(error), false);
  });
});
