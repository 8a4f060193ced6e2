import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDevice, eventually, getJson, push, startSlice, type SliceStack } from '@tidemark/testing';

/** Sums a Prometheus metric's samples (optionally those whose labels match), or undefined when it has none. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).some(([k, v]) => have[k] !== v)) continue;
    sum = (sum ?? 0) + Number(match[3]);
  }
  return sum;
}

/** The largest sample of a metric (e.g. the oldest pending age over consumers). */
function maxMetric(text: string, name: string): number {
  return Math.max(0, ...text.split('\n').filter((l) => l.startsWith(`${name}{`)).map((l) => Number(l.split(' ').at(-1))));
}

describe('ops-api: lag and oldest-pending age while the projector is down, and back to zero after', () => {
  let stack: SliceStack;
  let ops: string;
  let gateway: string;
  let headers: Record<string, string>;
  const device = new FakeDevice('lag-tablet');
  const ops$ = <T = any>(path: string): Promise<T> => getJson<T>(`${ops}${path}`, stack.operatorHeaders);
  const metrics = async (): Promise<string> => (await fetch(`${ops}/metrics`, { headers: stack.operatorHeaders })).text();

  before(async () => {
    stack = await startSlice(['journal-service', 'gateway', 'merge-service']);
    gateway = stack.url('gateway');
    const services = (['journal-service', 'gateway', 'merge-service'] as const).map((n) => `${n}=${stack.url(n)}`).join(',');
    await stack.start('ops-api', { SERVICE_URLS: services, RATE_SAMPLE_INTERVAL_MS: '300', RATE_WINDOW_MS: '20000' });
    ops = stack.url('ops-api');
    headers = (await stack.device('default', device.deviceId, 'lab')).headers;
  });
  after(async () => {
    await stack?.stop();
  });

  const pushSome = async (n: number, prefix: string) => {
    const response = await push(gateway, Array.from({ length: n }, (_, i) => device.upsert('annotation', `${prefix}-${i}`, { label: `v${i}` })), headers);
    assert.equal(response.status, 200, JSON.stringify(response.body));
  };

  it('refuses a request without an operator token', async () => {
    for (const path of ['/v1/streams', '/v1/overview', '/v1/devices', '/v1/sites', '/v1/assets', '/v1/conflicts']) {
      const response = await fetch(`${ops}${path}`);
      assert.equal(response.status, 401, path);
      assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
    }
    const withDeviceToken = await fetch(`${ops}/v1/streams`, { headers });
    assert.equal(withDeviceToken.status, 403);
  });

  it('reports nothing behind once the projection caught up', async () => {
    await pushSome(20, 'warm');
    await eventually(async () => {
      const streams = await ops$('/v1/streams');
      assert.equal(streams.projection.total.messages, 0, JSON.stringify(streams.projection));
      assert.equal(streams.projection.partitions.length, 4);
      assert.equal(streams.projection.partitions.reduce((n: number, p: any) => n + (p.checkpointSeq > 0 ? 1 : 0), 0) > 0, true);
    }, { timeoutMs: 20_000, message: 'the projection to catch up' });
    const streams = await ops$('/v1/streams');
    const journal = streams.streams.find((s: any) => s.name === 'JOURNAL');
    assert.equal(journal.messages, 20);
    assert.equal(journal.lastSeq, 20);
    assert.ok(Date.parse(journal.firstAt) <= Date.parse(journal.lastAt));
    for (const c of journal.consumers) {
      assert.deepEqual({ pending: c.pending, ackPending: c.ackPending, lag: c.lag.messages, age: c.oldestPendingSeconds }, { pending: 0, ackPending: 0, lag: 0, age: 0 }, c.name);
      assert.match(c.filter, /^tm\.journal\.\*\.p0[0-3]\.>$/);
    }
    const overview = await ops$('/v1/overview');
    assert.deepEqual(overview.services.map((s: any) => [s.name, s.ready]), [['journal-service', true], ['gateway', true], ['merge-service', true]]);
    assert.equal(overview.ready, true);
    assert.deepEqual(overview.unavailable, []);
    assert.deepEqual(overview.projection.lag, { messages: 0, seconds: 0 });
    assert.equal(overview.streams.journal.lastSeq, 20);
    assert.deepEqual([overview.parked, overview.conflictsOpen, overview.uploads], [0, 0, { inProgress: 0, bytesPending: 0 }]);
  });

  it('while merge-service is down: lag in messages and the oldest-pending age rise on /v1/streams, /v1/overview and /metrics', async () => {
    await stack.services.get('merge-service')!.kill();
    await pushSome(30, 'down-a');
    const first = await eventually(async () => {
      const streams = await ops$('/v1/streams');
      assert.equal(streams.projection.total.messages, 30, JSON.stringify(streams.projection));
      assert.ok(streams.projection.total.seconds > 0);
      return streams;
    }, { message: 'the 30 unprojected messages to show' });
    for (const p of first.projection.partitions) {
      assert.equal(p.exact, true, `${p.partition}: the projector is stopped, so the count is exact: ${JSON.stringify(p)}`);
      if (p.lag.messages > 0) {
        assert.ok(p.lag.oldestSeq > p.checkpointSeq, `${p.partition}: the oldest unprojected follows the checkpoint`);
        assert.ok(p.lag.oldestAt);
      }
    }
    const journal = first.streams.find((s: any) => s.name === 'JOURNAL');
    assert.equal(journal.consumers.reduce((n: number, c: any) => n + c.lag.messages, 0), 30, 'consumer backlogs add up to what was pushed');
    const age1 = Math.max(...journal.consumers.map((c: any) => c.oldestPendingSeconds));

    await pushSome(10, 'down-b');
    const later = await eventually(async () => {
      const streams = await ops$('/v1/streams');
      assert.equal(streams.projection.total.messages, 40);
      const age = Math.max(...streams.streams.find((s: any) => s.name === 'JOURNAL').consumers.map((c: any) => c.oldestPendingSeconds));
      assert.ok(age >= age1 + 1, `oldest-pending age rises: ${age1} then ${age}`);
      return streams;
    }, { message: 'the oldest-pending age to rise by a second' });
    assert.ok(later.projection.total.seconds >= first.projection.total.seconds + 1);

    const overview = await ops$('/v1/overview');
    assert.equal(overview.projection.lag.messages, 40);
    assert.ok(overview.projection.lag.seconds >= 1, JSON.stringify(overview.projection));
    assert.ok(overview.projection.partitionsBehind >= 1);
    assert.equal(overview.ready, false, 'merge-service does not answer');
    const merge = overview.services.find((s: any) => s.name === 'merge-service');
    assert.deepEqual([merge.ready, merge.status], [false, null]);
    assert.ok(overview.rates.samples >= 2, JSON.stringify(overview.rates));
    assert.ok(overview.rates.ingestPerSecond > 0, JSON.stringify(overview.rates));

    const text = await metrics();
    assert.equal(metric(text, 'tidemark_projection_lag_messages'), 40, 'projection lag over all partitions');
    assert.ok(maxMetric(text, 'tidemark_projection_lag_seconds') >= 1);
    assert.equal(metric(text, 'tidemark_consumer_pending_messages', { stream: 'JOURNAL' })! + metric(text, 'tidemark_consumer_ack_pending_messages', { stream: 'JOURNAL' })!, 40);
    assert.ok(maxMetric(text, 'tidemark_consumer_oldest_pending_seconds') >= 1);
    assert.equal(metric(text, 'tidemark_ops_observation_up'), 1);

    // The device's pushes are ahead of what is applied: behind-by from the registry's last pushed sequence.
    const { devices } = await ops$(`/v1/devices?behindThreshold=10`);
    const me = devices.find((d: any) => d.deviceId === device.deviceId);
    assert.deepEqual({ pushed: me.lastPushedSeq, contiguous: me.contiguousSeq, behindBy: me.behindBy }, { pushed: 60, contiguous: 20, behindBy: 40 });
    assert.deepEqual(me.reasons.map((r: any) => r.code), ['behind']);
    assert.equal(me.site, 'lab');
  });

  it('after merge-service restarts: lag and ages fall back to zero everywhere', async () => {
    await stack.start('merge-service');
    await eventually(async () => {
      const streams = await ops$('/v1/streams');
      assert.deepEqual(streams.projection.total, { messages: 0, seconds: 0 });
      assert.equal(streams.projection.partitions.length, 4, 'every partition consumer is there (a re-aligned consumer is re-created)');
      for (const c of streams.streams.find((s: any) => s.name === 'JOURNAL').consumers) assert.equal(c.oldestPendingSeconds, 0, c.name);
      const overview = await ops$('/v1/overview');
      assert.deepEqual(overview.projection.lag, { messages: 0, seconds: 0 });
      assert.equal(overview.ready, true);
      const text = await metrics();
      assert.equal(metric(text, 'tidemark_projection_lag_messages'), 0);
      assert.equal(maxMetric(text, 'tidemark_projection_lag_seconds'), 0);
      assert.equal(maxMetric(text, 'tidemark_consumer_oldest_pending_seconds'), 0);
    }, { timeoutMs: 30_000, message: 'lag back to zero after the restart' });
    const { devices } = await ops$(`/v1/devices?behindThreshold=10`);
    const me = devices.find((d: any) => d.deviceId === device.deviceId);
    assert.deepEqual({ behindBy: me.behindBy, fallingBehind: me.fallingBehind, contiguous: me.contiguousSeq }, { behindBy: 0, fallingBehind: false, contiguous: 60 });
    const overview = await ops$('/v1/overview');
    assert.ok(overview.rates.projectPerSecond > 0, JSON.stringify(overview.rates));
  });
});
