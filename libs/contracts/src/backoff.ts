/** An exponential backoff: how long to wait before a retry. */
export interface Backoff {
  /** The wait before the first retry, in milliseconds. */
  baseMs: number;
  /** The longest wait, in milliseconds. */
  maxMs: number;
}

/**
 * The wait before retry number `retry` (1 = the first retry): `baseMs`, doubling with each retry, never above
 * `maxMs`. The one backoff of every retry loop of the services (publishing, the consumer's batches, the projector's
 * one-by-one commits): what differs between them is their `Backoff`, not the formula.
 */
export function backoffDelay(retry: number, backoff: Backoff): number {
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(Math.max(retry, 1) - 1, 30));
}
