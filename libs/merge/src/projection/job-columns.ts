import type { EntityState } from '../state/entity-state';
import { own } from '../schema/own';

/** Longest queue name kept in the projection's `job_queue` column (longer values are cut, so an index entry stays small). */
export const QUEUE_NAME_MAX = 128;

/** The job columns of an `entities` row: what per-queue figures are counted from. */
export interface JobColumns {
  jobQueue: string | null;
  jobState: string | null;
  jobAttempt: number | null;
  jobSince: string | null;
}

const NONE: JobColumns = Object.freeze({ jobQueue: null, jobState: null, jobAttempt: null, jobSince: null });

/**
 * A live job's facts as flat columns: its queue (the value of the type's `queueBy` field when it is a string, cut to
 * `QUEUE_NAME_MAX`; null when the type declares none or the field is unset), its state and attempt, and when it
 * entered that state — the HLC wall of the accepted transition, the job's own clock rather than arrival, so a
 * rebuild gives the same row. An entity that is deleted or has never been queued has none (all null).
 */
export function jobColumnsOf(state: EntityState, queueField: string | undefined): JobColumns {
  const job = state.job;
  if (!job || state.deleted) return NONE;
  const last = job.history.at(-1);
  const field = queueField === undefined ? undefined : own(state.fields, queueField);
  const value = field && 'value' in field ? field.value : undefined;
  return {
    jobQueue: typeof value === 'string' ? value.slice(0, QUEUE_NAME_MAX) : null,
    jobState: job.state,
    jobAttempt: job.attempt,
    jobSince: last ? new Date(last.hlc.wall).toISOString() : null,
  };
}
