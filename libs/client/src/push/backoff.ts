/** When to try again after a failed push or pull. */
export interface RetryPolicy {
  /** Ceiling of the first delay, in milliseconds. Default 250. */
  initialDelayMs: number;
  /** Largest ceiling, in milliseconds. Default 30 000. */
  maxDelayMs: number;
  /** Growth of the ceiling per attempt. Default 2. */
  multiplier: number;
  /** Attempts of one request before `push()`/`pull()` give up and throw (the background loop then tries again later). Default 6. */
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { initialDelayMs: 250, maxDelayMs: 30_000, multiplier: 2, maxAttempts: 6 };

/**
 * Exponential backoff with "equal jitter": after the `failures`-th failure in a row (1, 2, …) the ceiling is
 * `min(maxDelayMs, initialDelayMs · multiplier^(failures-1))` and the delay is uniform in `[ceiling/2, ceiling]`.
 * Half the ceiling is kept so retries never hot-loop; the random half spreads devices that all reconnect at once.
 * `random` is a source like `Math.random` (uniform in [0, 1)), injected so tests see exact schedules.
 * A server's `Retry-After` (milliseconds) raises the delay to at least that, capped at `maxDelayMs`.
 */
export function backoffDelay(failures: number, policy: RetryPolicy, random: () => number, retryAfterMs?: number): number {
  if (!Number.isInteger(failures) || failures < 1) throw new RangeError(`failures must be a positive integer, got ${failures}`);
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (failures - 1));
  const r = Math.min(Math.max(random(), 0), 1);
  const delay = Math.round(ceiling / 2 + (r * ceiling) / 2);
  return retryAfterMs !== undefined && retryAfterMs > delay ? Math.min(retryAfterMs, policy.maxDelayMs) : delay;
}

/** Parses an HTTP `Retry-After` (seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(at - now, 0);
}
