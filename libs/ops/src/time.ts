/**
 * Time helpers for operator views. The clock is an input everywhere (`now`): the same observation gives
 * the same answer, which is what the unit tests rely on.
 */

/** A time the views accept: a Date, an ISO string, or epoch milliseconds. */
export type Instant = Date | string | number;

export function toMillis(at: Instant): number {
  const ms = at instanceof Date ? at.getTime() : typeof at === 'number' ? at : Date.parse(at);
  if (Number.isNaN(ms)) throw new RangeError(`not a time: ${String(at)}`);
  return ms;
}

/** ISO-8601 with milliseconds, or null for no time. */
export function isoOrNull(at: Instant | null | undefined): string | null {
  return at === null || at === undefined ? null : new Date(toMillis(at)).toISOString();
}

/**
 * Seconds from `at` to `now`, to the millisecond, never negative (a clock a little ahead of ours is
 * "just now", not the future); 0 when there is no `at`.
 */
export function ageSeconds(now: Instant, at: Instant | null | undefined): number {
  if (at === null || at === undefined) return 0;
  return roundSeconds(Math.max(0, toMillis(now) - toMillis(at)) / 1000);
}

/** Seconds rounded to milliseconds, so answers stay short and stable. */
export function roundSeconds(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/** The later of two optional times (ISO), or null when both are absent. */
export function latest(a: Instant | null | undefined, b: Instant | null | undefined): string | null {
  if (a === null || a === undefined) return isoOrNull(b);
  if (b === null || b === undefined) return isoOrNull(a);
  return isoOrNull(toMillis(a) >= toMillis(b) ? a : b);
}
