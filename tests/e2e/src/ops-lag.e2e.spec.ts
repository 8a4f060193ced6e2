import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceEvent } from '@tidemark/contracts';
import { FakeDevice, count, eventually, getJson, push, startSlice, steadyIngest, type SliceStack, type SteadyIngest } from '@tidemark/testing';

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
  return Math.max(
    0,
    ...text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`))
      .map((l) => Number(l.split(' ').at(-1))),
  );
}

const BATCH = 5;
const EVERY_MS = 200;
/** What the steady ingest adds in a second (5 events every 200 ms). */
const PER_SECOND = (BATCH * 1000) / EVERY_MS;
/** ops-api shares one stream observation for up to a second (StreamObserver's reuseMs): an answer may be that old. */
const OBSERVATION_REUSE_MS = 1000;

describe('ops-api: lag and oldest-pending age while the projector is down under a steady ingest, and back to zero after', () => {
  let stack: SliceStack;
  let ops: string;
  let gateway: string;
  let headers: Record<string, string>;
  let ingest: SteadyIngest | undefined;
  const device = new FakeDevice('lag-tablet');
  const warm: string[] = [];
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
    // A test that failed midway leaves the ingest running; its failure is that test's to report.
    await ingest?.stop().catch(() => undefined);
    await stack?.stop();
  });

  const send = async (events: DeviceEvent[]) => {
    const response = await push(gateway, events, headers);
    assert.equal(response.status, 200, JSON.stringify(response.body));
  };
  const pushSome = async (n: number, prefix: string) => {
    const events = Array.from({ length: n }, (_, i) => device.upsert('annotation', `${prefix}-${i}`, { label: `v${i}` }));
    await send(events);
    warm.push(...events.map((e) => e.eventId));
  };
  /**
   * Reads an ops-api view under the ingest, with the range any count of unprojected messages in it must lie
   * in while merge-service is down: at least what was accepted before the observation it may reuse began,
   * at most what was sent by the time it answered.
   */
  const observe = async <T>(read: () => Promise<T>): Promise<{ value: T; atLeast: number; atMost: number }> => {
    ingest!.check();
    const atLeast = ingest!.acceptedBefore(Date.now() - OBSERVATION_REUSE_MS);
    const value = await read();
    return { value, atLeast, atMost: ingest!.sent() };
  };
  const within = (actual: number, { atLeast, atMost }: { atLeast: number; atMost: number }, what: string) =>
    assert.ok(actual >= atLeast && actual <= atMost, `${what}: ${actual}, expected between ${atLeast} (accepted before the observation) and ${atMost} (sent by its answer)`);
  const journalOf = (streams: any) => streams.streams.find((s: any) => s.name === 'JOURNAL');
  const oldestPending = (streams: any): number => Math.max(...journalOf(streams).consumers.map((c: any) => c.oldestPendingSeconds));

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
    await eventually(
      async () => {
        const streams = await ops$('/v1/streams');
        assert.equal(streams.projection.total.messages, 0, JSON.stringify(streams.projection));
        assert.equal(streams.projection.partitions.length, 4);
        assert.equal(streams.projection.partitions.reduce((n: number, p: any) => n + (p.checkpointSeq > 0 ? 1 : 0), 0) > 0, true);
      },
      { timeoutMs: 20_000, message: 'the projection to catch up' },
    );
    const streams = await ops$('/v1/streams');
    const journal = journalOf(streams);
    assert.equal(journal.messages, 20);
    assert.equal(journal.lastSeq, 20);
    assert.ok(Date.parse(journal.firstAt) <= Date.parse(journal.lastAt));
    for (const c of journal.consumers) {
      assert.deepEqual({ pending: c.pending, ackPending: c.ackPending, lag: c.lag.messages, age: c.oldestPendingSeconds }, { pending: 0, ackPending: 0, lag: 0, age: 0 }, c.name);
      assert.match(c.filter, /^tm\.journal\.\*\.p0[0-3]\.>$/);
    }
    const overview = await ops$('/v1/overview');
    assert.deepEqual(
      overview.services.map((s: any) => [s.name, s.ready]),
      [
        ['journal-service', true],
        ['gateway', true],
        ['merge-service', true],
      ],
    );
    assert.equal(overview.ready, true);
    assert.deepEqual(overview.unavailable, []);
    assert.deepEqual(overview.projection.lag, { messages: 0, seconds: 0 });
    assert.equal(overview.streams.journal.lastSeq, 20);
    assert.deepEqual([overview.parked, overview.conflictsOpen, overview.uploads], [0, 0, { inProgress: 0, bytesPending: 0 }]);
  });

  it('while merge-service is down under a steady ingest: lag in messages and the oldest-pending age rise on /v1/streams, /v1/overview and /metrics', async () => {
    await stack.services.get('merge-service')!.kill();
    const stoppedAt = Date.now();
    ingest = steadyIngest(send, (i) => device.upsert('annotation', `steady-${i}`, { label: `v${i}` }), { batch: BATCH, everyMs: EVERY_MS });

    const first = await eventually(
      async () => {
        const seen = await observe(() => ops$('/v1/streams'));
        assert.ok(seen.value.projection.total.messages > 0);
        return seen;
      },
      { message: 'the unprojected messages to show' },
    );
    const firstLag = first.value.projection.total;
    within(firstLag.messages, first, 'projection lag (/v1/streams)');
    assert.ok(firstLag.seconds > 0, JSON.stringify(firstLag));
    for (const p of first.value.projection.partitions) {
      assert.equal(p.exact, true, `${p.partition}: the projector is stopped, so the count is exact: ${JSON.stringify(p)}`);
      if (p.lag.messages > 0) {
        assert.ok(p.lag.oldestSeq > p.checkpointSeq, `${p.partition}: the oldest unprojected follows the checkpoint`);
        assert.ok(Date.parse(p.lag.oldestAt) >= stoppedAt, `${p.partition}: the oldest unprojected was pushed after the stop: ${p.lag.oldestAt}`);
      }
    }
    const journal = journalOf(first.value);
    assert.equal(
      journal.consumers.reduce((n: number, c: any) => n + c.lag.messages, 0),
      firstLag.messages,
      'consumer backlogs add up to the projection lag',
    );
    const age1 = oldestPending(first.value);

    const later = await eventually(
      async () => {
        const seen = await observe(() => ops$('/v1/streams'));
        assert.ok(oldestPending(seen.value) >= age1 + 1, `oldest-pending age rises: ${age1} then ${oldestPending(seen.value)}`);
        return seen;
      },
      { message: 'the oldest-pending age to rise by a second' },
    );
    const laterLag = later.value.projection.total;
    within(laterLag.messages, later, 'projection lag (/v1/streams)');
    assert.ok(laterLag.messages > firstLag.messages, `lag rises under the ingest: ${firstLag.messages} then ${laterLag.messages}`);
    assert.ok(laterLag.seconds >= firstLag.seconds + 1, `projection age rises: ${firstLag.seconds} then ${laterLag.seconds}`);
    assert.equal(
      journalOf(later.value).consumers.reduce((n: number, c: any) => n + c.lag.messages, 0),
      laterLag.messages,
    );

    const overview = await observe(() => ops$('/v1/overview'));
    within(overview.value.projection.lag.messages, overview, 'projection lag (/v1/overview)');
    assert.ok(overview.value.projection.lag.messages >= laterLag.messages, 'nothing is projected while merge-service is down');
    assert.ok(overview.value.projection.lag.seconds >= laterLag.seconds, JSON.stringify(overview.value.projection));
    assert.ok(overview.value.projection.partitionsBehind >= 1);
    assert.ok(overview.value.consumers.oldestPendingSeconds >= age1 + 1, JSON.stringify(overview.value.consumers));
    assert.equal(overview.value.ready, false, 'merge-service does not answer');
    const merge = overview.value.services.find((s: any) => s.name === 'merge-service');
    assert.deepEqual([merge.ready, merge.status], [false, null]);
    assert.ok(overview.value.rates.samples >= 2, JSON.stringify(overview.value.rates));
    assert.ok(overview.value.rates.ingestPerSecond > 0, JSON.stringify(overview.value.rates));

    const scraped = await observe(metrics);
    const text = scraped.value;
    within(metric(text, 'tidemark_projection_lag_messages')!, scraped, 'projection lag over all partitions (/metrics)');
    assert.ok(metric(text, 'tidemark_projection_lag_messages')! >= laterLag.messages);
    assert.ok(maxMetric(text, 'tidemark_projection_lag_seconds') >= laterLag.seconds);
    within(
      metric(text, 'tidemark_consumer_pending_messages', { stream: 'JOURNAL' })! + metric(text, 'tidemark_consumer_ack_pending_messages', { stream: 'JOURNAL' })!,
      scraped,
      'journal consumer backlog (/metrics)',
    );
    assert.ok(maxMetric(text, 'tidemark_consumer_oldest_pending_seconds') >= age1 + 1);
    assert.equal(metric(text, 'tidemark_ops_observation_up'), 1);

    // The device's pushes are ahead of what is applied: behind-by from the registry's last pushed sequence,
    // which the gateway writes every PUSH_PROGRESS_INTERVAL_MS (1 s).
    const acceptedNow = ingest.acceptedBefore(Date.now());
    await eventually(
      async () => {
        const { devices } = await ops$(`/v1/devices?behindThreshold=10`);
        const me = devices.find((d: any) => d.deviceId === device.deviceId);
        assert.equal(me.contiguousSeq, 20, 'nothing applied since the stop');
        assert.ok(me.lastPushedSeq >= 20 + acceptedNow && me.lastPushedSeq <= 20 + ingest!.sent(), `last pushed ${me.lastPushedSeq}: 20 before the stop and ${acceptedNow}–${ingest!.sent()} since`);
        assert.equal(me.behindBy, me.lastPushedSeq - 20);
        assert.deepEqual(
          me.reasons.map((r: any) => r.code),
          ['behind'],
        );
        assert.equal(me.site, 'lab');
      },
      { message: 'the device behind by what it pushed since the stop' },
    );
  });

  it('after merge-service restarts under the same ingest: the projection catches up, and lag and ages fall back to zero everywhere once the ingest stops', async () => {
    assert.ok(ingest, 'the ingest runs since merge-service was stopped');
    // A backlog worth catching up: at least two seconds of ingest.
    const backlog = await eventually(
      async () => {
        const { projection } = await ops$('/v1/streams');
        assert.ok(projection.total.messages >= 2 * PER_SECOND, `backlog ${projection.total.messages}`);
        return projection.total.messages as number;
      },
      { message: `a backlog of ${2 * PER_SECOND} messages` },
    );

    await stack.start('merge-service');
    const restartedAt = Date.now();
    await eventually(
      async () => {
        ingest!.check();
        const { projection } = await ops$('/v1/streams');
        assert.ok(projection.total.messages < PER_SECOND, `lag ${projection.total.messages} (backlog was ${backlog})`);
      },
      { timeoutMs: 30_000, message: 'the projection to catch up while the ingest goes on' },
    );
    assert.ok(ingest.acceptedBefore(Infinity) > ingest.acceptedBefore(restartedAt), 'the ingest went on after the restart');

    await ingest.stop();
    const pushed = [...warm, ...ingest.eventIds()];
    await eventually(
      async () => {
        const streams = await ops$('/v1/streams');
        assert.deepEqual(streams.projection.total, { messages: 0, seconds: 0 });
        assert.equal(streams.projection.partitions.length, 4, 'every partition consumer is there (a re-aligned consumer is re-created)');
        for (const c of journalOf(streams).consumers) assert.equal(c.oldestPendingSeconds, 0, c.name);
        assert.equal(journalOf(streams).lastSeq, pushed.length, 'the journal holds every pushed event once');
        const overview = await ops$('/v1/overview');
        assert.deepEqual(overview.projection.lag, { messages: 0, seconds: 0 });
        assert.equal(overview.consumers.oldestPendingSeconds, 0);
        assert.equal(overview.ready, true);
        const text = await metrics();
        assert.equal(metric(text, 'tidemark_projection_lag_messages'), 0);
        assert.equal(maxMetric(text, 'tidemark_projection_lag_seconds'), 0);
        assert.equal(maxMetric(text, 'tidemark_consumer_oldest_pending_seconds'), 0);
      },
      { timeoutMs: 30_000, message: 'lag back to zero after the restart' },
    );

    // Exactly one receipt per pushed event (event_id is the key, so a count of rows for them is one each), all applied, none else.
    const receipts = await stack.db.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM event_receipts WHERE event_id = ANY($1::uuid[]) GROUP BY status', [pushed]);
    assert.deepEqual(
      receipts.rows.map((r) => [r.status, Number(r.n)]),
      [['applied', pushed.length]],
    );
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM event_receipts'), pushed.length);

    await eventually(
      async () => {
        const { devices } = await ops$(`/v1/devices?behindThreshold=10`);
        const me = devices.find((d: any) => d.deviceId === device.deviceId);
        assert.deepEqual(
          { behindBy: me.behindBy, fallingBehind: me.fallingBehind, contiguous: me.contiguousSeq, pushed: me.lastPushedSeq },
          { behindBy: 0, fallingBehind: false, contiguous: pushed.length, pushed: pushed.length },
        );
      },
      { message: 'the device caught up' },
    );
    const overview = await ops$('/v1/overview');
    assert.ok(overview.rates.projectPerSecond > 0, JSON.stringify(overview.rates));
  });
});
