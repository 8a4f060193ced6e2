/**
 * Per-device sequencing, as a pure function: given what is recorded for a device and the sequence numbers
 * of its events just journaled, the new record. It depends only on the SET of sequences seen, so the
 * result is the same whatever order partitions commit in (a device's events span partitions).
 */
export interface DeviceSequence {
  /** Highest N with every sequence 1..N seen. */
  contiguous: number;
  maxSeq: number;
  /** Sequences seen above `contiguous + 1`, sorted ascending; at most `AHEAD_LIMIT`. */
  ahead: number[];
  events: number;
  lastAcceptedAt: string | null;
}

export const AHEAD_LIMIT = 10_000;

export const emptySequence = (): DeviceSequence => ({ contiguous: 0, maxSeq: 0, ahead: [], events: 0, lastAcceptedAt: null });

export function advanceSequence(current: DeviceSequence, seqs: readonly number[], acceptedAts: readonly string[]): DeviceSequence {
  const seen = new Set(current.ahead);
  let contiguous = current.contiguous;
  let maxSeq = current.maxSeq;
  let events = current.events;
  for (const seq of seqs) {
    events += 1;
    maxSeq = Math.max(maxSeq, seq);
    if (seq > contiguous) seen.add(seq);
  }
  while (seen.has(contiguous + 1)) {
    seen.delete(contiguous + 1);
    contiguous += 1;
  }
  const ahead = [...seen]
    .filter((s) => s > contiguous)
    .sort((a, b) => a - b)
    .slice(0, AHEAD_LIMIT);
  const lastAcceptedAt =
    [current.lastAcceptedAt, ...acceptedAts]
      .filter((a): a is string => a !== null)
      .sort()
      .pop() ?? null;
  return { contiguous, maxSeq, ahead, events, lastAcceptedAt };
}

/** The missing sequences between `contiguous` and `maxSeq`, as inclusive ranges (at most `limit`). */
export function gapsOf(sequence: Pick<DeviceSequence, 'contiguous' | 'maxSeq' | 'ahead'>, limit = 100): [number, number][] {
  const gaps: [number, number][] = [];
  let expected = sequence.contiguous + 1;
  for (const seq of [...sequence.ahead, sequence.maxSeq + 1]) {
    if (seq > expected) gaps.push([expected, seq - 1]);
    expected = Math.max(expected, seq + 1);
    if (gaps.length >= limit) break;
  }
  return gaps;
}

/** Inclusive deviceSeq ranges, sorted and merged: overlapping or touching ranges become one. */
export function mergeSeqRanges(ranges: readonly (readonly [number, number])[]): [number, number][] {
  const sorted = ranges
    .filter(([from, to]) => from <= to)
    .map(([from, to]): [number, number] => [from, to])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const [from, to] of sorted) {
    const last = merged.at(-1);
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

/** The inclusive ranges of `ranges` that `remove` does not cover (both merged first). */
export function subtractSeqRanges(ranges: readonly (readonly [number, number])[], remove: readonly (readonly [number, number])[]): [number, number][] {
  const cut = mergeSeqRanges(remove);
  const out: [number, number][] = [];
  for (const [from, to] of mergeSeqRanges(ranges)) {
    let start = from;
    for (const [a, b] of cut) {
      if (b < start || a > to) continue;
      if (a > start) out.push([start, a - 1]);
      start = Math.max(start, b + 1);
      if (start > to) break;
    }
    if (start <= to) out.push([start, to]);
  }
  return out;
}

/** How many sequences the inclusive ranges hold (after merging). */
export const seqCount = (ranges: readonly (readonly [number, number])[]): number => mergeSeqRanges(ranges).reduce((n, [from, to]) => n + to - from + 1, 0);
