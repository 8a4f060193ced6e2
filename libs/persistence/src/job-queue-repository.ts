import type { Sql } from './sql';

/** The job states the per-queue figures count (the partial index `entities_job_queue` holds exactly these). */
const COUNTED = "('queued', 'running', 'retrying', 'failed')";

/** The jobs of one queue in one state. */
export interface QueueStateRow {
  workspace: string;
  /** null: a job type declaring no queue, or the field unset. */
  queue: string | null;
  state: 'queued' | 'running' | 'retrying' | 'failed';
  jobs: number;
  /** Attempts beyond the first, summed. */
  retries: number;
  /** When the earliest of them entered the state (the job's own stamp). */
  oldestSince: Date | null;
}

/** Open repairs of one queue's jobs. */
export interface QueueRepairRow {
  workspace: string;
  queue: string | null;
  open: number;
}

/**
 * Per-queue figures from the projection: the `entities` rows of live jobs carry their queue, state, attempt and
 * since (written by merge-service with the row). Finished jobs (succeeded, cancelled) and deleted ones are not
 * read: the counts are an index-only range of `entities_job_queue`, whose predicate is the states counted, so
 * they cost the jobs waiting, working or failed, not every job ever run.
 */
export class JobQueueRepository {
  constructor(private readonly sql: Sql) {}

  /** Jobs per (workspace, queue, state), every workspace when `workspace` is null. */
  async states(workspace: string | null): Promise<QueueStateRow[]> {
    const rows = (await this.sql.query(
      `SELECT workspace, job_queue, job_state, count(*) AS jobs, coalesce(sum(job_attempt - 1), 0) AS retries, min(job_since) AS oldest_since
         FROM entities
        WHERE job_state IN ${COUNTED} AND ($1::text IS NULL OR workspace = $1)
        GROUP BY workspace, job_queue, job_state
        ORDER BY workspace, job_queue NULLS LAST, job_state`,
      [workspace],
    )) as { workspace: string; job_queue: string | null; job_state: QueueStateRow['state']; jobs: string; retries: string; oldest_since: Date | null }[];
    return rows.map((r) => ({ workspace: r.workspace, queue: r.job_queue, state: r.job_state, jobs: Number(r.jobs), retries: Number(r.retries), oldestSince: r.oldest_since }));
  }

  /**
   * Open repairs per (workspace, queue) of the job they were reported for (the repair's entity as it stands now;
   * a repair of a job since deleted counts under no queue).
   */
  async openRepairs(workspace: string | null): Promise<QueueRepairRow[]> {
    const rows = (await this.sql.query(
      `SELECT r.workspace, e.job_queue, count(*) AS open
         FROM repairs r
         LEFT JOIN entities e ON e.workspace = r.workspace AND e.entity_type = r.entity_type AND e.entity_id = r.entity_id
        WHERE r.status = 'open' AND ($1::text IS NULL OR r.workspace = $1)
        GROUP BY r.workspace, e.job_queue
        ORDER BY r.workspace, e.job_queue NULLS LAST`,
      [workspace],
    )) as { workspace: string; job_queue: string | null; open: string }[];
    return rows.map((r) => ({ workspace: r.workspace, queue: r.job_queue, open: Number(r.open) }));
  }
}
