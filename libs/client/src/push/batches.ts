/** How big one push request may be. */
export interface BatchLimits {
  /** Events in one request (the server's `LIMITS.maxEventsPerBatch`, or fewer). */
  maxEvents: number;
  /** Bytes of one request body (the server's `LIMITS.maxBodyBytes`, or fewer). */
  maxBytes: number;
}

/** `{"events":[` and `]}`: what a push body adds around its events. */
export const ENVELOPE_BYTES = '{"events":[]}'.length;

/** The byte length of a push body holding events of these serialised sizes. */
export function bodyBytes(eventBytes: readonly number[]): number {
  return ENVELOPE_BYTES + eventBytes.reduce((sum, n) => sum + n, 0) + Math.max(eventBytes.length - 1, 0);
}

/**
 * Splits events (given by their serialised byte size, in send order) into consecutive batches that keep both
 * limits. Order is kept, so a device's events reach the server in sequence order. An event too big to fit any
 * body on its own still gets a batch of its own (the server refuses it and the client quarantines it).
 * Returns the batches as index ranges `[start, end)`.
 */
export function planBatches(eventBytes: readonly number[], limits: BatchLimits): Array<[number, number]> {
  if (!Number.isInteger(limits.maxEvents) || limits.maxEvents < 1) throw new RangeError(`maxEvents must be a positive integer, got ${limits.maxEvents}`);
  const batches: Array<[number, number]> = [];
  let start = 0;
  let bytes = ENVELOPE_BYTES;
  for (let i = 0; i < eventBytes.length; i++) {
    const size = eventBytes[i]!;
    const count = i - start;
    const added = size + (count > 0 ? 1 : 0);
    if (count > 0 && (count >= limits.maxEvents || bytes + added > limits.maxBytes)) {
      batches.push([start, i]);
      start = i;
      bytes = ENVELOPE_BYTES + size;
    } else {
      bytes += added;
    }
  }
  if (start < eventBytes.length) batches.push([start, eventBytes.length]);
  return batches;
}
