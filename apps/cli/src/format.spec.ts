import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fmt from './format';
import type { DevicesView, OverviewView, ReplayJobView, StreamsView } from '@tidemark/contracts';
import { replayJob, type ReplayJobOverrides } from './testing/replay-job';

const overview = (over: Partial<OverviewView> = {}): OverviewView => ({
  at: '2026-11-25T12:00:00.000Z',
  services: [
    { name: 'gateway', url: 'http://gateway:3001', ready: true, status: 200, detail: { status: 'ok' }, latencyMs: 3 },
    { name: 'merge-service', url: 'http://merge-service:3003', ready: false, status: null, detail: 'connect ECONNREFUSED 10.0.0.7:3003', latencyMs: 1 },
  ],
  ready: false,
  streams: { count: 4, messages: 60, bytes: 31_200, journal: { messages: 60, lastSeq: 60, lastAt: '2026-11-25T11:59:58.000Z' } },
  consumers: { count: 9, withBacklog: 1, oldestPendingSeconds: 3.2, redelivered: 0 },
  projection: { consumerPrefix: 'merge', partitions: 8, partitionsBehind: 1, lag: { messages: 8, seconds: 3.2 } },
  rates: { ingestPerSecond: 12.04, projectPerSecond: 11.5, windowSeconds: 60, samples: 12, sampledBy: 'this ops-api instance' },
  history: { intervalMs: 5000, capacity: 120, points: [] },
  parked: 2,
  conflictsOpen: 1,
  uploads: { inProgress: 3, bytesPending: 5900 },
  unavailable: [],
  ...over,
});

describe('format: tables and values', () => {
  it('aligns columns, numbers right, absent facts as -, no trailing blanks', () => {
    const text = fmt.table(
      [
        { header: 'NAME', value: (r: { name: string; n: number | null; ok: boolean }) => r.name },
        { header: 'N', value: (r) => r.n },
        { header: 'OK', value: (r) => r.ok },
      ],
      [
        { name: 'merge-p00', n: 8, ok: true },
        { name: 'p1', n: null, ok: false },
        { name: 'x', n: 1234, ok: true },
      ],
    );
    assert.equal(text, ['NAME          N  OK', 'merge-p00     8  yes', 'p1            -  no', 'x          1234  yes'].join('\n'));
  });

  it('durations, bytes and rates read short', () => {
    assert.deepEqual(
      [0, 0.44, 3.25, 12.9, 185, 7_800, 90_000, null].map((s) => fmt.duration(s)),
      ['0s', '0.4s', '3.3s', '12s', '3m05s', '2h10m', '1d1h', '-'],
    );
    assert.deepEqual(
      [512, 5900, 31_200, 3 * 1024 ** 3, null].map((b) => fmt.bytes(b)),
      ['512 B', '5.8 KiB', '30 KiB', '3 GiB', '-'],
    );
    assert.deepEqual([fmt.rate(12.04), fmt.rate(null)], ['12/s', '-']);
    assert.equal(fmt.short('a'.repeat(50), 10), 'aaaaaaaaa…');
    assert.equal(fmt.short({ a: 1 }), '{"a":1}');
  });
});

describe('format: status', () => {
  it('shows each service, journal, consumers, projection lag, rates and ledger counts', () => {
    const text = fmt.renderOverview(overview());
    assert.match(text, /^services +NOT READY \(1\/2 ready\)$/m);
    assert.match(text, /^ {2}merge-service +no +no answer +1 ms +http:\/\/merge-service:3003 +connect ECONNREFUSED 10\.0\.0\.7:3003$/m);
    assert.match(text, /^ {2}gateway +yes +200 +3 ms +http:\/\/gateway:3001$/m);
    assert.match(text, /^journal +60 messages, last seq 60 at 2026-11-25T11:59:58\.000Z$/m);
    assert.match(text, /^consumers +9, 1 with a backlog, oldest pending 3\.2s, 0 redelivered$/m);
    assert.match(text, /^projection +lag 8 messages \/ 3\.2s, 1 of 8 partitions behind$/m);
    assert.match(text, /^rates +ingest 12\/s, project 11\.5\/s over 1m00s$/m);
    assert.match(text, /^uploads +3 in progress, 5\.8 KiB pending$/m);
  });

  it('says when no services are configured, rates are not sampled yet, and what could not be read', () => {
    const text = fmt.renderOverview(
      overview({
        services: [],
        ready: null,
        streams: null,
        consumers: null,
        projection: null,
        rates: { ingestPerSecond: null, projectPerSecond: null, windowSeconds: 0, samples: 0, sampledBy: 'this ops-api instance' },
        unavailable: [{ part: 'streams (NATS JetStream)', detail: 'CONNECTION_REFUSED' }],
      }),
    );
    assert.match(text, /^services +none configured \(SERVICE_URLS of ops-api\)$/m);
    assert.match(text, /^projection +-$/m);
    assert.match(text, /^rates +not sampled yet$/m);
    assert.match(text, /^unavailable: streams \(NATS JetStream\): CONNECTION_REFUSED$/m);
  });

  it('statusProblems: a service not ready, a part unavailable, lag above a threshold; nothing when all is well', () => {
    assert.deepEqual(fmt.statusProblems(overview(), {}), ['merge-service is not ready (connect ECONNREFUSED 10.0.0.7:3003)']);
    const healthy = overview({ services: [overview().services[0]!], ready: true });
    assert.deepEqual(fmt.statusProblems(healthy, {}), []);
    assert.deepEqual(fmt.statusProblems(healthy, { maxLag: 8, maxLagSeconds: 3.2 }), [], 'at the threshold is not above it');
    assert.deepEqual(fmt.statusProblems(healthy, { maxLag: 7, maxLagSeconds: 1 }), ['projection lag 8 messages is above --max-lag 7', 'projection lag 3.2s is above --max-lag-seconds 1']);
    const outage = overview({ services: [], ready: null, projection: null, unavailable: [{ part: 'ledger counts (Postgres)', detail: 'timeout' }] });
    assert.deepEqual(fmt.statusProblems(outage, {}), ['ledger counts (Postgres) unavailable: timeout']);
    assert.deepEqual(fmt.statusProblems(outage, { maxLag: 0 }), ['ledger counts (Postgres) unavailable: timeout', 'projection lag unknown (streams unavailable)']);
    const refused = overview({ services: [{ name: 'gateway', url: 'u', ready: false, status: 503, detail: {}, latencyMs: 1 }] });
    assert.deepEqual(fmt.statusProblems(refused, {}), ['gateway is not ready (/readyz answered 503)']);
  });
});

describe('format: lag and devices', () => {
  it('lists streams, consumers with pending and oldest-pending age, and partitions behind their checkpoint', () => {
    const view: StreamsView = {
      at: '2026-11-25T12:00:00.000Z',
      streams: [
        {
          name: 'JOURNAL',
          messages: 60,
          bytes: 31_200,
          firstSeq: 1,
          lastSeq: 60,
          firstAt: null,
          lastAt: '2026-11-25T11:59:58.000Z',
          consumers: [
            {
              name: 'merge-p00',
              filter: 'tm.journal.*.p00.>',
              pending: 8,
              ackPending: 0,
              redelivered: 0,
              waiting: 0,
              ackFloor: 20,
              delivered: 22,
              lastActive: null,
              lag: { messages: 8, seconds: 3.2, oldestSeq: 23, oldestAt: '2026-11-25T11:59:56.800Z' },
              oldestPendingSeconds: 3.2,
            },
            {
              name: 'merge-p01',
              filter: 'tm.journal.*.p01.>',
              pending: 0,
              ackPending: 0,
              redelivered: 0,
              waiting: 1,
              ackFloor: 60,
              delivered: 60,
              lastActive: null,
              lag: { messages: 0, seconds: 0, oldestSeq: null, oldestAt: null },
              oldestPendingSeconds: 0,
            },
          ],
        },
      ],
      projection: {
        consumerPrefix: 'merge',
        partitions: [
          {
            partition: 'p00',
            consumer: 'merge-p00',
            checkpointSeq: 17,
            checkpointAt: '2026-11-25T11:59:00.000Z',
            lag: { messages: 8, seconds: 3.2, oldestSeq: 23, oldestAt: '2026-11-25T11:59:56.800Z' },
            exact: false,
          },
          { partition: 'p01', consumer: 'merge-p01', checkpointSeq: 60, checkpointAt: null, lag: { messages: 0, seconds: 0, oldestSeq: null, oldestAt: null }, exact: true },
        ],
        total: { messages: 8, seconds: 3.2 },
      },
    };
    const text = fmt.renderStreams(view);
    assert.match(text, /^STREAM +MESSAGES +BYTES +FIRST +LAST +LAST AT$/m);
    assert.match(text, /^JOURNAL +60 +30 KiB +1 +60 +2026-11-25T11:59:58\.000Z$/m);
    assert.match(text, /^STREAM +CONSUMER +PENDING +ACK-PENDING +REDELIVERED +WAITING +OLDEST PENDING$/m);
    assert.match(text, /^JOURNAL +merge-p00 +8 +0 +0 +0 +3\.2s$/m);
    assert.match(text, /^JOURNAL +merge-p01 +0 +0 +0 +1 +-$/m);
    assert.match(text, /^projection \(consumers merge-\*\): lag 8 messages, oldest 3\.2s$/m);
    assert.match(text, /^p00 +merge-p00 +17 +≤8 +3\.2s +2026-11-25T11:59:00\.000Z$/m, 'an upper bound while a batch is in flight');
    assert.match(text, /^p01 +merge-p01 +60 +0 +- +-$/m);
  });

  it('lists devices with why they fall behind, and the next page', () => {
    const view: DevicesView = {
      at: '2026-11-25T12:00:00.000Z',
      staleAfterSeconds: 3600,
      behindThreshold: 1000,
      total: 3,
      next: '2',
      devices: [
        {
          workspace: 'acme',
          deviceId: 'lab-quiet',
          site: 'lab',
          label: null,
          status: 'active',
          lastPushedSeq: 60,
          lastPushAt: 'x',
          lastAppliedSeq: 60,
          contiguousSeq: 58,
          missing: 1,
          gaps: [[59, 59]],
          abandoned: 0,
          abandonedRanges: [],
          events: 59,
          behindBy: 1,
          lastSeenAt: 'x',
          silentSeconds: 4210.5,
          fallingBehind: true,
          reasons: [{ code: 'stale', detail: 'not heard from for 4210 s' }],
        },
        {
          workspace: 'acme',
          deviceId: 'early',
          site: null,
          label: null,
          status: null,
          lastPushedSeq: null,
          lastPushAt: null,
          lastAppliedSeq: 3,
          contiguousSeq: 3,
          missing: 0,
          gaps: [],
          abandoned: 0,
          abandonedRanges: [],
          events: 3,
          behindBy: null,
          lastSeenAt: null,
          silentSeconds: null,
          fallingBehind: false,
          reasons: [],
        },
      ],
    };
    const text = fmt.renderDevices(view);
    assert.match(text, /^acme +lab-quiet +lab +active +60 +60 +1 +1 +1h10m +stale$/m);
    assert.match(text, /^acme +early +- +- +- +3 +0 +- +- +no$/m);
    assert.match(text, /^ {2}acme\/lab-quiet: not heard from for 4210 s$/m);
    assert.match(text, /^2 of 3 \(stale after 1h00m, behind above 1000\)$/m);
    assert.match(text, /^more: --after 2$/m);
    assert.equal(fmt.renderDevices({ ...view, devices: [], total: 0, next: null }), 'no devices match (0 in all)');
  });
});

describe('format: replay', () => {
  const job = (over: ReplayJobOverrides = {}): ReplayJobView =>
    replayJob({
      status: 'built',
      scope: { workspace: 'acme', entityType: 'prompt' },
      policyRevisions: { prompt: 2 },
      reason: 'titles only grow',
      createdAt: '2026-11-25T12:00:00.000Z',
      plannedAt: '2026-11-25T12:00:01.000Z',
      builtAt: '2026-11-25T12:00:03.000Z',
      plan: { scanned: { events: 25, lastSeq: 25, toSeq: 25 }, selectedEvents: 20, affectedEntities: 10, rebuildEvents: 20, estimate: { seconds: 0.1, eventsPerSecond: 2000, basis: 'rate-limit' } },
      progress: { phase: 'built', eventsDone: 20, eventsTotal: 20, percent: 100, lastSeq: 25 },
      diff: {
        digest: 'ab'.repeat(32),
        summary: {
          entities: { affected: 10, changed: 6, unchanged: 4, added: 0, removed: 0 },
          fields: { 'prompt.model': 3, 'prompt.title': 5 },
          conflicts: { opened: 3, closed: 0 },
          receipts: { 'applied→conflicted': 3 },
        },
      },
      ...over,
    });

  it('a built replay: plan, progress, diff summary, and the swap command with its digest', () => {
    const text = fmt.renderReplayJob(job());
    assert.match(text, /^scope +workspace=acme entityType=prompt$/m);
    assert.match(text, /^revisions +prompt@2$/m);
    assert.match(text, /^plan +20 events selected, 10 entities to rebuild from 20 events$/m);
    assert.match(text, /^estimate +0\.1s \(rate-limit, limit 2000\/s\)$/m);
    const explained = fmt.renderReplayJob({
      ...job(),
      plan: {
        ...job().plan,
        estimate: { seconds: 8, eventsPerSecond: 2.5, basis: 'workspace-replays', detail: 'median end-to-end rate of 1 finished replay of workspace acme nearest in size (20 events): 2.5 events/s' },
      },
    });
    assert.match(explained, /^estimate +8(\.0)?s \(workspace-replays, limit 2000\/s\): median end-to-end rate of 1 finished replay of workspace acme/m);
    assert.match(text, /^progress +100% \(20\/20 events\)$/m);
    assert.match(text, /^entities +10 affected: 6 changed, 4 unchanged, 0 added, 0 removed$/m);
    assert.match(text, /^fields +prompt\.model 3, prompt\.title 5$/m);
    assert.match(text, /^conflicts +3 opened, 0 closed$/m);
    assert.match(text, new RegExp(`^apply it: +tidemark replay swap ${job().id} --confirm ${'ab'.repeat(32)} --reason "…"$`, 'm'));
    assert.doesNotMatch(text, /^plan only/m);
  });

  it('a plan-only replay says so', () => {
    const text = fmt.renderReplayJob(job({ status: 'cancelled', planOnly: true, builtAt: null, diff: null, progress: { phase: 'cancelled', eventsDone: 0, eventsTotal: 20, percent: 0 } }));
    assert.match(text, /^status +cancelled$/m);
    assert.match(text, /^plan +20 events selected, 10 entities to rebuild from 20 events$/m);
    assert.match(text, /^plan only +yes: it ends once planned and builds nothing$/m);
  });

  it('a replay being built shows its rate and ETA and how to follow it; one planning shows what it scanned', () => {
    const building = fmt.renderReplayJob(
      job({ status: 'building', diff: null, progress: { phase: 'building', eventsDone: 8, eventsTotal: 20, percent: 40, eventsPerSecond: 4, etaSeconds: 3, resumes: 1 } }),
    );
    assert.match(building, /^progress +40% \(8\/20 events\), 4\/s, ETA 3s, resumed 1×$/m);
    assert.match(building, /^follow it: tidemark replay status 4f1c2d3e-0000-4000-8000-000000000001 --watch$/m);
    const planning = fmt.renderReplayJob(
      job({ status: 'planning', diff: null, plan: { scanned: { events: 7, lastSeq: 7, toSeq: 25 }, selectedEvents: 3, affectedEntities: 0, rebuildEvents: null, estimate: null } }),
    );
    assert.match(planning, /^plan +scanned 7 events so far$/m);
    assert.match(fmt.renderReplayJob(job({ scope: {}, policyRevisions: {} })), /^scope +whole journal\nrevisions +as live$/m);
  });

  it('a diff page: each entity’s fields live → shadow and conflicts opened, the next page', () => {
    const text = fmt.renderDiff({
      id: 'r1',
      status: 'built',
      digest: 'ab'.repeat(32),
      summary: null,
      entities: [
        {
          workspace: 'acme',
          entityType: 'prompt',
          entityId: 'pr-0',
          selectedEvents: 2,
          change: 'changed',
          viewChanged: true,
          live: { version: 2, deleted: false, values: { model: 'claude', title: 'a-0' }, inConflict: [] },
          shadow: { version: 2, deleted: false, values: { model: 'gpt-x', title: 'b-0' }, inConflict: ['model'] },
          fields: [
            { field: 'model', live: 'claude', shadow: 'gpt-x' },
            { field: 'title', live: 'a-0', shadow: 'b-0' },
          ],
          conflicts: { opened: [{ id: 'c', field: 'model' }], closed: [] },
          receipts: [],
        },
      ],
      next: 'WyJhY21lIl0',
    });
    assert.match(text, /^acme +prompt\/pr-0 +changed +2 +model: claude → gpt-x; title: a-0 → b-0 +\+model$/m);
    assert.match(text, /^more: --after WyJhY21lIl0$/m);
  });
});

describe('format: job queues and the upload backlog', () => {
  const queue = {
    workspace: 'lab',
    queued: 12,
    running: 2,
    retrying: 1,
    failed: 3,
    retries: 4,
    repairsOpen: 1,
    oldestQueuedAt: '2026-11-25T11:46:00.000Z',
    oldestQueuedSeconds: 840,
    fallingBehind: true,
    reasons: [{ code: 'waiting' as const, detail: 'x' }],
  };

  it('given queues, then it heads with totals and the rule, and lists each queue with its oldest queued age; the unnamed queue as (none)', () => {
    const text = fmt.renderQueues({
      at: 't',
      waitThresholdSeconds: 600,
      rule: 'a queue falls behind when its oldest queued job has waited more than 600 s',
      total: { queues: 2, fallingBehind: 1, queued: 13, running: 2, retrying: 1, failed: 3, retries: 4, repairsOpen: 1, oldestQueuedSeconds: 840 },
      queues: [
        { ...queue, queue: 'transcription' },
        { ...queue, queue: null, queued: 1, oldestQueuedAt: null, oldestQueuedSeconds: null, fallingBehind: false, reasons: [] },
      ],
    });
    assert.match(text, /^2 queues, 1 falling behind \(a queue falls behind when .* 600 s\); 13 queued, 2 running, 1 retrying, 3 failed$/m);
    assert.match(text, /^WORKSPACE +QUEUE +QUEUED +RUNNING +RETRYING +FAILED +RETRIES +REPAIRS +OLDEST QUEUED +BEHIND$/m);
    assert.match(text, /^lab +transcription +12 +2 +1 +3 +4 +1 +14m00s +yes$/m);
    assert.match(text, /^lab +\(none\) +1 .* - +no$/m);
  });

  it('given the backlog by site, then each site (or none) with uploads, bytes pending and the oldest age; by class, the class column', () => {
    const group = { workspace: 'lab', uploads: 2, unknownLength: 0, bytesDeclared: 6000, bytesReceived: 100, bytesPending: 5900, stalled: 1, expired: 0, oldestCreatedAt: 't', oldestSeconds: 120 };
    const totals = { uploads: 3, unknownLength: 0, bytesDeclared: 6300, bytesReceived: 100, bytesPending: 6200, stalled: 1, expired: 0 };
    const bySite = fmt.renderBacklog({
      at: 't',
      by: 'site',
      stalledAfterSeconds: 900,
      inProgress: totals,
      groups: [
        { ...group, site: 'north' },
        { ...group, site: null, uploads: 1 },
      ],
    });
    assert.match(bySite, /^3 uploads in progress, .* pending, 1 stalled \(no bytes for .*\), 0 expired; by site$/m);
    assert.match(bySite, /^WORKSPACE +SITE +UPLOADS +PENDING +STALLED +EXPIRED +OLDEST$/m);
    assert.match(bySite, /^lab +north +2 /m);
    assert.match(bySite, /^lab +\(none\) +1 /m);
    const byClass = fmt.renderBacklog({ at: 't', by: 'class', stalledAfterSeconds: 900, inProgress: totals, groups: [{ ...group, fileClass: 'image' }] });
    assert.match(byClass, /^WORKSPACE +CLASS +UPLOADS/m);
    assert.match(byClass, /^lab +image +2 /m);
  });
});
