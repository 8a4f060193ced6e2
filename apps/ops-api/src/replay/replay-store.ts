import { randomUUID } from 'node:crypto';
import { recordAudit, type OperatorPrincipal } from '@tidemark/auth';
import type { ReplayDiffPage, ReplayJobView } from '@tidemark/contracts';
import { DECLARED_REVISION } from '@tidemark/merge';
import { ReplayJobRepository, ReplaySwapRepository, inTransaction, type DataSource } from '@tidemark/persistence';
import { replayProgress, type ReplayJob, type ReplayScope } from '@tidemark/replay';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** What `GET /v1/replays/:id` answers: the job, its plan, its progress (rate and ETA) and its diff summary. */
export function jobView(job: ReplayJob, nowMs: number): ReplayJobView {
  const total = job.rebuildEvents;
  const done = job.doneEvents;
  const building = job.status === 'building';
  const progress = building && job.phaseStartedAt && total !== null ? replayProgress({ done, total, doneAtStart: job.phaseDoneAtStart, startedAtMs: job.phaseStartedAt.getTime(), nowMs }) : null;
  return {
    id: job.id,
    status: job.status,
    scope: job.scope,
    policyRevisions: job.policyRevisions,
    reason: job.reason,
    requestedBy: job.requestedBy,
    eventsPerSecond: job.eventsPerSecond,
    planOnly: job.planOnly,
    createdAt: iso(job.createdAt),
    updatedAt: iso(job.updatedAt),
    plannedAt: iso(job.plannedAt),
    builtAt: iso(job.builtAt),
    finishedAt: iso(job.finishedAt),
    plan: {
      bounds: job.bounds,
      scanned: { events: job.scannedEvents, lastSeq: job.planSeq, toSeq: job.planTo },
      selectedEvents: job.selectedEvents,
      affectedEntities: job.affectedEntities,
      rebuildEvents: total,
      estimate: job.estimate,
      revisions: job.revisions,
    },
    progress: {
      phase: job.status,
      eventsDone: done,
      eventsTotal: total,
      percent: progress?.percent ?? (total !== null && total > 0 ? Math.min(100, Math.floor((done / total) * 1000) / 10) : job.builtAt ? 100 : 0),
      eventsPerSecond: progress?.eventsPerSecond ?? null,
      etaSeconds: progress?.etaSeconds ?? null,
      lastSeq: job.buildSeq,
      /** When the current phase started (or resumed), the base of the rate and ETA. */
      phaseStartedAt: iso(job.phaseStartedAt),
      resumes: job.resumes,
      capacityEventsPerSecond: job.capacity === null ? null : Math.round(job.capacity),
    },
    diff: job.diffDigest ? { digest: job.diffDigest, summary: job.diffSummary } : null,
    swap: job.swapSummary ?? null,
    error: job.error,
    links: { self: `/v1/replays/${job.id}`, diff: `/v1/replays/${job.id}/diff`, swap: `/v1/replays/${job.id}/swap`, cancel: `/v1/replays/${job.id}/cancel` },
  };
}

export type CreateOutcome = { kind: 'created'; job: ReplayJob } | { kind: 'invalid'; errors: { pointer: string; detail: string }[] };

/** Replay jobs as ops-api uses them: request, list, read, cancel (through the shared replay jobs repository). */
export class ReplayStore {
  readonly jobs: ReplayJobRepository;
  readonly swaps: ReplaySwapRepository;

  constructor(private readonly ds: DataSource) {
    this.jobs = new ReplayJobRepository(ds);
    this.swaps = new ReplaySwapRepository(ds);
  }

  /**
   * Records a replay request (audited in the same transaction) for merge-service's worker to pick up (a
   * plan-only one ends once planned). Each named revision must be published for a published type
   * (revision 1 is always there).
   */
  async create(input: { scope: ReplayScope; policyRevisions: Record<string, number>; reason: string; eventsPerSecond: number; planOnly: boolean }, actor: OperatorPrincipal): Promise<CreateOutcome> {
    return inTransaction(this.ds, async (q) => {
      const errors: { pointer: string; detail: string }[] = [];
      for (const [type, revision] of Object.entries(input.policyRevisions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (!(await this.jobs.typePublished(q, type))) {
          errors.push({ pointer: `/policyRevisions/${type}`, detail: `no schema is published for entity type "${type}"` });
          continue;
        }
        if (revision === DECLARED_REVISION) continue;
        if (!(await this.jobs.revisionPublished(q, type, revision)))
          errors.push({
            pointer: `/policyRevisions/${type}`,
            detail: `${type} has no published policy revision ${revision} (publish it with PUT /v1/schemas/${type}/revisions/${revision} on journal-service)`,
          });
      }
      if (errors.length > 0) return { kind: 'invalid', errors };
      const id = randomUUID();
      const job = await this.jobs.create(q, {
        kind: 'request',
        at: new Date(),
        id,
        scope: input.scope,
        policyRevisions: input.policyRevisions,
        reason: input.reason,
        requestedBy: actor.name,
        eventsPerSecond: input.eventsPerSecond,
        planOnly: input.planOnly,
      });
      await recordAudit(q, {
        actor,
        action: 'replay.request',
        target: { replayId: id },
        reason: input.reason,
        detail: { scope: input.scope, policyRevisions: input.policyRevisions, eventsPerSecond: input.eventsPerSecond, planOnly: input.planOnly },
      });
      return { kind: 'created', job };
    });
  }

  async list(status: string | undefined, limit: number): Promise<ReplayJob[]> {
    return this.jobs.list(status, limit);
  }

  async get(id: string): Promise<ReplayJob | undefined> {
    return this.jobs.get(id);
  }

  /** One page of the diff, in entity order (code units), filtered by change. */
  async diffPage(id: string, change: string, limit: number, after: [string, string, string] | undefined): Promise<Pick<ReplayDiffPage, 'entities' | 'next'>> {
    const changes = change === 'all' ? ['changed', 'unchanged', 'added', 'removed'] : change === 'differs' ? ['changed', 'added', 'removed'] : [change];
    return this.jobs.diffPage(id, changes, limit, after);
  }

  /** Cancels a replay that has not ended (audited with it); the worker stops and drops the shadow. */
  async cancel(id: string, reason: string, actor: OperatorPrincipal): Promise<{ kind: 'cancelled'; job: ReplayJob } | { kind: 'not-found' } | { kind: 'wrong-state'; status: string }> {
    return inTransaction(this.ds, async (q) => {
      const outcome = await this.jobs.transition(q, id, { kind: 'cancel', at: new Date() });
      if (outcome.kind === 'applied') {
        await recordAudit(q, { actor, action: 'replay.cancel', target: { replayId: id }, reason });
        return { kind: 'cancelled', job: outcome.job };
      }
      return outcome.refused === 'not-found' ? { kind: 'not-found' } : { kind: 'wrong-state', status: outcome.status ?? 'unknown' };
    });
  }
}
