import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ASSUMED_REBUILD_CAPACITY,
  batchSizeFor,
  checkReplayRequest,
  classifyEntry,
  estimateReplay,
  journalFilter,
  planScan,
  replayProgress,
  shadowSchemaName,
  throttleDelay,
  type JournalEntryMeta,
  type ReplayPlanInput,
} from '../index';

const entry = (over: Partial<JournalEntryMeta> = {}): JournalEntryMeta => ({
  seq: 10,
  workspace: 'acme',
  partition: 'p01',
  type: 'prompt',
  id: 'pr-1',
  deviceId: 'tablet-a',
  site: 'lab',
  acceptedAt: '2026-11-20T10:00:00.000Z',
  ...over,
});
const bounds = { p00: 50, p01: 40 };

describe('checkReplayRequest', () => {
  it('accepts a plain scope and an empty one', () => {
    assert.deepEqual(checkReplayRequest({ workspace: 'acme', entityType: 'prompt', fromSeq: 1, toSeq: 5 }, []), []);
    assert.deepEqual(checkReplayRequest({}, []), []);
  });

  it('names every inconsistency by pointer', () => {
    const errors = checkReplayRequest({ entityId: 'x', fromSeq: 9, toSeq: 3, fromTime: '2026-11-20T00:00:00Z', toTime: '2026-11-19T00:00:00Z' }, ['prompt']);
    assert.deepEqual(errors.map((e) => e.pointer).sort(), ['/scope/entityId', '/scope/toSeq', '/scope/toTime', '/scope/workspace']);
    assert.deepEqual(
      checkReplayRequest({ fromTime: 'yesterday' }, []).map((e) => e.pointer),
      ['/scope/fromTime'],
    );
  });
});

describe('classifyEntry', () => {
  const plan = (scope: ReplayPlanInput['scope'], revisedTypes: string[] = []): ReplayPlanInput => ({ scope, revisedTypes, bounds });

  it('selects by every criterion of the scope', () => {
    assert.equal(classifyEntry(plan({ workspace: 'acme', entityType: 'prompt', entityId: 'pr-1', deviceId: 'tablet-a', site: 'lab' }), entry()), 'selected');
    assert.equal(classifyEntry(plan({ workspace: 'other' }), entry()), 'outside');
    assert.equal(classifyEntry(plan({ entityType: 'prompt', entityId: 'pr-2' }), entry()), 'outside');
    assert.equal(classifyEntry(plan({ deviceId: 'laptop-b' }), entry()), 'outside');
    assert.equal(classifyEntry(plan({ site: 'field' }), entry()), 'outside');
    assert.equal(classifyEntry(plan({ site: 'lab' }), entry({ site: null })), 'outside');
  });

  it('takes sequence ranges inclusive and time ranges from inclusive to exclusive', () => {
    assert.equal(classifyEntry(plan({ fromSeq: 10, toSeq: 10 }), entry()), 'selected');
    assert.equal(classifyEntry(plan({ fromSeq: 11 }), entry()), 'outside');
    assert.equal(classifyEntry(plan({ toSeq: 9 }), entry()), 'outside');
    assert.equal(classifyEntry(plan({ fromTime: '2026-11-20T10:00:00Z', toTime: '2026-11-20T10:00:01Z' }), entry()), 'selected');
    assert.equal(classifyEntry(plan({ toTime: '2026-11-20T10:00:00Z' }), entry()), 'outside');
  });

  it('leaves out what live had not applied on the entry’s partition', () => {
    assert.equal(classifyEntry(plan({}), entry({ seq: 40 })), 'selected');
    assert.equal(classifyEntry(plan({}), entry({ seq: 41 })), 'beyond');
    assert.equal(classifyEntry(plan({}), entry({ seq: 45, partition: 'p00' })), 'selected');
    assert.equal(classifyEntry(plan({}), entry({ partition: 'p07' })), 'beyond', 'a partition live never applied');
  });

  it('rebuilds every entity of a revised type in the workspace, selected or not', () => {
    const p = plan({ workspace: 'acme', deviceId: 'laptop-b' }, ['prompt']);
    assert.equal(classifyEntry(p, entry()), 'revised');
    assert.equal(classifyEntry(p, entry({ deviceId: 'laptop-b' })), 'selected');
    assert.equal(classifyEntry(p, entry({ type: 'output' })), 'outside');
    assert.equal(classifyEntry(p, entry({ workspace: 'other' })), 'outside');
  });
});

describe('planScan', () => {
  it('reads the narrowest subject filter over the needed range', () => {
    assert.deepEqual(planScan({ scope: { workspace: 'acme', entityType: 'prompt', entityId: 'pr-1', fromSeq: 5 }, revisedTypes: [], bounds }), {
      filter: 'tm.journal.acme.*.prompt.pr-1',
      fromSeq: 5,
      toSeq: 50,
    });
    assert.deepEqual(planScan({ scope: { toSeq: 20 }, revisedTypes: [], bounds }), { filter: 'tm.journal.*.*.*.*', fromSeq: 1, toSeq: 20 });
    assert.deepEqual(planScan({ scope: { workspace: 'acme', deviceId: 'd' }, revisedTypes: [], bounds }), { filter: 'tm.journal.acme.*.*.*', fromSeq: 1, toSeq: 50 });
  });

  it('scans the whole history of revised types', () => {
    assert.deepEqual(planScan({ scope: { workspace: 'acme', entityType: 'prompt', entityId: 'pr-1', fromSeq: 30 }, revisedTypes: ['prompt'], bounds }), {
      filter: 'tm.journal.acme.*.prompt.*',
      fromSeq: 1,
      toSeq: 50,
    });
    assert.deepEqual(planScan({ scope: { workspace: 'acme', entityType: 'output' }, revisedTypes: ['prompt'], bounds }).filter, 'tm.journal.acme.*.*.*');
    assert.deepEqual(planScan({ scope: { workspace: 'acme' }, revisedTypes: ['prompt'], bounds }).filter, 'tm.journal.acme.*.*.*');
  });

  it('journalFilter takes a token only when it has one value', () => {
    assert.equal(journalFilter({ workspace: ['a'], partition: ['p01'], type: ['t'], id: ['x'] }), 'tm.journal.a.p01.t.x');
    assert.equal(journalFilter({ workspace: ['a', 'b'], partition: [], type: ['t'] }), 'tm.journal.*.*.t.*');
  });
});

describe('estimates, progress and throttling', () => {
  it('estimates from nothing measured: the assumed rate, or the rate limit when it is lower', () => {
    assert.deepEqual(estimateReplay({ events: 4000, rateLimit: 100_000, workspace: 'acme', history: [] }), {
      seconds: 4000 / ASSUMED_REBUILD_CAPACITY,
      eventsPerSecond: ASSUMED_REBUILD_CAPACITY,
      basis: 'assumed',
      detail: `no finished replay measured a rate yet: assumed ${ASSUMED_REBUILD_CAPACITY} events/s`,
    });
    const limited = estimateReplay({ events: 1000, rateLimit: 500, workspace: 'acme', history: [] });
    assert.deepEqual([limited.seconds, limited.eventsPerSecond, limited.basis], [2, 500, 'rate-limit']);
    assert.match(limited.detail!, /^the rate limit of 500 events\/s is the bottleneck \(no finished replay/);
  });

  // Both misses of the report: a big replay estimated from a small one's rate (13 min planned, 96 s taken) and a
  // small one from a big one's (15 s planned, 73 s taken). Fixed work weighs on small replays, so size matters.
  const small = { workspace: 'acme', events: 150, seconds: 30, rateLimit: 100_000 }; // 5 events/s end to end
  const big = { workspace: 'acme', events: 90_000, seconds: 60, rateLimit: 100_000 }; // 1,500 events/s
  it('takes the rate of the workspace’s finished replays nearest in size, both ways', () => {
    const large = estimateReplay({ events: 80_000, rateLimit: 100_000, workspace: 'acme', history: [small, big] });
    assert.deepEqual([large.seconds, large.eventsPerSecond, large.basis], [53.4, 1500, 'workspace-replays']);
    assert.equal(large.detail, 'median end-to-end rate of 1 finished replay of workspace acme nearest in size (90000 events): 1500 events/s');
    const three = [small, big, { ...small, events: 200, seconds: 40 }, { ...big, events: 70_000, seconds: 50 }, { ...big, events: 120_000, seconds: 150 }];
    const median = estimateReplay({ events: 80_000, rateLimit: 100_000, workspace: 'acme', history: three });
    assert.equal(median.eventsPerSecond, 1400, 'median of the three nearest (1,500, 1,400 and 800/s), none of the small ones');
    assert.match(median.detail!, /of 3 finished replays of workspace acme nearest in size \(70000–120000 events\): 1400 events\/s$/);
    const tiny = estimateReplay({ events: 120, rateLimit: 100_000, workspace: 'acme', history: [big, small, { ...small, events: 100, seconds: 25 }] });
    assert.deepEqual([tiny.eventsPerSecond, tiny.basis], [4.5, 'workspace-replays'], 'a small replay costs what small replays cost (4 and 5/s), not what a big one does');
    assert.equal(tiny.seconds, 26.7);
  });

  it('prefers the workspace’s own replays, falls back to the installation’s, and ignores replays held back by their limit', () => {
    const other = { workspace: 'other', events: 10_000, seconds: 2, rateLimit: 100_000 }; // 5,000 events/s
    const own = estimateReplay({ events: 10_000, rateLimit: 100_000, workspace: 'acme', history: [other, { ...big, events: 10_000, seconds: 20 }] });
    assert.deepEqual([own.eventsPerSecond, own.basis], [500, 'workspace-replays']);
    const fallback = estimateReplay({ events: 10_000, rateLimit: 100_000, workspace: 'acme', history: [other] });
    assert.deepEqual([fallback.eventsPerSecond, fallback.basis, fallback.seconds], [5000, 'installation-replays', 2]);
    assert.match(fallback.detail!, /^median end-to-end rate of 1 finished replay on this installation nearest in size \(10000 events\): 5000 events\/s$/);
    // 10,000 events in 100 s at a limit of 100/s: the limit held it, it says nothing of the capacity.
    const throttled = estimateReplay({ events: 10_000, rateLimit: 100_000, workspace: 'acme', history: [{ workspace: 'acme', events: 10_000, seconds: 100, rateLimit: 100 }] });
    assert.equal(throttled.basis, 'assumed');
    const bottleneck = estimateReplay({ events: 10_000, rateLimit: 200, workspace: 'acme', history: [other] });
    assert.deepEqual([bottleneck.eventsPerSecond, bottleneck.basis, bottleneck.seconds], [200, 'rate-limit', 50]);
    assert.match(bottleneck.detail!, /^the rate limit of 200 events\/s is the bottleneck \(median end-to-end rate of 1 finished replay on this installation/);
    assert.equal(estimateReplay({ events: 0, rateLimit: 100, workspace: undefined, history: [other] }).seconds, 0);
  });

  it('names a replay’s shadow schema from its id', () => {
    assert.equal(shadowSchemaName('19D2AA5F-a5f7-4779-b97e-5c75c12de095'), 'replay_19d2aa5fa5f74779b97e5c75c12de095');
  });

  it('reports progress with a rate and an ETA from what this run did', () => {
    assert.deepEqual(replayProgress({ done: 300, total: 1000, doneAtStart: 100, startedAtMs: 0, nowMs: 2000 }), { percent: 30, eventsPerSecond: 100, etaSeconds: 7 });
    assert.deepEqual(replayProgress({ done: 0, total: 0, doneAtStart: 0, startedAtMs: 0, nowMs: 0 }), { percent: 0, eventsPerSecond: null, etaSeconds: null });
  });

  it('waits just long enough to hold the rate', () => {
    assert.equal(throttleDelay({ doneSinceStart: 100, startedAtMs: 0, nowMs: 400, eventsPerSecond: 100 }), 600);
    assert.equal(throttleDelay({ doneSinceStart: 100, startedAtMs: 0, nowMs: 1500, eventsPerSecond: 100 }), 0);
    assert.deepEqual([batchSizeFor(1), batchSizeFor(40), batchSizeFor(1000), batchSizeFor(100_000)], [1, 20, 500, 1000]);
  });
});
