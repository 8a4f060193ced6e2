import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decide, emptyDiffSummary, evolve, isRefusal, type ReplayCommand, type ReplayJob } from '@tidemark/replay';
import type { TestDatabase } from '@tidemark/testing';
import { migratedDatabase } from './testing/migrated-database';
import { ReplayJobRepository, inTransaction, type DataSource } from './index';

const at = new Date();
const request = (id: string, planOnly = false): Extract<ReplayCommand, { kind: 'request' }> => ({
  kind: 'request',
  at,
  id,
  scope: { workspace: 'ws', entityType: 'annotation' },
  policyRevisions: { annotation: 2 },
  reason: 'why',
  requestedBy: 'op',
  eventsPerSecond: 500,
  planOnly,
});
const ESTIMATE = { seconds: 1, eventsPerSecond: 10, basis: 'assumed' as const };
const LIFE: ReplayCommand[] = [
  { kind: 'start-planning', at, bounds: { p00: 7, p01: 3 }, livePrefix: 'merge', partitions: 2, fromSeq: 1, toSeq: 7 },
  { kind: 'record-plan', at, lastSeq: 5, scanned: 5, selected: 3 },
  { kind: 'record-plan', at, lastSeq: 7, scanned: 2, selected: 1 },
  { kind: 'finish-planning', at, affectedEntities: 2, rebuildEvents: 10, estimate: ESTIMATE, revisions: { 'ws/annotation': { revision: 2, live: 1 } } },
  { kind: 'resume-build', at, done: 4, buildSeq: 4, resumed: true },
  { kind: 'record-build', at, done: 6, buildSeq: 6, capacity: 120.5 },
  { kind: 'finish-build', at, done: 10, buildSeq: 7, capacity: null },
  { kind: 'finish-diff', at, summary: emptyDiffSummary(), digest: 'abc' },
];

/** The job without the times the database stamps (`now()`). */
const untimed = (job: ReplayJob) => ({
  ...job,
  createdAt: null,
  updatedAt: null,
  plannedAt: job.plannedAt && 'set',
  builtAt: job.builtAt && 'set',
  finishedAt: job.finishedAt && 'set',
  phaseStartedAt: job.phaseStartedAt && 'set',
});

describe('the replay jobs repository (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let jobs: ReplayJobRepository;

  before(async () => {
    ({ db, ds } = await migratedDatabase('replay_jobs'));
    jobs = new ReplayJobRepository(ds);
  });

  after(async () => {
    await ds.destroy();
    await db.drop();
  });

  it('stores what the decider evolves, transition by transition', async () => {
    const id = '00000000-0000-4000-8000-000000000001';
    let expected = evolve(undefined, { type: 'requested', ...(({ kind: _k, ...r }) => r)(request(id)) });
    let stored = await jobs.create(ds, request(id));
    assert.deepEqual(untimed(stored), untimed(expected));
    for (const command of LIFE) {
      const decision = decide(stored, command);
      assert.ok(!isRefusal(decision), command.kind);
      for (const event of decision.events) {
        expected = evolve(expected, event);
        stored = (await jobs.apply(ds, id, event))!;
      }
      assert.deepEqual(untimed(stored), untimed(expected), command.kind);
      assert.deepEqual(untimed((await jobs.get(id))!), untimed(expected), `${command.kind}, read back`);
    }
    assert.equal(stored.status, 'built');
    assert.equal(stored.rebuildEvents, 10);
  });

  it('applies an event only while the job is in the status it was decided in', async () => {
    const id = '00000000-0000-4000-8000-000000000002';
    const queued = await jobs.create(ds, request(id));
    const decided = decide(queued, LIFE[0]!);
    assert.ok(!isRefusal(decided));
    const cancelled = await inTransaction(ds, (q) => jobs.transition(q, id, { kind: 'cancel', at }));
    assert.equal(cancelled.kind, 'applied');
    assert.equal(await jobs.apply(ds, id, decided.events[0]!), undefined);
    assert.equal(await jobs.advance(ds, queued, LIFE[0]!), undefined, 'decided on the job as last seen, applied under its status');
    assert.equal((await jobs.get(id))!.status, 'cancelled');
  });

  it('a refused transition changes nothing: cancel of an ended job, of a missing one', async () => {
    const id = '00000000-0000-4000-8000-000000000003';
    await jobs.create(ds, request(id));
    await jobs.transition(ds, id, { kind: 'fail', at, error: 'boom' });
    const again = await jobs.transition(ds, id, { kind: 'cancel', at });
    assert.deepEqual(again.kind === 'refused' ? [again.refused, again.status] : again.kind, ['wrong-state', 'failed']);
    const failed = (await jobs.get(id))!;
    assert.deepEqual([failed.status, failed.error], ['failed', 'boom']);
    const missing = await jobs.transition(ds, '00000000-0000-4000-8000-00000000ffff', { kind: 'cancel', at });
    assert.equal(missing.kind === 'refused' && missing.refused, 'not-found');
  });

  it('a plan-only job ends once planned, its shadow marked dropped; the sweep finds ended jobs with a shadow', async () => {
    const id = '00000000-0000-4000-8000-000000000004';
    let job = await jobs.create(ds, request(id, true));
    for (const command of [LIFE[0]!, LIFE[3]!]) job = (await jobs.apply(ds, id, (decide(job, command) as { events: never[] }).events[0]!))!;
    assert.deepEqual([job.status, job.shadowDropped, job.affectedEntities], ['cancelled', true, 2]);
    const swept = await jobs.withShadowIn(['cancelled', 'failed', 'stale', 'swapped']);
    assert.ok(swept.includes('00000000-0000-4000-8000-000000000002'));
    assert.ok(!swept.includes(id));
    await jobs.markShadowDropped('00000000-0000-4000-8000-000000000002');
    assert.ok(!(await jobs.withShadowIn(['cancelled'])).includes('00000000-0000-4000-8000-000000000002'));
  });

  it('lists newest first, by status, and finds the oldest active job', async () => {
    const listed = await jobs.list(undefined, 10);
    assert.equal(listed.length, 4);
    assert.deepEqual(
      (await jobs.list('built', 10)).map((j) => j.id),
      ['00000000-0000-4000-8000-000000000001'],
    );
    assert.equal(await jobs.oldestIn(['queued', 'planning', 'building', 'diffing']), undefined);
    const id = '00000000-0000-4000-8000-000000000005';
    await jobs.create(ds, request(id));
    assert.equal((await jobs.oldestIn(['queued']))!.id, id);
  });
});
