import { randomUUID } from 'node:crypto';
import { recordAudit, type OperatorPrincipal } from '@tidemark/auth';
import type { ReplayDiffEntity, ReplayDiffPage, ReplayJobView, ReplayStatus, ReplaySwapSummary } from '@tidemark/contracts';
import { DECLARED_REVISION, replayProgress, type DiffSummary, type ReplayEstimate, type ReplayScope } from '@tidemark/merge';
import { inTransaction, type DataSource } from '@tidemark/persistence';

/** A replay job row as ops-api reads it. */
export interface ReplayJobRow {
  id: string;
  status: ReplayStatus;
  scope: ReplayScope;
  policy_revisions: Record<string, number>;
  reason: string;
  requested_by: string;
  rate_limit: number;
  plan_only: boolean;
  live_prefix: string | null;
  bounds: Record<string, number> | null;
  revisions: Record<string, { revision: number; live: number }> | null;
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
  created_at: Date;
  updated_at: Date;
  planned_at: Date | null;
  built_at: Date | null;
  finished_at: Date | null;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** What `GET /v1/replays/:id` answers: the job, its plan, its progress (rate and ETA) and its diff summary. */
export function jobView(row: ReplayJobRow, nowMs: number): ReplayJobView {
  const total = row.rebuild_events === null ? null : Number(row.rebuild_events);
  const done = Number(row.done_events);
  const building = row.status === 'building';
  const progress = building && row.phase_started_at && total !== null ? replayProgress({ done, total, doneAtStart: Number(row.phase_done_at_start), startedAtMs: row.phase_started_at.getTime(), nowMs }) : null;
  return {
    id: row.id,
    status: row.status,
    scope: row.scope,
    policyRevisions: row.policy_revisions,
    reason: row.reason,
    requestedBy: row.requested_by,
    eventsPerSecond: row.rate_limit,
    planOnly: row.plan_only,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    plannedAt: iso(row.planned_at),
    builtAt: iso(row.built_at),
    finishedAt: iso(row.finished_at),
    plan: {
      bounds: row.bounds,
      scanned: { events: Number(row.scanned_events), lastSeq: Number(row.plan_seq), toSeq: row.plan_to === null ? null : Number(row.plan_to) },
      selectedEvents: Number(row.selected_events),
      affectedEntities: Number(row.affected_entities),
      rebuildEvents: total,
      estimate: row.estimate,
      revisions: row.revisions,
    },
    progress: {
      phase: row.status,
      eventsDone: done,
      eventsTotal: total,
      percent: progress?.percent ?? (total !== null && total > 0 ? Math.min(100, Math.floor((done / total) * 1000) / 10) : row.built_at ? 100 : 0),
      eventsPerSecond: progress?.eventsPerSecond ?? null,
      etaSeconds: progress?.etaSeconds ?? null,
      lastSeq: Number(row.build_seq),
      /** When the current phase started (or resumed), the base of the rate and ETA. */
      phaseStartedAt: iso(row.phase_started_at),
      resumes: row.resumes,
      capacityEventsPerSecond: row.capacity === null ? null : Math.round(row.capacity),
    },
    diff: row.diff_digest ? { digest: row.diff_digest, summary: row.diff_summary } : null,
    swap: row.swap_summary ?? null,
    error: row.error,
    links: { self: `/v1/replays/${row.id}`, diff: `/v1/replays/${row.id}/diff`, swap: `/v1/replays/${row.id}/swap`, cancel: `/v1/replays/${row.id}/cancel` },
  };
}

export type CreateOutcome = { kind: 'created'; row: ReplayJobRow } | { kind: 'invalid'; errors: { pointer: string; detail: string }[] };

/** The replay jobs table, as ops-api uses it: request, list, read, cancel. */
export class ReplayStore {
  constructor(private readonly ds: DataSource) {}

  /**
   * Records a replay request (audited in the same transaction) for merge-service's worker to pick up (a
   * plan-only one ends once planned). Each named revision must be published for a published type
   * (revision 1 is always there).
   */
  async create(input: { scope: ReplayScope; policyRevisions: Record<string, number>; reason: string; eventsPerSecond: number; planOnly: boolean }, actor: OperatorPrincipal): Promise<CreateOutcome> {
    return inTransaction(this.ds, async (q) => {
      const errors: { pointer: string; detail: string }[] = [];
      for (const [type, revision] of Object.entries(input.policyRevisions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        const types: unknown[] = await q.query('SELECT 1 FROM entity_schemas WHERE type = $1 LIMIT 1', [type]);
        if (types.length === 0) {
          errors.push({ pointer: `/policyRevisions/${type}`, detail: `no schema is published for entity type "${type}"` });
          continue;
        }
        if (revision === DECLARED_REVISION) continue;
        const found: unknown[] = await q.query('SELECT 1 FROM policy_revisions WHERE type = $1 AND revision = $2', [type, revision]);
        if (found.length === 0) errors.push({ pointer: `/policyRevisions/${type}`, detail: `${type} has no published policy revision ${revision} (publish it with PUT /v1/schemas/${type}/revisions/${revision} on journal-service)` });
      }
      if (errors.length > 0) return { kind: 'invalid', errors };
      const id = randomUUID();
      const rows: ReplayJobRow[] = await q.query(
        `INSERT INTO replay_jobs (id, status, scope, policy_revisions, reason, requested_by, rate_limit, plan_only) VALUES ($1, 'queued', $2, $3, $4, $5, $6, $7) RETURNING *`,
        [id, JSON.stringify(input.scope), JSON.stringify(input.policyRevisions), input.reason, actor.name, input.eventsPerSecond, input.planOnly],
      );
      await recordAudit(q, { actor, action: 'replay.request', target: { replayId: id }, reason: input.reason, detail: { scope: input.scope, policyRevisions: input.policyRevisions, eventsPerSecond: input.eventsPerSecond, planOnly: input.planOnly } });
      return { kind: 'created', row: rows[0]! };
    });
  }

  async list(status: string | undefined, limit: number): Promise<ReplayJobRow[]> {
    return this.ds.query('SELECT * FROM replay_jobs WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at DESC, id LIMIT $2', [status ?? null, limit]);
  }

  async get(id: string): Promise<ReplayJobRow | undefined> {
    const rows: ReplayJobRow[] = await this.ds.query('SELECT * FROM replay_jobs WHERE id = $1', [id]);
    return rows[0];
  }

  /** One page of the diff, in entity order (code units), filtered by change. */
  async diffPage(id: string, change: string, limit: number, after: [string, string, string] | undefined): Promise<Pick<ReplayDiffPage, 'entities' | 'next'>> {
    const changes = change === 'all' ? ['changed', 'unchanged', 'added', 'removed'] : change === 'differs' ? ['changed', 'added', 'removed'] : [change];
    const rows: { workspace: string; entity_type: string; entity_id: string; selected_events: number; change: string; diff: Omit<ReplayDiffEntity, 'workspace' | 'entityType' | 'entityId' | 'selectedEvents'> }[] = await this.ds.query(
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

  /** Cancels a replay that has not ended (audited with it); the worker stops and drops the shadow. */
  async cancel(id: string, reason: string, actor: OperatorPrincipal): Promise<{ kind: 'cancelled'; row: ReplayJobRow } | { kind: 'not-found' } | { kind: 'wrong-state'; status: string }> {
    return inTransaction(this.ds, async (q) => {
      // TypeORM answers an UPDATE with [rows, rowCount].
      const [rows]: [ReplayJobRow[], number] = await q.query(
        `UPDATE replay_jobs SET status = 'cancelled', finished_at = now(), updated_at = now()
          WHERE id = $1 AND status IN ('queued', 'planning', 'building', 'diffing', 'built') RETURNING *`,
        [id],
      );
      if (rows[0]) {
        await recordAudit(q, { actor, action: 'replay.cancel', target: { replayId: id }, reason });
        return { kind: 'cancelled', row: rows[0] };
      }
      const existing: { status: string }[] = await q.query('SELECT status FROM replay_jobs WHERE id = $1', [id]);
      return existing[0] ? { kind: 'wrong-state', status: existing[0].status } : { kind: 'not-found' };
    });
  }
}
