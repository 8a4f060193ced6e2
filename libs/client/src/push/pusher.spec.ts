import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceEvent } from '@tidemark/contracts';
import { TidemarkClient, type ClientOptions } from '../client';
import { ServerProblemError, ServerUnavailableError, ServerUnreachableError } from '../errors';
import { MemoryStorage } from '../storage/storage';
import { FakeGateway } from '../test-support/fake-gateway';
import type { Rejection } from './pusher';

const problemJson = { 'content-type': 'application/problem+json' };

/** A client on a fake gateway with recorded (instant) sleeps and a fixed random source. */
async function setup(options: Partial<ClientOptions> = {}) {
  const gateway = new FakeGateway();
  const sleeps: number[] = [];
  const rejections: Rejection[] = [];
  const storage = new MemoryStorage();
  const client = await TidemarkClient.open({
    baseUrl: 'http://gateway.test/',
    storage,
    deviceId: 'dev-1',
    fetch: gateway.fetch,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
    retry: { initialDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 5 },
    onRejected: (r) => rejections.push(r),
    ...options,
  });
  return { gateway, client, sleeps, rejections, storage };
}

const ids = (events: DeviceEvent[]) => events.map((e) => e.eventId);

describe('push', () => {
  it('retries network errors and 5xx with backoff, re-sending the same event ids, then empties the outbox', async () => {
    const { gateway, client, sleeps } = await setup();
    const events = [await client.upsert('annotation', 'a', { label: 'cat' }), await client.upsert('annotation', 'b', { label: 'dog' })];
    gateway.script.push(
      { status: 0, fail: new TypeError('fetch failed') },
      { status: 502, body: 'bad gateway', headers: { 'content-type': 'text/plain' } },
      { status: 500, body: { type: 'x', title: 'boom', status: 500 } },
    );
    const summary = await client.push();
    assert.deepEqual(summary, { requests: 3, accepted: 2, duplicate: 0, quarantined: 0, remaining: 0 });
    assert.deepEqual(sleeps, [75, 150, 300], 'equal-jitter backoff with random = 0.5');
    const batches = gateway.pushedBatches();
    assert.equal(batches.length, 4);
    for (const batch of batches) assert.deepEqual(ids(batch), ids(events), 'every attempt sends the same ids');
    assert.deepEqual(client.pending(), []);
    assert.equal(gateway.requests[0]!.url, 'http://gateway.test/v1/events');
  });

  it('gives up after maxAttempts with ServerUnavailableError; the events stay and the next push sends the same ids', async () => {
    const { gateway, client, sleeps } = await setup();
    const event = await client.upsert('annotation', 'a', { label: 'cat' });
    gateway.offline = true;
    await assert.rejects(client.push(), (error: unknown) => error instanceof ServerUnavailableError && error.attempts === 5);
    assert.equal(sleeps.length, 4);
    assert.deepEqual(ids(client.pending()), [event.eventId]);
    gateway.offline = false;
    await client.push();
    assert.deepEqual(ids(gateway.journal), [event.eventId]);
  });

  it('in a browser that says it is online, a fetch that fails without an answer is ServerUnreachableError naming CORS; offline or in Node it is not', async () => {
    const { gateway, client } = await setup();
    await client.upsert('annotation', 'a', { label: 'cat' });
    gateway.offline = true;
    const saved = { navigator: Object.getOwnPropertyDescriptor(globalThis, 'navigator'), location: Object.getOwnPropertyDescriptor(globalThis, 'location') };
    const page = { navigator: { onLine: true }, location: { origin: 'https://annotate.example' } };
    Object.defineProperty(globalThis, 'navigator', { value: page.navigator, configurable: true, writable: true });
    Object.defineProperty(globalThis, 'location', { value: page.location, configurable: true, writable: true });
    try {
      const online = await client.push().then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(online instanceof ServerUnreachableError, String(online));
      assert.ok(online instanceof ServerUnavailableError, 'still a ServerUnavailableError: callers that retry later keep working');
      assert.equal(online.name, 'ServerUnreachableError');
      assert.equal(online.url, 'http://gateway.test/v1/events');
      assert.equal(online.origin, 'https://annotate.example');
      assert.match(online.message, /although the browser is online/);
      assert.match(online.message, /CORS/);
      assert.match(online.message, /https:\/\/annotate\.example/);
      assert.match(online.message, /CORS_ORIGINS/);

      page.navigator.onLine = false;
      const offline = await client.push().then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(offline instanceof ServerUnavailableError && !(offline instanceof ServerUnreachableError), 'offline: the plain error');

      page.navigator.onLine = true;
      gateway.offline = false;
      gateway.script.push(
        { status: 503, body: { type: 'x', title: 'Shutting down', status: 503 } },
        { status: 503, body: { type: 'x', title: 'Shutting down', status: 503 } },
        { status: 503, body: { type: 'x', title: 'Shutting down', status: 503 } },
        { status: 503, body: { type: 'x', title: 'Shutting down', status: 503 } },
        { status: 503, body: { type: 'x', title: 'Shutting down', status: 503 } },
      );
      const answered = await client.push().then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(answered instanceof ServerUnavailableError && !(answered instanceof ServerUnreachableError), 'an answer (503) is never taken for CORS');
    } finally {
      for (const [name, descriptor] of Object.entries(saved)) {
        if (descriptor) Object.defineProperty(globalThis, name, descriptor);
        else delete (globalThis as Record<string, unknown>)[name];
      }
    }
    gateway.offline = true;
    const node = await client.push().then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(node instanceof ServerUnavailableError && !(node instanceof ServerUnreachableError), 'in Node (no navigator.onLine): the plain error');
  });

  it('a 503 journal-unavailable with per-event results: acknowledged events leave, the rest is retried', async () => {
    const { gateway, client, sleeps } = await setup();
    const events = await client.enqueueAll(['a', 'b', 'c'].map((id) => ({ entity: { type: 'annotation', id }, op: 'upsert' as const, fields: { label: { op: 'set' as const, value: id } } })));
    gateway.script.push((_url, init) => {
      const sent = (JSON.parse(init.body!) as { events: DeviceEvent[] }).events;
      const [first, ...rest] = sent;
      const results = [...gateway.accept([first!]), ...rest.map((e) => ({ eventId: e.eventId, status: 'rejected', reason: 'journal unavailable: timeout; retry with the same eventId' }))];
      return { status: 503, headers: { ...problemJson, 'retry-after': '0' }, body: { type: 'https://tidemark.dev/problems/journal-unavailable', title: 'Journal unavailable', status: 503, results } };
    });
    const summary = await client.push();
    assert.equal(summary.accepted, 3);
    assert.equal(sleeps.length, 1);
    const batches = gateway.pushedBatches();
    assert.deepEqual(ids(batches[0]!), ids(events));
    assert.deepEqual(ids(batches[1]!), ids(events.slice(1)), 'only the unacknowledged events are sent again');
    assert.deepEqual(ids(gateway.journal), ids(events));
  });

  it('a 400 naming events quarantines those (with the problem) and sends the rest', async () => {
    const { gateway, client, rejections } = await setup();
    const events = await client.enqueueAll(['a', 'b', 'c'].map((id) => ({ entity: { type: 'annotation', id }, op: 'upsert' as const, fields: { label: { op: 'set' as const, value: id } } })));
    const problem = { type: 'https://tidemark.dev/problems/validation-failed', title: 'Validation failed', status: 400, errors: [{ pointer: '/events/1/fields/label', detail: 'must be string' }] };
    gateway.script.push({ status: 400, headers: problemJson, body: problem });
    const summary = await client.push();
    assert.deepEqual(summary, { requests: 2, accepted: 2, duplicate: 0, quarantined: 1, remaining: 0 });
    assert.deepEqual(ids(gateway.journal), [events[0]!.eventId, events[2]!.eventId]);
    assert.equal(rejections.length, 1);
    assert.deepEqual(ids(rejections[0]!.events), [events[1]!.eventId]);
    assert.deepEqual(rejections[0]!.problem, problem);
    assert.equal(rejections[0]!.kind, 'invalid');
    const quarantined = await client.quarantined();
    assert.deepEqual(
      quarantined.map((q) => q.event.eventId),
      [events[1]!.eventId],
    );
    assert.equal(quarantined[0]!.status, 400);
  });

  it('a 403 write-not-allowed quarantines the events it names as forbidden and sends the rest; any other 403 leaves the outbox as it was', async () => {
    const { gateway, client, rejections } = await setup();
    const events = await client.enqueueAll(['a', 'b', 'c'].map((id) => ({ entity: { type: 'annotation', id }, op: 'upsert' as const, fields: { label: { op: 'set' as const, value: id } } })));
    const problem = {
      type: 'https://tidemark.dev/problems/forbidden',
      title: 'Forbidden',
      status: 403,
      code: 'write-not-allowed',
      role: 'pipeline',
      errors: [
        { pointer: '/events/0/fields/label', detail: 'role pipeline may not write annotation.label', code: 'field-not-writable' },
        { pointer: '/events/2/fields/label', detail: 'role pipeline may not write annotation.label', code: 'field-not-writable' },
      ],
    };
    gateway.script.push({ status: 403, headers: problemJson, body: problem });
    const summary = await client.push();
    assert.deepEqual(summary, { requests: 2, accepted: 1, duplicate: 0, quarantined: 2, remaining: 0 });
    assert.deepEqual(ids(gateway.journal), [events[1]!.eventId], 'the event the role may write went through');
    assert.deepEqual(
      rejections.map((r) => [r.kind, r.status, ids(r.events)]),
      [['forbidden', 403, [events[0]!.eventId, events[2]!.eventId]]],
    );
    assert.deepEqual(
      (await client.quarantined()).map((q) => q.kind),
      ['forbidden', 'forbidden'],
    );

    const other = await client.upsert('annotation', 'd', { label: 'd' });
    gateway.script.push({
      status: 403,
      headers: problemJson,
      body: { type: 'https://tidemark.dev/problems/forbidden', title: 'Forbidden', status: 403, detail: 'a device pushes only its own events' },
    });
    await assert.rejects(client.push(), ServerProblemError);
    assert.deepEqual(
      client.pending().map((e) => e.eventId),
      [other.eventId],
      'an unexplained 403 quarantines nothing',
    );
  });

  it('a 413, or a 400 that names no event, splits the batch until the refused event stands alone', async () => {
    const { gateway, client, rejections } = await setup();
    const events = await client.enqueueAll(
      Array.from({ length: 6 }, (_, i) => ({ entity: { type: 'annotation', id: `e${i}` }, op: 'upsert' as const, fields: { label: { op: 'set' as const, value: i === 4 ? 'HUGE' : 'ok' } } })),
    );
    const refuse = (url: string, init: { body?: string }) =>
      init.body?.includes('HUGE') ? { status: 413, headers: problemJson, body: { type: 'https://tidemark.dev/problems/body-too-large', title: 'Request body too large', status: 413 } } : undefined;
    for (let i = 0; i < 10; i++) gateway.script.push(refuse);
    const summary = await client.push();
    assert.equal(summary.quarantined, 1);
    assert.equal(summary.accepted, 5);
    assert.deepEqual(ids(rejections.flatMap((r) => r.events)), [events[4]!.eventId]);
    assert.deepEqual(
      gateway.pushedBatches().map((b) => b.length),
      [6, 3, 3, 2, 1, 1, 1],
    );
    // same for a 400 whose problem names the batch, not an event
    const { gateway: g2, client: c2 } = await setup();
    await c2.enqueueAll(Array.from({ length: 2 }, (_, i) => ({ entity: { type: 'annotation', id: `x${i}` }, op: 'upsert' as const, fields: { n: { op: 'set' as const, value: i } } })));
    g2.script.push({ status: 400, headers: problemJson, body: { type: 'v', title: 'Validation failed', status: 400, errors: [{ pointer: '/events', detail: 'too many' }] } });
    await c2.push();
    assert.deepEqual(
      g2.pushedBatches().map((b) => b.length),
      [2, 1, 1],
    );
  });

  it('an event answered "rejected" leaves the outbox for quarantine and is reported', async () => {
    const { gateway, client, rejections } = await setup();
    const [a, b] = [await client.upsert('annotation', 'a', { l: 1 }), await client.upsert('annotation', 'b', { l: 2 })];
    gateway.script.push({
      status: 200,
      body: {
        results: [
          { eventId: a.eventId, status: 'accepted', seq: 1 },
          { eventId: b.eventId, status: 'rejected', reason: 'no such schema' },
        ],
      },
    });
    const summary = await client.push();
    assert.deepEqual(summary, { requests: 1, accepted: 1, duplicate: 0, quarantined: 1, remaining: 0 });
    assert.deepEqual(
      rejections.map((r) => [r.kind, r.reason, ids(r.events)]),
      [['rejected', 'no such schema', [b.eventId]]],
    );
  });

  it('a 4xx that names no event stops the push with ServerProblemError and keeps the events', async () => {
    const { gateway, client } = await setup();
    const event = await client.upsert('annotation', 'a', { label: 'cat' });
    gateway.script.push({ status: 401, headers: problemJson, body: { type: 'https://tidemark.dev/problems/unauthorised', title: 'Unauthorised', status: 401 } });
    await assert.rejects(client.push(), (error: unknown) => error instanceof ServerProblemError && error.status === 401 && error.problem?.title === 'Unauthorised');
    assert.deepEqual(ids(client.pending()), [event.eventId]);
  });

  it('answers "duplicate" acknowledge events the server already has', async () => {
    const { gateway, client } = await setup();
    const event = await client.upsert('annotation', 'a', { label: 'cat' });
    gateway.accept([event]); // journaled by an attempt whose answer was lost
    const summary = await client.push();
    assert.deepEqual([summary.accepted, summary.duplicate], [0, 1]);
    assert.deepEqual(client.pending(), []);
  });

  it('batches by count (500 per request by default) and by bytes, in sequence order', async () => {
    const { gateway, client } = await setup();
    const drafts = Array.from({ length: 1_100 }, (_, i) => ({ entity: { type: 'annotation', id: `n${i}` }, op: 'upsert' as const, fields: { n: { op: 'set' as const, value: i } } }));
    const events = await client.enqueueAll(drafts);
    await client.push();
    const batches = gateway.pushedBatches();
    assert.deepEqual(
      batches.map((b) => b.length),
      [500, 500, 100],
    );
    assert.deepEqual(
      batches.flat().map((e) => e.deviceSeq),
      events.map((e) => e.deviceSeq),
    );
    for (const request of gateway.requests) assert.ok(Buffer.byteLength(request.body!) <= 1024 * 1024);

    const small = await setup({ maxBatchBytes: 4_096 });
    await small.client.enqueueAll(drafts.slice(0, 100));
    await small.client.push();
    const sizes = small.gateway.requests.map((r) => Buffer.byteLength(r.body!));
    assert.ok(sizes.length > 1 && sizes.every((n) => n <= 4_096), JSON.stringify(sizes));
    assert.equal(small.gateway.journal.length, 100);
  });

  it('one push at a time: a second call while one runs shares it', async () => {
    const { gateway, client } = await setup();
    await client.upsert('annotation', 'a', { label: 'cat' });
    const [p1, p2] = [client.push(), client.push()];
    assert.equal(p1, p2);
    await p1;
    assert.equal(gateway.pushedBatches().length, 1);
  });
});
