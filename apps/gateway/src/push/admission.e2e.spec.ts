import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Agent, request } from 'undici';
import { STREAMS } from '@tidemark/messaging';
import { FakeDevice, push, startSlice, type SliceStack, type TestDevice } from '@tidemark/testing';

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

  /** The journal's messages whose Nats-Msg-Id is one of `ids` (workspace-qualified), by reading the stream's subjects of a workspace. */
  const journaledIds = async (workspace: string): Promise<Set<string>> => {
    const ids = new Set<string>();
    const consumer = await stack.js.js.consumers.get(STREAMS.journal, { filter_subjects: [`tm.journal.${workspace}.>`] });
    const info = await consumer.info();
    let left = info.num_pending;
    while (left > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(left, 1000), expires: 2000 });
      let got = 0;
      for await (const m of batch) {
        ids.add((m.json<{ event: { eventId: string } }>()).event.eventId);
        got++;
      }
      if (got === 0) break;
      left -= got;
    }
    return ids;
  };

  it("one device's flood of max-size pushes leaves another device's one-event pushes fast, and nothing half-journaled", { todo: 'not met yet on a 2-core machine: /healthz p50 ~0.9 s under 24 flooding senders (was 9 s before the socket of a refused push was closed); the admitted flood work itself starves the event loop' }, async () => {
    const flood = new FakeDevice('flooder');
    // ~1 MiB batches of 500 events (the limits), built before the clock starts.
    const label = 'x'.repeat(1650);
    const batches = Array.from({ length: 60 }, (_, b) => Array.from({ length: 500 }, (_, i) => flood.upsert('annotation', `f-${b}-${i % 50}`, { label: `${label}${b}` })));
    const bodies = batches.map((events) => JSON.stringify({ events }));
    assert.ok(bodies[0]!.length > 900_000 && bodies[0]!.length <= 1024 * 1024, `a batch is near the 1 MiB limit (${bodies[0]!.length} bytes)`);
    const agent = new Agent({ connections: 64, pipelining: 0 });
    const outcomes: { batch: number; status: number | 'error' }[] = [];
    let stop = false;
    // 24 concurrent senders, each pushing the next batch as soon as the last was answered (or refused).
    let next = 0;
    const sender = async (): Promise<void> => {
      while (!stop) {
        const b = next++ % bodies.length;
        try {
          const res = await request(`${gateway}/v1/events`, { method: 'POST', dispatcher: agent, headers: { ...flooder.headers, 'content-type': 'application/json' }, body: bodies[b] });
          await res.body.text();
          outcomes.push({ batch: b, status: res.statusCode });
        } catch {
          outcomes.push({ batch: b, status: 'error' });
        }
      }
    };
    const senders = Array.from({ length: 24 }, () => sender());

    const device = new FakeDevice('steady');
    const latencies: number[] = [];
    const health: number[] = [];
    const steadyIds: string[] = [];
    const started = Date.now();
    try {
      while (Date.now() - started < 12_000) {
        const event = device.upsert('annotation', `s-${latencies.length % 20}`, { label: `v${latencies.length}` });
        const t0 = performance.now();
        const answer = await push(gateway, [event], steady.headers);
        latencies.push(performance.now() - t0);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal(answer.body.results[0].status, 'accepted');
        steadyIds.push(event.eventId);
        const h0 = performance.now();
        assert.equal((await fetch(`${gateway}/healthz`)).status, 200);
        health.push(performance.now() - h0);
      }
    } finally {
      stop = true;
      await Promise.all(senders);
      await agent.close();
    }
    health.sort((a, b) => a - b);
    console.log(`/healthz under the flood: p50 ${health[Math.floor(health.length / 2)]!.toFixed(1)} ms, max ${health.at(-1)!.toFixed(1)} ms`);
    assert.ok(health[Math.floor(0.99 * health.length)]! < 250, '/healthz is answered ahead of the pushes');

    latencies.sort((a, b) => a - b);
    const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
    const byStatus = outcomes.reduce<Record<string, number>>((acc, o) => ({ ...acc, [String(o.status)]: (acc[String(o.status)] ?? 0) + 1 }), {});
    console.log(`steady pushes: ${latencies.length}, p50 ${p(0.5).toFixed(1)} ms, p99 ${p(0.99).toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms; flood answers ${JSON.stringify(byStatus)}`);
    assert.ok(latencies.length >= 20, `enough steady pushes to measure (${latencies.length})`);
    assert.ok(p(0.99) < 250, `p99 of the steady device's pushes ${p(0.99).toFixed(1)} ms < 250 ms`);
    assert.ok((byStatus['429'] ?? 0) > 0, 'the flood met the per-device limit');
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
