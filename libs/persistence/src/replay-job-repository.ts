import type { ReplayDiffEntity, ReplayDiffPage, ReplaySwapSummary } from '@tidemark/contracts';
import {
  decide,
  evolve,
  isRefusal,
  type DiffSummary,
  type ReplayBounds,
  type ReplayCommand,
  type ReplayEstimate,
  type ReplayEvent,
  type ReplayJob,
  type ReplayRefusal,
  type ReplayScope,
  type ReplayStatus,
  type UsedRevisions,
} from '@tidemark/replay';
import type { DataSource, QueryRunner } from 'typeorm';

/** Anything that runs SQL: the data source, or a query runner inside a transaction. */
export type SqlRunner = Pick<DataSource | QueryRunner, 'query'>;

/** A `replay_jobs` row as Postgres returns it (bigints as strings). */
interface ReplayJobRow {
  id: string;
  status: ReplayStatus;
  scope: ReplayScope;
  policy_revisions: Record<string, number>;
  reason: string;
  requested_by: string;
  rate_limit: number;
  plan_only: boolean;
  live_prefix: string | null;
  partitions: number | null;
  bounds: ReplayBounds | null;
  revisions: UsedRevisions | null;
  plan_seq: string;
  plan_to: string | null;
  scanned_events: string;
  selected_events: string;
  affected_entities: string;
  rebuild_events: string | null;
  estimate: ReplayEstimate | null;
  done_events: string;
  build_seq: string;
  capacity: number | null;
  resumes: number;
  phase_started_at: Date | null;
  phase_done_at_start: string;
  diff_summary: DiffSummary | null;
  diff_digest: string | null;
  swap_summary: ReplaySwapSummary | null;
  error: string | null;
  shadow_dropped: boolean;
  created_at: Date;
  updated_at: Date;
  planned_at: Date | null;
  built_at: Date | null;
  finished_at: Date | null;
}

const num = (v: string | null): number | null => (v === null ? null : Number(v));

function toJob(r: ReplayJobRow): ReplayJob {
  return {
    id: r.id,
    status: r.status,
    scope: r.scope,
    policyRevisions: r.policy_revisions,
    reason: r.reason,
    requestedBy: r.requested_by,
    eventsPerSecond: r.rate_limit,
    planOnly: r.plan_only,
    livePrefix: r.live_prefix,
    partitions: r.partitions,
    bounds: r.bounds,
    revisions: r.revisions,
    planSeq: Number(r.plan_seq),
    planTo: num(r.plan_to),
    scannedEvents: Number(r.scanned_events),
    selectedEvents: Number(r.selected_events),
    affectedEntities: Number(r.affected_entities),
    rebuildEvents: num(r.rebuild_events),
    estimate: r.estimate,
    doneEvents: Number(r.done_events),
    buildSeq: Number(r.build_seq),
    capacity: r.capacity,
    resumes: r.resumes,
    phaseStartedAt: r.phase_started_at,
    phaseDoneAtStart: Number(r.phase_done_at_start),
    diffSummary: r.diff_summary,
    diffDigest: r.diff_digest,
    swapSummary: r.swap_summary,
    error: r.error,
    shadowDropped: r.shadow_dropped,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    plannedAt: r.planned_at,
    builtAt: r.built_at,
    finishedAt: r.finished_at,
  };
}

/**
 * An event's effect on its row: the SET clause (`$1` is the id, `$2` the status it leaves) and its
 * parameters from `$3`. Times are the database's (`now()`), as the job's clock.
 */
function effect(event: Exclude<ReplayEvent, { type: 'requested' }>): { set: string; params: unknown[] } {
  switch (event.type) {
    case 'planning-started':
      return {
        set: "status = 'planning', bounds = $3, live_prefix = $4, partitions = $5, plan_seq = $6, plan_to = $7, planned_at = now(), phase_started_at = now(), phase_done_at_start = 0",
        params: [JSON.stringify(event.bounds), event.livePrefix, event.partitions, event.planSeq, event.planTo],
      };
    case 'plan-progressed':
      return { set: 'plan_seq = $3, scanned_events = scanned_events + $4, selected_events = selected_events + $5', params: [event.planSeq, event.scanned, event.selected] };
    case 'planned': {
      const planned = 'affected_entities = $3, rebuild_events = $4, estimate = $5, revisions = $6';
      const params = [event.affectedEntities, event.rebuildEvents, JSON.stringify(event.estimate), JSON.stringify(event.revisions)];
      if (event.planOnly) return { set: `status = 'cancelled', ${planned}, finished_at = now(), shadow_dropped = true`, params };
      return { set: `status = 'building', ${planned}, phase_started_at = now(), phase_done_at_start = 0, done_events = 0`, params };
    }
    case 'build-resumed':
      return { set: 'phase_started_at = now(), phase_done_at_start = $3, done_events = $3, build_seq = $4, resumes = resumes + $5', params: [event.done, event.buildSeq, event.resumed ? 1 : 0] };
    case 'build-progressed':
      return { set: 'done_events = $3, build_seq = $4, capacity = coalesce($5, capacity)', params: [event.done, event.buildSeq, event.capacity] };
    case 'built-shadow':
      return {
        set: "status = 'diffing', done_events = $3, build_seq = $4, capacity = coalesce($5, capacity), phase_started_at = now(), phase_done_at_start = 0",
        params: [event.done, event.buildSeq, event.capacity],
      };
    case 'diffed':
      return { set: "status = 'built', diff_summary = $3, diff_digest = $4, built_at = now(), rebuild_events = done_events", params: [JSON.stringify(event.summary), event.digest] };
    case 'swapped':
      return { set: "status = 'swapped', swap_summary = $3, finished_at = now(), shadow_dropped = true", params: [JSON.stringify(event.summary)] };
    case 'went-stale':
      return { set: "status = 'stale', error = $3, finished_at = now()", params: [event.error] };
    case 'cancelled':
      return { set: "status = 'cancelled', finished_at = now()", params: [] };
    case 'failed':
      return { set: "status = 'failed', error = $3, finished_at = now()", params: [event.error] };
    default: {
      const never: never = event;
      throw new Error(`unexpected replay event ${JSON.stringify(never)}`);
    }
  }
}

export type ReplayTransition = { kind: 'applied'; job: ReplayJob; events: ReplayEvent[] } | ({ kind: 'refused' } & ReplayRefusal);

/** The most times a transition is re-decided when the job moved between its read and its guarded update. */
const TRANSITION_ATTEMPTS = 5;

/**
 * Replay jobs (`replay_jobs`) and what they found (`replay_entities`), as both ops-api and merge-service's
 * replay worker use them. Status changes are decided by `@tidemark/replay`'s decider and applied here under
 * an optimistic guard (`WHERE status = <the status the decision was made in>`), so a transition decided on a
 * job that moved in between (an operator's cancel during a build) changes nothing.
 */
export class ReplayJobRepository {
  constructor(private readonly ds: DataSource) {}

  /** Records a requested job (in `q`'s transaction). */
  async create(q: SqlRunner, command: Extract<ReplayCommand, { kind: 'request' }>): Promise<ReplayJob> {
    const decision = decide(undefined, command);
    if (isRefusal(decision)) throw new Error(decision.detail);
    const job = decision.events.reduce<ReplayJob | undefined>(evolve, undefined)!;
    const rows: ReplayJobRow[] = await q.query(
      `INSERT INTO replay_jobs (id, status, scope, policy_revisions, reason, requested_by, rate_limit, plan_only) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [job.id, job.status, JSON.stringify(job.scope), JSON.stringify(job.policyRevisions), job.reason, job.requestedBy, job.eventsPerSecond, job.planOnly],
    );
    return toJob(rows[0]!);
  }

  async get(id: string, q: SqlRunner = this.ds): Promise<ReplayJob | undefined> {
    const rows: ReplayJobRow[] = await q.query('SELECT * FROM replay_jobs WHERE id = $1', [id]);
    return rows[0] ? toJob(rows[0]) : undefined;
  }

  /** The job, its row locked until `q`'s transaction ends. */
  async lock(q: SqlRunner, id: string): Promise<ReplayJob | undefined> {
    const rows: ReplayJobRow[] = await q.query('SELECT * FROM replay_jobs WHERE id = $1 FOR UPDATE', [id]);
    return rows[0] ? toJob(rows[0]) : undefined;
  }

  /** Newest first, optionally of one status. */
  async list(status: string | undefined, limit: number): Promise<ReplayJob[]> {
    const rows: ReplayJobRow[] = await this.ds.query('SELECT * FROM replay_jobs WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at DESC, id LIMIT $2', [status ?? null, limit]);
    return rows.map(toJob);
  }

  /** The oldest job in one of `statuses`. */
  async oldestIn(statuses: readonly ReplayStatus[]): Promise<ReplayJob | undefined> {
    const rows: ReplayJobRow[] = await this.ds.query(`SELECT * FROM replay_jobs WHERE status = ANY($1::text[]) ORDER BY created_at, id LIMIT 1`, [statuses]);
    return rows[0] ? toJob(rows[0]) : undefined;
  }

  /** Jobs in one of `statuses` whose shadow has not been dropped yet. */
  async withShadowIn(statuses: readonly ReplayStatus[]): Promise<string[]> {
    const rows: { id: string }[] = await this.ds.query('SELECT id FROM replay_jobs WHERE status = ANY($1::text[]) AND NOT shadow_dropped', [statuses]);
    return rows.map((r) => r.id);
  }

  async markShadowDropped(id: string): Promise<void> {
    await this.ds.query('UPDATE replay_jobs SET shadow_dropped = true WHERE id = $1', [id]);
  }

  /** What finished replays measured, end to end (planning started → built), most recent first (at most 200). */
  async measuredRuns(): Promise<{ workspace: string | undefined; events: number; seconds: number; rateLimit: number }[]> {
    const rows: { workspace: string | null; events: string; seconds: number; rate_limit: number }[] = await this.ds.query(
      `SELECT scope->>'workspace' AS workspace, rebuild_events AS events, extract(epoch FROM built_at - planned_at)::float8 AS seconds, rate_limit
         FROM replay_jobs WHERE status IN ('built', 'swapped', 'stale') AND built_at IS NOT NULL AND planned_at IS NOT NULL AND rebuild_events > 0
        ORDER BY built_at DESC LIMIT 200`,
    );
    return rows.map((h) => ({ workspace: h.workspace ?? undefined, events: Number(h.events), seconds: Number(h.seconds), rateLimit: Number(h.rate_limit) }));
  }

  /**
   * Applies a decided event to its job, only if the job is still in the status the event leaves; the job as
   * it is now, or undefined when it moved (nothing changed).
   */
  async apply(q: SqlRunner, id: string, event: ReplayEvent): Promise<ReplayJob | undefined> {
    if (event.type === 'requested') throw new Error('a requested job is recorded with create');
    const { set, params } = effect(event);
    // TypeORM answers an UPDATE with [rows, rowCount].
    const [rows] = (await q.query(`UPDATE replay_jobs SET ${set}, updated_at = now() WHERE id = $1 AND status = $2 RETURNING *`, [id, event.from, ...params])) as [ReplayJobRow[], number];
    return rows[0] ? toJob(rows[0]) : undefined;
  }

  /**
   * Decides `command` on the job as the caller last saw it and applies the events under a guard on that
   * status: the job as it is now, or undefined when the command was refused or the job moved in between
   * (an operator's cancel wins; nothing changed).
   */
  async advance(q: SqlRunner, job: ReplayJob, command: ReplayCommand): Promise<ReplayJob | undefined> {
    const decision = decide(job, command);
    if (isRefusal(decision)) return undefined;
    let now: ReplayJob | undefined = job;
    for (const event of decision.events) now = now && (await this.apply(q, job.id, event));
    return now;
  }

  /**
   * Decides `command` on the job as it is (read through `q`) and applies the events; decided again when the
   * job moved in between. A refusal changes nothing.
   */
  async transition(q: SqlRunner, id: string, command: ReplayCommand): Promise<ReplayTransition> {
    for (let attempt = 1; ; attempt++) {
      const job = await this.get(id, q);
      const decision = decide(job, command);
      if (isRefusal(decision)) return { kind: 'refused', ...decision };
      let now: ReplayJob | undefined = job;
      for (const event of decision.events) now = now && (await this.apply(q, id, event));
      if (now) return { kind: 'applied', job: now, events: decision.events };
      if (attempt >= TRANSITION_ATTEMPTS) throw new Error(`replay ${id} kept moving while ${command.kind} was applied`);
    }
  }

  /** Whether a schema is published for an entity type. */
  async typePublished(q: SqlRunner, type: string): Promise<boolean> {
    const rows: unknown[] = await q.query('SELECT 1 FROM entity_schemas WHERE type = $1 LIMIT 1', [type]);
    return rows.length > 0;
  }

  /** Whether a policy revision of an entity type is published. */
  async revisionPublished(q: SqlRunner, type: string, revision: number): Promise<boolean> {
    const rows: unknown[] = await q.query('SELECT 1 FROM policy_revisions WHERE type = $1 AND revision = $2', [type, revision]);
    return rows.length > 0;
  }

  /** One page of a job's diff, in entity order (code units), of the given changes. */
  async diffPage(id: string, changes: readonly string[], limit: number, after: [string, string, string] | undefined): Promise<Pick<ReplayDiffPage, 'entities' | 'next'>> {
    const rows: {
      workspace: string;
      entity_type: string;
      entity_id: string;
      selected_events: number;
      change: string;
      diff: Omit<ReplayDiffEntity, 'workspace' | 'entityType' | 'entityId' | 'selectedEvents'>;
    }[] = await this.ds.query(
      `SELECT workspace, entity_type, entity_id, selected_events, change, diff FROM replay_entities
        WHERE replay_id = $1 AND change = ANY($2::text[])
          AND ($3::text IS NULL OR (workspace COLLATE "C", entity_type COLLATE "C", entity_id COLLATE "C") > ($3::text COLLATE "C", $4::text COLLATE "C", $5::text COLLATE "C"))
        ORDER BY workspace COLLATE "C", entity_type COLLATE "C", entity_id COLLATE "C" LIMIT $6`,
      [id, changes, after?.[0] ?? null, after?.[1] ?? null, after?.[2] ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      entities: page.map((r) => ({ workspace: r.workspace, entityType: r.entity_type, entityId: r.entity_id, selectedEvents: r.selected_events, ...r.diff })),
      next: rows.length > limit && last ? Buffer.from(JSON.stringify([last.workspace, last.entity_type, last.entity_id])).toString('base64url') : null,
    };
  }
}
