import type { JobState, JobTransition } from '@tidemark/contracts';
import type { RepairCode } from '../merge/result';
import type { JobFacts } from '../state/entity-state';

/**
 * The job state machine. Attempts start at 1; `running → retrying` starts the next attempt; every other
 * edge keeps the attempt.
 *
 *   (none) ─▶ queued ─▶ running ─▶ succeeded | failed
 *                       running ─▶ retrying ─▶ running      (running → retrying: attempt + 1)
 *   queued | running | retrying ─▶ cancelled
 */
export const JOB_TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  queued: ['running', 'cancelled'],
  running: ['retrying', 'succeeded', 'failed', 'cancelled'],
  retrying: ['running', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export const TERMINAL_JOB_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

export type JobCheck = { kind: 'advance'; from: JobState | null } | { kind: 'noop'; reason: string } | { kind: 'repair'; code: RepairCode; reason: string };

/** The attempt number the edge `from → to` requires, given the current attempt. */
export function expectedAttempt(from: JobState | null, to: JobState, attempt: number): number {
  if (from === null) return 1;
  return from === 'running' && to === 'retrying' ? attempt + 1 : attempt;
}

/**
 * Checks a reported transition against the job's facts. Never overwrites: anything the machine cannot
 * reach from where the job is becomes a repair with a code and both facts in the reason.
 * Reporting exactly the current state and attempt again is a no-op, except a second device claiming to
 * run the same attempt, which is a repair (`duplicate-claim`: two workers may be doing the same work).
 */
export function checkJobTransition(current: JobFacts | undefined, reported: JobTransition, deviceId: string): JobCheck {
  const says = `device ${deviceId} reports ${reported.to} at attempt ${reported.attempt}`;
  if (!current) {
    if (reported.to !== 'queued') return { kind: 'repair', code: 'not-queued', reason: `the job was never queued; ${says}` };
    if (reported.attempt !== 1) return { kind: 'repair', code: 'attempt-mismatch', reason: `a job is queued at attempt 1; ${says}` };
    return { kind: 'advance', from: null };
  }
  const holds = `the job is ${current.state} at attempt ${current.attempt}`;
  if (reported.to === current.state && reported.attempt === current.attempt) {
    const last = current.history.at(-1);
    if (reported.to === 'running' && last !== undefined && last.deviceId !== deviceId) {
      return { kind: 'repair', code: 'duplicate-claim', reason: `${holds}, reported by device ${last.deviceId}; ${says}` };
    }
    return { kind: 'noop', reason: `${holds} already; ${says}` };
  }
  if (TERMINAL_JOB_STATES.includes(current.state)) return { kind: 'repair', code: 'terminal-state', reason: `${holds}, a final state; ${says}` };
  if (reported.attempt < current.attempt) return { kind: 'repair', code: 'stale-attempt', reason: `${holds}; ${says}, an older attempt` };
  if (!JOB_TRANSITIONS[current.state].includes(reported.to)) {
    return { kind: 'repair', code: 'illegal-transition', reason: `${holds}; ${says}, but ${current.state} cannot go to ${reported.to}` };
  }
  const expected = expectedAttempt(current.state, reported.to, current.attempt);
  if (reported.attempt !== expected) {
    return { kind: 'repair', code: 'attempt-mismatch', reason: `${holds}; ${says}, but ${current.state} → ${reported.to} is attempt ${expected}` };
  }
  return { kind: 'advance', from: current.state };
}
