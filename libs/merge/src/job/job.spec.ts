import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JobState, JobTransition } from '@tidemark/contracts';
import { checkJobTransition, JOB_TRANSITIONS, JOB_V1, type JobFacts } from '../index';
import { append, eventsFor, set } from '../testing/events';
import { mergeSpec, replay } from '../testing/merge-spec';
import { SINK } from '../testing/schemas';

const spec = mergeSpec(JOB_V1);

function jobEvents() {
  const e = eventsFor('job');
  const step = (to: JobState, attempt: number, deviceId = 'worker-1', extra: Partial<JobTransition> = {}) => e({ deviceId, op: 'transition', job: { to, attempt, ...extra } });
  return { e, step };
}

describe('job transitions', () => {
  it('walks queued → running → retrying → running → succeeded and keeps the history', () => {
    const { e, step } = jobEvents();
    const queued = e({ deviceId: 'scheduler', op: 'transition', job: { to: 'queued', attempt: 1 }, fields: { kind: set('embed') } });
    spec
      .given(queued, step('running', 1), step('retrying', 2, 'worker-1', { error: 'timeout' }), step('running', 2, 'worker-2'))
      .when(step('succeeded', 2, 'worker-2'))
      .then({
        outcome: 'applied',
        reason: /job running → succeeded at attempt 2/,
        view: { job: { state: 'succeeded', attempt: 2 }, values: { kind: 'embed' }, version: 5 },
        state: (state) => {
          assert.deepStrictEqual(
            state?.job?.history.map((h) => `${h.from ?? '-'}>${h.to}@${h.attempt}:${h.deviceId}${h.error ? `!${h.error}` : ''}`),
            ['->queued@1:scheduler', 'queued>running@1:worker-1', 'running>retrying@2:worker-1!timeout', 'retrying>running@2:worker-2', 'running>succeeded@2:worker-2'],
          );
          assert.deepStrictEqual(
            state?.job?.history.map((h) => h.version),
            [1, 2, 3, 4, 5],
          );
        },
      });
  });

  it('reaches cancelled from queued, running and retrying', () => {
    for (const path of [['queued'], ['queued', 'running'], ['queued', 'running', 'retrying']] as const) {
      const { step } = jobEvents();
      const given = path.map((to) => step(to, to === 'retrying' ? 2 : 1));
      spec
        .given(...given)
        .when(step('cancelled', path.at(-1) === 'retrying' ? 2 : 1))
        .then({ outcome: 'applied', view: { job: { state: 'cancelled', attempt: path.at(-1) === 'retrying' ? 2 : 1 } } });
    }
  });

  it('records the failure error', () => {
    const { step } = jobEvents();
    spec
      .given(step('queued', 1), step('running', 1))
      .when(step('failed', 1, 'worker-1', { error: 'out of memory' }))
      .then({ view: { job: { state: 'failed', attempt: 1, error: 'out of memory' } } });
  });

  it('applies field changes that ride on a transition', () => {
    const { step, e } = jobEvents();
    spec
      .given(step('queued', 1), step('running', 1))
      .when(e({ deviceId: 'worker-1', op: 'transition', job: { to: 'succeeded', attempt: 1 }, fields: { outputId: set('out-9'), logs: append('done') } }))
      .then({ outcome: 'applied', values: { logs: ['done'], outputId: 'out-9' } });
  });
});

describe('impossible job transitions become repairs, never overwrites', () => {
  it('a stale device reporting running after succeeded', () => {
    const { step } = jobEvents();
    const given = [step('queued', 1), step('running', 1, 'worker-1'), step('succeeded', 1, 'worker-1')];
    const stale = step('running', 1, 'worker-2');
    const result = spec
      .given(...given)
      .when(stale)
      .then({
        outcome: 'repair',
        repairs: [
          {
            id: `${stale.eventId}:job`,
            code: 'terminal-state',
            reason: 'the job is succeeded at attempt 1, a final state; device worker-2 reports running at attempt 1',
            current: { state: 'succeeded', attempt: 1, eventId: given[2]!.eventId, deviceId: 'worker-1', hlc: given[2]!.hlc, version: 3 },
            reported: { to: 'running', attempt: 1, eventId: stale.eventId, deviceId: 'worker-2', hlc: stale.hlc },
            entity: { type: 'job', id: 'job-1' },
            workspace: 'ws-test',
            streamSeq: 4,
          },
        ],
      });
    assert.equal(result.state?.job?.state, 'succeeded');
    assert.equal(result.state?.version, 3);
  });

  it('an older attempt', () => {
    const { step } = jobEvents();
    spec
      .given(step('queued', 1), step('running', 1), step('retrying', 2))
      .when(step('running', 1, 'worker-9'))
      .then({ outcome: 'repair', repairs: [{ code: 'stale-attempt' }] });
  });

  it('a retry that does not start the next attempt, and a skipped attempt', () => {
    const { step } = jobEvents();
    spec
      .given(step('queued', 1), step('running', 1))
      .when(step('retrying', 1))
      .then({
        outcome: 'repair',
        repairs: [{ code: 'attempt-mismatch', reason: 'the job is running at attempt 1; device worker-1 reports retrying at attempt 1, but running → retrying is attempt 2' }],
      });
    spec
      .given(step('queued', 1), step('running', 1), step('retrying', 2))
      .when(step('running', 3))
      .then({ outcome: 'repair', repairs: [{ code: 'attempt-mismatch' }] });
  });

  it('an edge the machine does not have', () => {
    const { step } = jobEvents();
    spec
      .given(step('queued', 1))
      .when(step('succeeded', 1))
      .then({
        outcome: 'repair',
        repairs: [{ code: 'illegal-transition', reason: 'the job is queued at attempt 1; device worker-1 reports succeeded at attempt 1, but queued cannot go to succeeded' }],
      });
  });

  it('a job never queued', () => {
    const { step } = jobEvents();
    spec
      .given()
      .when(step('running', 1))
      .then({ outcome: 'repair', repairs: [{ code: 'not-queued', current: { state: null, attempt: null } }], state: (state) => assert.equal(state, undefined) });
    spec
      .given()
      .when(step('queued', 2))
      .then({ outcome: 'repair', repairs: [{ code: 'attempt-mismatch' }] });
  });

  it('a second worker claiming the same running attempt', () => {
    const { step } = jobEvents();
    spec
      .given(step('queued', 1), step('running', 1, 'worker-1'))
      .when(step('running', 1, 'worker-2'))
      .then({ outcome: 'repair', repairs: [{ code: 'duplicate-claim', reason: 'the job is running at attempt 1, reported by device worker-1; device worker-2 reports running at attempt 1' }] });
  });

  it('a transition on a deleted job', () => {
    const { step, e } = jobEvents();
    spec
      .given(step('queued', 1), e({ op: 'delete', baseVersion: 1 }))
      .when(step('running', 1))
      .then({ outcome: 'repair', repairs: [{ code: 'job-deleted' }] });
  });

  it('a repair applies no field change that rode along', () => {
    const { step, e } = jobEvents();
    spec
      .given(step('queued', 1))
      .when(e({ op: 'transition', job: { to: 'failed', attempt: 1 }, fields: { outputId: set('x') } }))
      .then({ outcome: 'repair', state: (state) => assert.equal(state?.fields.outputId, undefined) });
  });
});

describe('job transitions that are not repairs', () => {
  it('the same report again from the same device is a no-op', () => {
    const { step } = jobEvents();
    spec.given(step('queued', 1), step('running', 1)).when(step('running', 1)).then({ outcome: 'noop', code: 'already-reported' });
  });

  it('a transition on a type that is not a job is rejected', () => {
    const e = eventsFor('sink');
    mergeSpec(SINK)
      .given()
      .when(e({ op: 'transition', job: { to: 'queued', attempt: 1 } }))
      .then({ outcome: 'rejected', code: 'not-a-job' });
  });

  it('an invalid field change on a transition is rejected, not repaired', () => {
    const { e } = jobEvents();
    spec
      .given()
      .when(e({ op: 'transition', job: { to: 'queued', attempt: 1 }, fields: { progress: set('half') } }))
      .then({ outcome: 'rejected', code: 'invalid-value' });
  });

  it('a transition without job details is rejected', () => {
    const { e } = jobEvents();
    spec
      .given()
      .when(e({ op: 'transition' }))
      .then({ outcome: 'rejected', code: 'invalid-event', reason: /is required when op is "transition"/ });
  });

  it('replays to the same history', () => {
    const { step } = jobEvents();
    const events = [step('queued', 1), step('running', 1), step('retrying', 2), step('running', 2), step('failed', 2)];
    assert.deepStrictEqual(replay(JOB_V1, events), replay(JOB_V1, events));
  });
});

describe('checkJobTransition covers every edge', () => {
  const states: JobState[] = ['queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled'];
  const facts = (state: JobState, attempt: number): JobFacts => ({
    state,
    attempt,
    history: [{ eventId: 'e', deviceId: 'w', hlc: { wall: 1, counter: 0 }, version: 1, from: null, to: state, attempt }],
  });

  it('advances exactly along the declared edges with the declared attempt', () => {
    for (const from of states) {
      for (const to of states) {
        if (from === to) continue;
        const expected = from === 'running' && to === 'retrying' ? 3 : 2;
        const check = checkJobTransition(facts(from, 2), { to, attempt: expected }, 'w');
        const legal = JOB_TRANSITIONS[from].includes(to);
        assert.equal(check.kind, legal ? 'advance' : 'repair', `${from} → ${to}`);
      }
    }
  });
});
