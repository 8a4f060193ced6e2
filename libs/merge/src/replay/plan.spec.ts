import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ASSUMED_REBUILD_CAPACITY, batchSizeFor, checkReplayRequest, classifyEntry, estimateRebuild, journalFilter, planScan, replayProgress, shadowSchemaName, throttleDelay, type JournalEntryMeta, type ReplayPlanInput } from './plan';

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
    assert.deepEqual(checkReplayRequest({ fromTime: 'yesterday' }, []).map((e) => e.pointer), ['/scope/fromTime']);
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
    assert.deepEqual(planScan({ scope: { workspace: 'acme', entityType: 'prompt', entityId: 'pr-1', fromSeq: 5 }, revisedTypes: [], bounds }), { filter: 'tm.journal.acme.*.prompt.pr-1', fromSeq: 5, toSeq: 50 });
    assert.deepEqual(planScan({ scope: { toSeq: 20 }, revisedTypes: [], bounds }), { filter: 'tm.journal.*.*.*.*', fromSeq: 1, toSeq: 20 });
    assert.deepEqual(planScan({ scope: { workspace: 'acme', deviceId: 'd' }, revisedTypes: [], bounds }), { filter: 'tm.journal.acme.*.*.*', fromSeq: 1, toSeq: 50 });
  });

  it('scans the whole history of revised types', () => {
    assert.deepEqual(planScan({ scope: { workspace: 'acme', entityType: 'prompt', entityId: 'pr-1', fromSeq: 30 }, revisedTypes: ['prompt'], bounds }), { filter: 'tm.journal.acme.*.prompt.*', fromSeq: 1, toSeq: 50 });
    assert.deepEqual(planScan({ scope: { workspace: 'acme', entityType: 'output' }, revisedTypes: ['prompt'], bounds }).filter, 'tm.journal.acme.*.*.*');
    assert.deepEqual(planScan({ scope: { workspace: 'acme' }, revisedTypes: ['prompt'], bounds }).filter, 'tm.journal.acme.*.*.*');
  });

  it('journalFilter takes a token only when it has one value', () => {
    assert.equal(journalFilter({ workspace: ['a'], partition: ['p01'], type: ['t'], id: ['x'] }), 'tm.journal.a.p01.t.x');
    assert.equal(journalFilter({ workspace: ['a', 'b'], partition: [], type: ['t'] }), 'tm.journal.*.*.t.*');
  });
});

describe('estimates, progress and throttling', () => {
  it('estimates at the rate limit unless a lower capacity was measured, or is assumed before any was', () => {
    assert.deepEqual(estimateRebuild(1000, 500, undefined), { seconds: 2, eventsPerSecond: 500, basis: 'rate-limit' });
    assert.deepEqual(estimateRebuild(1000, 500, 2000), { seconds: 2, eventsPerSecond: 500, basis: 'rate-limit' });
    assert.deepEqual(estimateRebuild(1000, 5000, 250), { seconds: 4, eventsPerSecond: 250, basis: 'measured' });
    assert.deepEqual(estimateRebuild(1000, 5000, 10_000), { seconds: 0.2, eventsPerSecond: 5000, basis: 'rate-limit' });
    assert.deepEqual(estimateRebuild(4000, 100_000, undefined), { seconds: 4000 / ASSUMED_REBUILD_CAPACITY, eventsPerSecond: ASSUMED_REBUILD_CAPACITY, basis: 'assumed' });
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
    assert.deepEqual([batchSizeFor(1), batchSizeFor(40), batchSizeFor(100_000)], [1, 20, 256]);
  });
});
