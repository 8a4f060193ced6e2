// The replay job's state machine as a decider: `decide(job, command)` answers the events a command causes
// (or why it is refused), `evolve(job, event)` applies one. No I/O, no clock: times arrive in commands.
import type { ReplayStatus, ReplaySwapSummary } from '@tidemark/contracts';
import type { DiffSummary } from '../diff/diff';
import type { ReplayBounds, ReplayEstimate, ReplayScope } from '../plan/plan';

export type { ReplayStatus };

/**
 * A replay's life: queued → planning → building → diffing → built → swapped; or cancelled, failed, stale.
 * A plan-only replay goes planning → cancelled once planned.
 */
export const ACTIVE_REPLAY_STATUSES: readonly ReplayStatus[] = ['queued', 'planning', 'building', 'diffing'];
/** A job in one of these has ended; its shadow (if any) is dropped. */
export const ENDED_REPLAY_STATUSES: readonly ReplayStatus[] = ['swapped', 'cancelled', 'failed', 'stale'];
/** What an operator may cancel: everything that has not ended. */
export const CANCELLABLE_REPLAY_STATUSES: readonly ReplayStatus[] = ['queued', 'planning', 'building', 'diffing', 'built'];

/**
 * The revisions a replay merges with, per `<workspace>/<type>` of its entities: `revision` for the shadow,
 * `live` the one in force when it was planned (a swap refuses when that moved).
 */
export interface UsedRevisions {
  [workspaceType: string]: { revision: number; live: number };
}

/** One replay job. */
export interface ReplayJob {
  id: string;
  status: ReplayStatus;
  scope: ReplayScope;
  /** The policy revision named per entity type of the scope's workspace. */
  policyRevisions: Record<string, number>;
  reason: string;
  requestedBy: string;
  eventsPerSecond: number;
  planOnly: boolean;
  /** The live projection's consumer prefix and partition count when planned. */
  livePrefix: string | null;
  partitions: number | null;
  /** Per partition token, the last sequence live had applied when planned. */
  bounds: ReplayBounds | null;
  revisions: UsedRevisions | null;
  planSeq: number;
  planTo: number | null;
  scannedEvents: number;
  selectedEvents: number;
  affectedEntities: number;
  rebuildEvents: number | null;
  estimate: ReplayEstimate | null;
  doneEvents: number;
  buildSeq: number;
  capacity: number | null;
  resumes: number;
  phaseStartedAt: Date | null;
  phaseDoneAtStart: number;
  diffSummary: DiffSummary | null;
  diffDigest: string | null;
  swapSummary: ReplaySwapSummary | null;
  error: string | null;
  shadowDropped: boolean;
  createdAt: Date;
  updatedAt: Date;
  plannedAt: Date | null;
  builtAt: Date | null;
  finishedAt: Date | null;
}

/** What can be asked of a replay job. Every command carries the time it is decided at. */
export type ReplayCommand =
  | { kind: 'request'; at: Date; id: string; scope: ReplayScope; policyRevisions: Record<string, number>; reason: string; requestedBy: string; eventsPerSecond: number; planOnly: boolean }
  | { kind: 'start-planning'; at: Date; bounds: ReplayBounds; livePrefix: string; partitions: number; fromSeq: number; toSeq: number }
  | { kind: 'record-plan'; at: Date; lastSeq: number; scanned: number; selected: number }
  | { kind: 'finish-planning'; at: Date; affectedEntities: number; rebuildEvents: number; estimate: ReplayEstimate; revisions: UsedRevisions }
  | { kind: 'resume-build'; at: Date; done: number; buildSeq: number; resumed: boolean }
  | { kind: 'record-build'; at: Date; done: number; buildSeq: number; capacity: number | null }
  | { kind: 'finish-build'; at: Date; done: number; buildSeq: number; capacity: number | null }
  | { kind: 'finish-diff'; at: Date; summary: DiffSummary; digest: string }
  | { kind: 'swap'; at: Date; confirm: string; summary: ReplaySwapSummary }
  | { kind: 'mark-stale'; at: Date; error: string }
  | { kind: 'cancel'; at: Date }
  | { kind: 'fail'; at: Date; error: string };

/** What happened to a replay job; each names the status it leaves (`from`), the guard a store applies it under. */
export type ReplayEvent =
  | { type: 'requested'; at: Date; id: string; scope: ReplayScope; policyRevisions: Record<string, number>; reason: string; requestedBy: string; eventsPerSecond: number; planOnly: boolean }
  | { type: 'planning-started'; from: 'queued'; at: Date; bounds: ReplayBounds; livePrefix: string; partitions: number; planSeq: number; planTo: number }
  | { type: 'plan-progressed'; from: 'planning'; at: Date; planSeq: number; scanned: number; selected: number }
  | { type: 'planned'; from: 'planning'; at: Date; affectedEntities: number; rebuildEvents: number; estimate: ReplayEstimate; revisions: UsedRevisions; planOnly: boolean }
  | { type: 'build-resumed'; from: 'building'; at: Date; done: number; buildSeq: number; resumed: boolean }
  | { type: 'build-progressed'; from: 'building'; at: Date; done: number; buildSeq: number; capacity: number | null }
  | { type: 'built-shadow'; from: 'building'; at: Date; done: number; buildSeq: number; capacity: number | null }
  | { type: 'diffed'; from: 'diffing'; at: Date; summary: DiffSummary; digest: string }
  | { type: 'swapped'; from: 'built'; at: Date; summary: ReplaySwapSummary }
  | { type: 'went-stale'; from: 'built'; at: Date; error: string }
  | { type: 'cancelled'; from: ReplayStatus; at: Date }
  | { type: 'failed'; from: ReplayStatus; at: Date; error: string };

export type ReplayRefusalCode = 'already-exists' | 'not-found' | 'wrong-state' | 'confirm-mismatch';

/** Why a command was refused: an expected outcome, a value (never thrown). */
export interface ReplayRefusal {
  refused: ReplayRefusalCode;
  /** The job's status when refused (absent when there is no job). */
  status?: ReplayStatus;
  detail: string;
}

export type ReplayDecision = { events: ReplayEvent[] } | ReplayRefusal;

export const isRefusal = (decision: ReplayDecision): decision is ReplayRefusal => 'refused' in decision;

/** The status each command must find the job in (`request` needs no job). */
export const COMMAND_SOURCES: Readonly<Record<Exclude<ReplayCommand['kind'], 'request'>, readonly ReplayStatus[]>> = {
  'start-planning': ['queued'],
  'record-plan': ['planning'],
  'finish-planning': ['planning'],
  'resume-build': ['building'],
  'record-build': ['building'],
  'finish-build': ['building'],
  'finish-diff': ['diffing'],
  swap: ['built'],
  'mark-stale': ['built'],
  cancel: CANCELLABLE_REPLAY_STATUSES,
  fail: ACTIVE_REPLAY_STATUSES,
};

function assertNever(value: never): never {
  throw new Error(`unexpected replay command or event: ${JSON.stringify(value)}`);
}

const confirmMismatch = (job: ReplayJob): ReplayRefusal => ({ refused: 'confirm-mismatch', status: job.status, detail: `confirm is not the digest of replay ${job.id}'s diff` });

/**
 * Whether a swap confirmed with `confirm` may go ahead (undefined) or why not, before anything is computed:
 * the refusal `decide` gives the swap itself.
 */
export function checkSwap(job: ReplayJob | undefined, confirm: string): ReplayRefusal | undefined {
  if (!job) return { refused: 'not-found', detail: 'there is no such replay' };
  if (job.status !== 'built') return { refused: 'wrong-state', status: job.status, detail: `replay ${job.id} is ${job.status}; swap needs built` };
  return job.diffDigest === confirm ? undefined : confirmMismatch(job);
}

/**
 * Decides what a command does to a job (undefined: there is none yet). A command in a status it cannot
 * leave from is refused with `wrong-state` (e.g. cancelling a swapped job); a swap whose confirmation is not
 * the digest of the job's diff with `confirm-mismatch`.
 */
export function decide(job: ReplayJob | undefined, command: ReplayCommand): ReplayDecision {
  if (command.kind === 'request') {
    if (job) return { refused: 'already-exists', status: job.status, detail: `replay ${job.id} already exists` };
    const { kind: _kind, ...request } = command;
    return { events: [{ type: 'requested', ...request }] };
  }
  if (!job) return { refused: 'not-found', detail: 'there is no such replay' };
  const sources = COMMAND_SOURCES[command.kind];
  if (!sources.includes(job.status)) {
    return { refused: 'wrong-state', status: job.status, detail: `replay ${job.id} is ${job.status}; ${command.kind} needs ${sources.join(' or ')}` };
  }
  const at = command.at;
  switch (command.kind) {
    case 'start-planning':
      return {
        events: [
          { type: 'planning-started', from: 'queued', at, bounds: command.bounds, livePrefix: command.livePrefix, partitions: command.partitions, planSeq: command.fromSeq - 1, planTo: command.toSeq },
        ],
      };
    case 'record-plan':
      return { events: [{ type: 'plan-progressed', from: 'planning', at, planSeq: command.lastSeq, scanned: command.scanned, selected: command.selected }] };
    case 'finish-planning':
      return {
        events: [
          {
            type: 'planned',
            from: 'planning',
            at,
            affectedEntities: command.affectedEntities,
            rebuildEvents: command.rebuildEvents,
            estimate: command.estimate,
            revisions: command.revisions,
            planOnly: job.planOnly,
          },
        ],
      };
    case 'resume-build':
      return { events: [{ type: 'build-resumed', from: 'building', at, done: command.done, buildSeq: command.buildSeq, resumed: command.resumed }] };
    case 'record-build':
      return { events: [{ type: 'build-progressed', from: 'building', at, done: command.done, buildSeq: command.buildSeq, capacity: command.capacity }] };
    case 'finish-build':
      return { events: [{ type: 'built-shadow', from: 'building', at, done: command.done, buildSeq: command.buildSeq, capacity: command.capacity }] };
    case 'finish-diff':
      return { events: [{ type: 'diffed', from: 'diffing', at, summary: command.summary, digest: command.digest }] };
    case 'swap':
      if (job.diffDigest !== command.confirm) return confirmMismatch(job);
      return { events: [{ type: 'swapped', from: 'built', at, summary: command.summary }] };
    case 'mark-stale':
      return { events: [{ type: 'went-stale', from: 'built', at, error: command.error }] };
    case 'cancel':
      return { events: [{ type: 'cancelled', from: job.status, at }] };
    case 'fail':
      return { events: [{ type: 'failed', from: job.status, at, error: command.error }] };
    default:
      return assertNever(command);
  }
}

/** A new job as a request records it. */
function requested(e: Extract<ReplayEvent, { type: 'requested' }>): ReplayJob {
  return {
    id: e.id,
    status: 'queued',
    scope: e.scope,
    policyRevisions: e.policyRevisions,
    reason: e.reason,
    requestedBy: e.requestedBy,
    eventsPerSecond: e.eventsPerSecond,
    planOnly: e.planOnly,
    livePrefix: null,
    partitions: null,
    bounds: null,
    revisions: null,
    planSeq: 0,
    planTo: null,
    scannedEvents: 0,
    selectedEvents: 0,
    affectedEntities: 0,
    rebuildEvents: null,
    estimate: null,
    doneEvents: 0,
    buildSeq: 0,
    capacity: null,
    resumes: 0,
    phaseStartedAt: null,
    phaseDoneAtStart: 0,
    diffSummary: null,
    diffDigest: null,
    swapSummary: null,
    error: null,
    shadowDropped: false,
    createdAt: e.at,
    updatedAt: e.at,
    plannedAt: null,
    builtAt: null,
    finishedAt: null,
  };
}

/** Applies one event to a job (undefined before `requested`). */
export function evolve(job: ReplayJob | undefined, event: ReplayEvent): ReplayJob {
  if (event.type === 'requested') return requested(event);
  if (!job) throw new Error(`a replay event ${event.type} before the replay was requested`);
  const at = event.at;
  const next = { ...job, updatedAt: at };
  switch (event.type) {
    case 'planning-started':
      return {
        ...next,
        status: 'planning',
        bounds: event.bounds,
        livePrefix: event.livePrefix,
        partitions: event.partitions,
        planSeq: event.planSeq,
        planTo: event.planTo,
        plannedAt: at,
        phaseStartedAt: at,
        phaseDoneAtStart: 0,
      };
    case 'plan-progressed':
      return { ...next, planSeq: event.planSeq, scannedEvents: job.scannedEvents + event.scanned, selectedEvents: job.selectedEvents + event.selected };
    case 'planned': {
      const plan = { affectedEntities: event.affectedEntities, rebuildEvents: event.rebuildEvents, estimate: event.estimate, revisions: event.revisions };
      // A plan-only job ends once planned, without a shadow.
      if (event.planOnly) return { ...next, ...plan, status: 'cancelled', finishedAt: at, shadowDropped: true };
      return { ...next, ...plan, status: 'building', phaseStartedAt: at, phaseDoneAtStart: 0, doneEvents: 0 };
    }
    case 'build-resumed':
      return { ...next, phaseStartedAt: at, phaseDoneAtStart: event.done, doneEvents: event.done, buildSeq: event.buildSeq, resumes: job.resumes + (event.resumed ? 1 : 0) };
    case 'build-progressed':
      return { ...next, doneEvents: event.done, buildSeq: event.buildSeq, capacity: event.capacity ?? job.capacity };
    case 'built-shadow':
      return { ...next, status: 'diffing', doneEvents: event.done, buildSeq: event.buildSeq, capacity: event.capacity ?? job.capacity, phaseStartedAt: at, phaseDoneAtStart: 0 };
    case 'diffed':
      return { ...next, status: 'built', diffSummary: event.summary, diffDigest: event.digest, builtAt: at, rebuildEvents: job.doneEvents };
    case 'swapped':
      return { ...next, status: 'swapped', swapSummary: event.summary, finishedAt: at, shadowDropped: true };
    case 'went-stale':
      return { ...next, status: 'stale', error: event.error, finishedAt: at };
    case 'cancelled':
      return { ...next, status: 'cancelled', finishedAt: at };
    case 'failed':
      return { ...next, status: 'failed', error: event.error, finishedAt: at };
    default:
      return assertNever(event);
  }
}
