import type { QueueJobState, QueuesView, QueueView } from '@tidemark/contracts';
import { ageSeconds, isoOrNull, toMillis, type Instant } from './time';

/** The jobs of one queue in one state, as the projection counts them. */
export interface QueueStateFacts {
  workspace: string;
  queue: string | null;
  state: QueueJobState;
  jobs: number;
  /** Attempts beyond the first, summed over these jobs. */
  retries: number;
  /** When the earliest of these jobs entered the state (the job's own clock). */
  oldestSince: Instant | null;
}

/** Open repairs of one queue's jobs. */
export interface QueueRepairFacts {
  workspace: string;
  queue: string | null;
  open: number;
}

export interface QueuePolicy {
  /** A queue falls behind when its oldest queued job has waited longer than this. */
  waitThresholdSeconds: number;
}

/** The rule `assessQueues` applies, in words (it goes into the view so a reader need not look it up). */
export function queueRule(policy: QueuePolicy): string {
  return `a queue falls behind when its oldest queued job has waited more than ${policy.waitThresholdSeconds} s (measured from the job's own stamp of its transition to queued)`;
}

const key = (workspace: string, queue: string | null) => `${workspace}\u0000${queue ?? ''}\u0000${queue === null ? 0 : 1}`;

/** Queues with no name sort after named ones; otherwise code-unit order. */
function compareQueue(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

/**
 * Per queue: jobs queued, running, retrying and failed, retries, open repairs, the oldest queued job's age, and
 * whether the queue falls behind (`waiting`: its oldest queued job has waited more than `waitThresholdSeconds`).
 * Ages are measured from the job's own stamp and never negative. Sorted falling behind first, then longest
 * waiting, then workspace and queue (no queue last). Pure: `now` is an argument.
 */
export function assessQueues(states: readonly QueueStateFacts[], repairs: readonly QueueRepairFacts[], now: Instant, policy: QueuePolicy): QueueView[] {
  const queues = new Map<string, QueueView & { oldestMs: number | null }>();
  const at = (workspace: string, queue: string | null) => {
    const k = key(workspace, queue);
    let q = queues.get(k);
    if (!q) {
      q = {
        workspace,
        queue,
        queued: 0,
        running: 0,
        retrying: 0,
        failed: 0,
        retries: 0,
        repairsOpen: 0,
        oldestQueuedAt: null,
        oldestQueuedSeconds: null,
        fallingBehind: false,
        reasons: [],
        oldestMs: null,
      };
      queues.set(k, q);
    }
    return q;
  };
  for (const s of states) {
    const q = at(s.workspace, s.queue);
    q[s.state] += s.jobs;
    q.retries += s.retries;
    if (s.state === 'queued' && s.oldestSince !== null && s.jobs > 0) {
      const ms = toMillis(s.oldestSince);
      if (q.oldestMs === null || ms < q.oldestMs) q.oldestMs = ms;
    }
  }
  for (const r of repairs) at(r.workspace, r.queue).repairsOpen += r.open;
  const views = [...queues.values()].map(({ oldestMs, ...q }): QueueView => {
    if (oldestMs === null) return q;
    const waited = ageSeconds(now, oldestMs);
    const fallingBehind = waited > policy.waitThresholdSeconds;
    return {
      ...q,
      oldestQueuedAt: isoOrNull(oldestMs),
      oldestQueuedSeconds: waited,
      fallingBehind,
      reasons: fallingBehind ? [{ code: 'waiting', detail: `the oldest queued job has waited ${Math.floor(waited)} s (more than ${policy.waitThresholdSeconds} s)` }] : [],
    };
  });
  return views.sort(
    (a, b) =>
      Number(b.fallingBehind) - Number(a.fallingBehind) ||
      (b.oldestQueuedSeconds ?? -1) - (a.oldestQueuedSeconds ?? -1) ||
      (a.workspace < b.workspace ? -1 : a.workspace > b.workspace ? 1 : 0) ||
      compareQueue(a.queue, b.queue),
  );
}

/** Sums of the queues' counts, and how many there are and fall behind; the oldest queued age is the largest. */
export function queueTotals(queues: readonly QueueView[]): QueuesView['total'] {
  const total: QueuesView['total'] = { queues: queues.length, fallingBehind: 0, queued: 0, running: 0, retrying: 0, failed: 0, retries: 0, repairsOpen: 0, oldestQueuedSeconds: null };
  for (const q of queues) {
    total.fallingBehind += Number(q.fallingBehind);
    for (const k of ['queued', 'running', 'retrying', 'failed', 'retries', 'repairsOpen'] as const) total[k] += q[k];
    if (q.oldestQueuedSeconds !== null) total.oldestQueuedSeconds = Math.max(total.oldestQueuedSeconds ?? 0, q.oldestQueuedSeconds);
  }
  return total;
}

/** One gauge series of a queue: its label values and its figures. */
export interface QueueSeries {
  workspace: string;
  queue: string;
  queued: number;
  running: number;
  retrying: number;
  failed: number;
  retries: number;
  repairsOpen: number;
  oldestQueuedSeconds: number;
  /** 1 when the queue falls behind; for the `other` series, how many of the queues summed into it do. */
  fallingBehind: number;
}

/**
 * Bounds the label values of the queue gauges: the `max` queues with the most jobs waiting (queued + retrying),
 * then most failed, then falling behind, keep their own series; the rest are summed into one series labelled
 * `other` (its oldest age is the largest of them, its `fallingBehind` how many of them fall behind). A queue without
 * a name is labelled `none`. So every queue gauge has at most `max + 1` series per label set, whatever queue names
 * devices write.
 */
export function queueSeries(queues: readonly QueueView[], max: number, labels: { other: string; none: string }): QueueSeries[] {
  const series = queues.map((q): QueueSeries => ({
    workspace: q.workspace,
    queue: q.queue ?? labels.none,
    queued: q.queued,
    running: q.running,
    retrying: q.retrying,
    failed: q.failed,
    retries: q.retries,
    repairsOpen: q.repairsOpen,
    oldestQueuedSeconds: q.oldestQueuedSeconds ?? 0,
    fallingBehind: Number(q.fallingBehind),
  }));
  const waiting = (s: QueueSeries) => s.queued + s.retrying;
  series.sort(
    (a, b) =>
      waiting(b) - waiting(a) ||
      b.failed - a.failed ||
      b.fallingBehind - a.fallingBehind ||
      (a.workspace < b.workspace ? -1 : a.workspace > b.workspace ? 1 : 0) ||
      (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0),
  );
  if (series.length <= max) return series;
  const rest = series.slice(max);
  const other: QueueSeries = { workspace: labels.other, queue: labels.other, queued: 0, running: 0, retrying: 0, failed: 0, retries: 0, repairsOpen: 0, oldestQueuedSeconds: 0, fallingBehind: 0 };
  for (const s of rest) {
    for (const k of ['queued', 'running', 'retrying', 'failed', 'retries', 'repairsOpen', 'fallingBehind'] as const) other[k] += s[k];
    other.oldestQueuedSeconds = Math.max(other.oldestQueuedSeconds, s.oldestQueuedSeconds);
  }
  return [...series.slice(0, max), other];
}
