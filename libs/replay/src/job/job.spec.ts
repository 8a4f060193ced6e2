import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ReplayEstimate } from '@tidemark/contracts';
import { checkSwap, decide, emptyDiffSummary, evolve, isRefusal, type ReplayCommand, type ReplayEvent, type ReplayJob, type ReplayRefusalCode, type ReplayStatus } from '../index';

const ID = '11111111-2222-4333-8444-555555555555';
const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const ESTIMATE: ReplayEstimate = { seconds: 1, eventsPerSecond: 10, basis: 'assumed' };
const SWAP = { entities: 2, changed: 1, added: 0, removed: 0, changes: 1, conflictsOpened: 0, conflictsWithdrawn: 0, activated: [] };

const request = (planOnly = false): ReplayCommand => ({
  kind: 'request',
  at: t(0),
  id: ID,
  scope: { workspace: 'ws' },
  policyRevisions: { annotation: 2 },
  reason: 'r',
  requestedBy: 'op',
  eventsPerSecond: 500,
  planOnly,
});
const startPlanning: ReplayCommand = { kind: 'start-planning', at: t(1), bounds: { p00: 7 }, livePrefix: 'merge', partitions: 1, fromSeq: 1, toSeq: 7 };
const recordPlan: ReplayCommand = { kind: 'record-plan', at: t(2), lastSeq: 5, scanned: 5, selected: 3 };
const finishPlanning: ReplayCommand = { kind: 'finish-planning', at: t(3), affectedEntities: 2, rebuildEvents: 10, estimate: ESTIMATE, revisions: { 'ws/annotation': { revision: 2, live: 1 } } };
const resumeBuild: ReplayCommand = { kind: 'resume-build', at: t(4), done: 4, buildSeq: 4, resumed: true };
const recordBuild: ReplayCommand = { kind: 'record-build', at: t(5), done: 6, buildSeq: 6, capacity: 100 };
const finishBuild: ReplayCommand = { kind: 'finish-build', at: t(6), done: 10, buildSeq: 7, capacity: null };
const finishDiff: ReplayCommand = { kind: 'finish-diff', at: t(7), summary: emptyDiffSummary(), digest: 'd1' };
const swap: ReplayCommand = { kind: 'swap', at: t(8), confirm: 'd1', summary: SWAP };
const markStale: ReplayCommand = { kind: 'mark-stale', at: t(8), error: 'live changed' };
const cancel: ReplayCommand = { kind: 'cancel', at: t(9) };
const fail: ReplayCommand = { kind: 'fail', at: t(9), error: 'boom' };

/** Given the commands so far (each decided and evolved), when `command`, then the job or the refusal. */
function given(...history: ReplayCommand[]): { when(command: ReplayCommand): { job: ReplayJob; events: ReplayEvent[] } | { refused: ReplayRefusalCode; status?: ReplayStatus } } {
  let job: ReplayJob | undefined;
  for (const command of history) {
    const decision = decide(job, command);
    if (isRefusal(decision)) throw new Error(`given: ${command.kind} was refused (${decision.detail})`);
    job = decision.events.reduce<ReplayJob | undefined>(evolve, job);
  }
  return {
    when(command) {
      const decision = decide(job, command);
      if (isRefusal(decision)) return { refused: decision.refused, ...(decision.status ? { status: decision.status } : {}) };
      return { job: decision.events.reduce<ReplayJob | undefined>(evolve, job)!, events: decision.events };
    },
  };
}

function then(outcome: ReturnType<ReturnType<typeof given>['when']>): { job: ReplayJob; events: ReplayEvent[] } {
  if ('refused' in outcome) throw new Error(`refused: ${outcome.refused}`);
  return outcome;
}

const toPlanning = [request(), startPlanning];
const toBuilding = [...toPlanning, recordPlan, finishPlanning];
const toDiffing = [...toBuilding, finishBuild];
const toBuilt = [...toDiffing, finishDiff];

describe('the replay job decider', () => {
  it('a request creates a queued job with nothing planned', () => {
    const { job, events } = then(given().when(request()));
    assert.deepEqual(
      events.map((e) => e.type),
      ['requested'],
    );
    assert.equal(job.status, 'queued');
    assert.deepEqual([job.scope, job.policyRevisions, job.eventsPerSecond, job.planOnly, job.requestedBy], [{ workspace: 'ws' }, { annotation: 2 }, 500, false, 'op']);
    assert.deepEqual([job.plannedAt, job.finishedAt, job.diffDigest, job.rebuildEvents], [null, null, null, null]);
    assert.equal(job.createdAt.getTime(), t(0).getTime());
  });

  it('a second request for the same job is refused', () => {
    assert.deepEqual(given(request()).when(request()), { refused: 'already-exists', status: 'queued' });
  });

  it('a command to a job that does not exist is refused', () => {
    for (const command of [startPlanning, cancel, swap, fail] as ReplayCommand[]) assert.deepEqual(given().when(command), { refused: 'not-found' });
  });

  it('queued → planning takes the bounds and the range to scan (before the first sequence)', () => {
    const { job, events } = then(given(request()).when(startPlanning));
    assert.deepEqual(
      events.map((e) => [e.type, 'from' in e ? e.from : null]),
      [['planning-started', 'queued']],
    );
    assert.equal(job.status, 'planning');
    assert.deepEqual([job.bounds, job.livePrefix, job.partitions, job.planSeq, job.planTo], [{ p00: 7 }, 'merge', 1, 0, 7]);
    assert.deepEqual([job.plannedAt, job.phaseStartedAt, job.phaseDoneAtStart], [t(1), t(1), 0]);
  });

  it('planning records its progress (counts add up) and stays planning', () => {
    const { job } = then(given(...toPlanning, recordPlan).when({ kind: 'record-plan', at: t(3), lastSeq: 7, scanned: 2, selected: 1 }));
    assert.deepEqual([job.status, job.planSeq, job.scannedEvents, job.selectedEvents], ['planning', 7, 7, 4]);
  });

  it('planning → building once planned, with the plan and the build phase started', () => {
    const { job, events } = then(given(...toPlanning, recordPlan).when(finishPlanning));
    assert.deepEqual(
      events.map((e) => e.type),
      ['planned'],
    );
    assert.equal(job.status, 'building');
    assert.deepEqual([job.affectedEntities, job.rebuildEvents, job.estimate, job.revisions], [2, 10, ESTIMATE, { 'ws/annotation': { revision: 2, live: 1 } }]);
    assert.deepEqual([job.phaseStartedAt, job.doneEvents, job.finishedAt, job.shadowDropped], [t(3), 0, null, false]);
  });

  it('a plan-only job ends (cancelled, finished, no shadow) once planned', () => {
    const { job } = then(given(request(true), startPlanning).when(finishPlanning));
    assert.deepEqual([job.status, job.finishedAt, job.shadowDropped, job.error, job.affectedEntities], ['cancelled', t(3), true, null, 2]);
  });

  it('a build resumes (counting the resume) and records its progress without changing status', () => {
    const resumed = then(given(...toBuilding).when(resumeBuild)).job;
    assert.deepEqual([resumed.status, resumed.doneEvents, resumed.phaseDoneAtStart, resumed.buildSeq, resumed.resumes, resumed.phaseStartedAt], ['building', 4, 4, 4, 1, t(4)]);
    const fresh = then(given(...toBuilding).when({ ...resumeBuild, done: 0, buildSeq: 0, resumed: false })).job;
    assert.equal(fresh.resumes, 0);
    const progressed = then(given(...toBuilding, resumeBuild).when(recordBuild)).job;
    assert.deepEqual([progressed.status, progressed.doneEvents, progressed.buildSeq, progressed.capacity], ['building', 6, 6, 100]);
  });

  it('building → diffing keeps a measured capacity when the last batch measured none', () => {
    const { job } = then(given(...toBuilding, recordBuild).when(finishBuild));
    assert.deepEqual([job.status, job.doneEvents, job.buildSeq, job.capacity, job.phaseStartedAt, job.phaseDoneAtStart], ['diffing', 10, 7, 100, t(6), 0]);
  });

  it('diffing → built records the summary and digest; what was rebuilt is what was done', () => {
    const { job } = then(given(...toDiffing).when(finishDiff));
    assert.deepEqual([job.status, job.diffDigest, job.diffSummary, job.builtAt, job.rebuildEvents], ['built', 'd1', emptyDiffSummary(), t(7), 10]);
  });

  it('built → swapped with the confirmed digest', () => {
    const { job, events } = then(given(...toBuilt).when(swap));
    assert.deepEqual(
      events.map((e) => e.type),
      ['swapped'],
    );
    assert.deepEqual([job.status, job.swapSummary, job.finishedAt, job.shadowDropped], ['swapped', SWAP, t(8), true]);
  });

  it('a swap confirmed with another digest is refused', () => {
    assert.deepEqual(given(...toBuilt).when({ ...swap, confirm: 'other' }), { refused: 'confirm-mismatch', status: 'built' });
  });

  it('a swap is checked before anything is computed, with the refusals of the swap itself', () => {
    const built = then(given(...toBuilt.slice(0, -1)).when(finishDiff)).job;
    assert.equal(checkSwap(built, 'd1'), undefined);
    assert.equal(checkSwap(built, 'other')?.refused, 'confirm-mismatch');
    assert.equal(checkSwap(undefined, 'd1')?.refused, 'not-found');
    const cancelled = then(given(...toBuilt).when(cancel)).job;
    assert.deepEqual([checkSwap(cancelled, 'd1')?.refused, checkSwap(cancelled, 'd1')?.status], ['wrong-state', 'cancelled']);
  });

  it('built → stale when live changed under it', () => {
    const { job } = then(given(...toBuilt).when(markStale));
    assert.deepEqual([job.status, job.error, job.finishedAt], ['stale', 'live changed', t(8)]);
  });

  it('every job that has not ended can be cancelled', () => {
    for (const history of [[request()], toPlanning, toBuilding, toDiffing, toBuilt]) {
      const { job, events } = then(given(...history).when(cancel));
      assert.equal(events[0]!.type, 'cancelled');
      assert.deepEqual([job.status, job.finishedAt], ['cancelled', t(9)]);
    }
  });

  it('every active job can fail, with its error', () => {
    for (const history of [[request()], toPlanning, toBuilding, toDiffing]) {
      const { job } = then(given(...history).when(fail));
      assert.deepEqual([job.status, job.error, job.finishedAt], ['failed', 'boom', t(9)]);
    }
  });

  it('an ended job refuses everything: cancel of a swapped job, swap of a cancelled one, …', () => {
    const every: ReplayCommand[] = [startPlanning, recordPlan, finishPlanning, resumeBuild, recordBuild, finishBuild, finishDiff, swap, markStale, cancel, fail];
    const ended: Record<string, ReplayCommand[]> = { swapped: [...toBuilt, swap], stale: [...toBuilt, markStale], cancelled: [request(), cancel], failed: [request(), fail] };
    for (const [status, history] of Object.entries(ended)) {
      for (const command of every) {
        assert.deepEqual(given(...history).when(command), { refused: 'wrong-state', status }, `${command.kind} of a ${status} job`);
      }
    }
  });

  it('a command out of order is refused with the status the job is in', () => {
    const cases: [ReplayCommand[], ReplayCommand[]][] = [
      [[request()], [recordPlan, finishPlanning, resumeBuild, recordBuild, finishBuild, finishDiff, swap, markStale]],
      [toPlanning, [startPlanning, resumeBuild, recordBuild, finishBuild, finishDiff, swap, markStale]],
      [toBuilding, [startPlanning, recordPlan, finishPlanning, finishDiff, swap, markStale]],
      [toDiffing, [startPlanning, recordPlan, finishPlanning, resumeBuild, recordBuild, finishBuild, swap, markStale]],
      [toBuilt, [startPlanning, recordPlan, finishPlanning, resumeBuild, recordBuild, finishBuild, finishDiff, fail]],
    ];
    for (const [history, commands] of cases) {
      const status = then(given(...history.slice(0, -1)).when(history.at(-1)!)).job.status;
      for (const command of commands) assert.deepEqual(given(...history).when(command), { refused: 'wrong-state', status }, `${command.kind} of a ${status} job`);
    }
  });

  it('each event names the status it leaves, the guard a store applies it under', () => {
    const from = (history: ReplayCommand[], command: ReplayCommand) => then(given(...history).when(command)).events.map((e) => ('from' in e ? e.from : null));
    assert.deepEqual(from(toBuilt, cancel), ['built']);
    assert.deepEqual(from(toPlanning, fail), ['planning']);
    assert.deepEqual(from(toDiffing, finishDiff), ['diffing']);
  });
});
