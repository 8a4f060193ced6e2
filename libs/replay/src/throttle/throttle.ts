// Replay throttling and progress: how fast a rebuild may go and how far it is. Time is an input.

/** Progress of a running phase: share done, rate since the phase (re)started, and time left at that rate. */
export function replayProgress(p: { done: number; total: number; doneAtStart: number; startedAtMs: number; nowMs: number }): {
  percent: number;
  eventsPerSecond: number | null;
  etaSeconds: number | null;
} {
  const percent = p.total > 0 ? Math.min(100, Math.floor((p.done / p.total) * 1000) / 10) : p.done > 0 ? 100 : 0;
  const seconds = (p.nowMs - p.startedAtMs) / 1000;
  const rate = seconds > 0 && p.done > p.doneAtStart ? (p.done - p.doneAtStart) / seconds : null;
  const left = Math.max(0, p.total - p.done);
  return { percent, eventsPerSecond: rate === null ? null : Math.round(rate * 10) / 10, etaSeconds: rate === null ? null : Math.ceil(left / rate) };
}

/**
 * Milliseconds to wait before the next batch so that the events done since `startedAtMs` do not exceed
 * `eventsPerSecond` on average.
 */
export function throttleDelay(p: { doneSinceStart: number; startedAtMs: number; nowMs: number; eventsPerSecond: number }): number {
  const due = p.startedAtMs + (p.doneSinceStart / p.eventsPerSecond) * 1000;
  return Math.max(0, Math.ceil(due - p.nowMs));
}

/**
 * The most events a rebuild commits in one batch: a shadow batch writes no change log, outbox or device
 * progress, so a large one is cheap to hold, and fewer statements per event is what a rebuild gains most from.
 */
export const MAX_REBUILD_BATCH = 1000;

/** Events per batch for a rate limit: about half a second of work, between 1 and {@link MAX_REBUILD_BATCH}. */
export function batchSizeFor(eventsPerSecond: number): number {
  return Math.max(1, Math.min(MAX_REBUILD_BATCH, Math.floor(eventsPerSecond / 2)));
}
