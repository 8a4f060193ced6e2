import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { STREAMS, readRange } from '@tidemark/messaging';
import { FakeDevice, push, startPushFlood, startSlice, type FloodOutcome, type SliceStack, type TestDevice } from '@tidemark/testing';

const REQUEST_TIMEOUT_MS = 2000;

describe('gateway admission control and timeouts (one device flooding, one trickling)', () => {
  let stack: SliceStack;
  let gateway: string;
  let flooder: TestDevice;
  let steady: TestDevice;

  before(async () => {
    stack = await startSlice(['journal-service']);
    await stack.start('merge-service');
    await stack.start('gateway', { HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS), HTTP_HEADERS_TIMEOUT_MS: '1000' });
    gateway = stack.url('gateway');
    flooder = await stack.device('ws-flood', 'flooder');
    steady = await stack.device('ws-steady', 'steady');
  });
  after(async () => {
    await stack?.stop();
  });

  /** The eventIds the journal holds for a workspace (one subject filter: what every JetStream version supports). */
  const journaledIds = async (workspace: string): Promise<Set<string>> => {
    const ids = new Set<string>();
    for await (const chunk of readRange(stack.js.js, STREAMS.journal, { filter: `tm.journal.${workspace}.>`, chunk: 1000 })) {
      for (const m of chunk) ids.add(m.json<{ event: { eventId: string } }>().event.eventId);
    }
    return ids;
  };

  it("one device's flood of max-size pushes leaves another device's one-event pushes fast, and nothing half-journaled", async (t) => {
    const flood = new FakeDevice('flooder');
    // ~1 MiB batches of 500 events (the limits), built before the clock starts.
    const label = 'x'.repeat(1650);
    const batches = Array.from({ length: 60 }, (_, b) => Array.from({ length: 500 }, (_, i) => flood.upsert('annotation', `f-${b}-${i % 50}`, { label: `${label}${b}` })));
    const bodies = batches.map((events) => JSON.stringify({ events }));
    assert.ok(bodies[0]!.length > 900_000 && bodies[0]!.length <= 1024 * 1024, `a batch is near the 1 MiB limit (${bodies[0]!.length} bytes)`);

    const device = new FakeDevice('steady');
    const steadyIds: string[] = [];
    /** The steady device's one-event pushes and /healthz, one after the other, for `ms`. */
    const measure = async (ms: number) => {
      const pushes: number[] = [];
      const health: number[] = [];
      const started = Date.now();
      while (Date.now() - started < ms) {
        const event = device.upsert('annotation', `s-${steadyIds.length % 20}`, { label: `v${steadyIds.length}` });
        const t0 = performance.now();
        const answer = await push(gateway, [event], steady.headers);
        pushes.push(performance.now() - t0);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal(answer.body.results[0].status, 'accepted');
        steadyIds.push(event.eventId);
        const h0 = performance.now();
        assert.equal((await fetch(`${gateway}/healthz`)).status, 200);
        health.push(performance.now() - h0);
      }
      const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
      return { n: pushes.length, p50: q(pushes, 0.5), p99: q(pushes, 0.99), healthP99: q(health, 0.99) };
    };

    // The same measurement without the flood: what this machine gives right now.
    const quiet = await measure(3000);
    // 24 concurrent senders from a worker thread (a flooding device has its own CPU), each pushing the next
    // batch as soon as the last was answered or refused.
    const flooding = startPushFlood({ gateway, headers: flooder.headers, bodies, senders: 24 });
    let loaded: Awaited<ReturnType<typeof measure>>;
    let outcomes: FloodOutcome[];
    try {
      loaded = await measure(12_000);
    } finally {
      outcomes = await flooding.stop();
    }
    const byStatus = outcomes.reduce<Record<string, number>>((acc, o) => ({ ...acc, [String(o.status)]: (acc[String(o.status)] ?? 0) + 1 }), {});
    t.diagnostic(`steady device without the flood: ${quiet.n} pushes, p50 ${quiet.p50.toFixed(1)} ms, p99 ${quiet.p99.toFixed(1)} ms, /healthz p99 ${quiet.healthP99.toFixed(1)} ms`);
    t.diagnostic(
      `steady device under the flood: ${loaded.n} pushes, p50 ${loaded.p50.toFixed(1)} ms, p99 ${loaded.p99.toFixed(1)} ms, /healthz p99 ${loaded.healthP99.toFixed(1)} ms; flood answers ${JSON.stringify(byStatus)}`,
    );
    // 250 ms, or three times what the machine gave without the flood when it is that busy already.
    const bound = Math.max(250, 3 * quiet.p99);
    assert.ok(loaded.n >= 20, `enough steady pushes to measure (${loaded.n})`);
    assert.ok(loaded.p99 < bound, `p99 of the steady device's pushes under the flood ${loaded.p99.toFixed(1)} ms < ${bound.toFixed(0)} ms`);
    assert.ok(loaded.healthP99 < Math.max(250, 3 * quiet.healthP99), `/healthz is answered ahead of the pushes (p99 ${loaded.healthP99.toFixed(1)} ms)`);
    assert.ok((byStatus['429'] ?? 0) > 0, 'the flood met the per-device limits');
    assert.ok((byStatus['200'] ?? 0) > 0, 'the flooder still got pushes through');

    // Nothing half-journaled: an answered batch is whole in the journal; a refused one has none of its events there.
    const journaled = await journaledIds('ws-flood');
    const accepted = new Set(outcomes.filter((o) => o.status === 200).map((o) => o.batch));
    for (const b of accepted) for (const e of batches[b]!) assert.ok(journaled.has(e.eventId), `accepted batch ${b} is whole in the journal`);
    for (const o of outcomes) {
      if (o.status === 200 || accepted.has(o.batch)) continue;
      const present = batches[o.batch]!.filter((e) => journaled.has(e.eventId)).length;
      assert.equal(present, 0, `refused batch ${o.batch} (${o.status}) has none of its events in the journal`);
    }
    const steadyJournaled = await journaledIds('ws-steady');
    for (const id of steadyIds) assert.ok(steadyJournaled.has(id));
  });

  it(`closes a push whose body trickles in (1 byte every 3 s) within the request timeout (${REQUEST_TIMEOUT_MS} ms)`, async () => {
    const { port } = new URL(gateway);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const t0 = Date.now();
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - t0)));
    socket.on('error', () => undefined);
    socket.write(`POST /v1/events HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: ${steady.headers.authorization}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{`);
    const trickle = setInterval(() => socket.writable && socket.write(' '), 3000);
    const after = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), REQUEST_TIMEOUT_MS + 8000))]);
    clearInterval(trickle);
    socket.destroy();
    assert.notEqual(after, -1, `the connection was still open ${REQUEST_TIMEOUT_MS + 8000} ms later`);
    // Node checks deadlines every quarter of the headers timeout (250 ms here): allow that and a busy machine.
    assert.ok(after < REQUEST_TIMEOUT_MS + 2500, `closed after ${after} ms`);
    assert.match(received, /^HTTP\/1\.1 408/, 'answered 408 Request Timeout');
  });
});
