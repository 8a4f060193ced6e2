import { JOURNAL_SUBJECT_ROOT, type LagTotal, type LagView } from '@tidemark/contracts';
import { ageSeconds, isoOrNull, type Instant } from './time';

/**
 * Where a JetStream consumer stands, as its info reports it (stream sequences; counts of messages on the
 * consumer's filter subject).
 */
export interface ConsumerPosition {
  /** Messages on the filter after the last delivered one (`num_pending`). */
  pending: number;
  /** Delivered, not yet acknowledged (`num_ack_pending`). */
  ackPending: number;
  /** Every message up to this stream sequence is acknowledged (`ack_floor.stream_seq`). */
  ackFloor: number;
  /** Stream sequence of the last delivered message (`delivered.stream_seq`). */
  delivered: number;
}

/** The backlog of a consumer: messages not yet acknowledged (pending plus ack-pending). */
export function consumerBacklog(c: ConsumerPosition): number {
  return Math.max(0, c.pending) + Math.max(0, c.ackPending);
}

/**
 * The stream sequence to look from for a consumer's oldest unacknowledged message (the first message on
 * its filter after the ack floor), or null when it has nothing unacknowledged.
 */
export function oldestPendingFrom(c: ConsumerPosition): number | null {
  return consumerBacklog(c) > 0 ? c.ackFloor + 1 : null;
}

/**
 * Messages of a projected partition not yet in Postgres: those on the partition after the projection's
 * checkpoint (the last stream sequence committed), computed from the partition consumer's position.
 *
 * The consumer's ack floor and delivered marks are stream positions: they run past other partitions'
 * messages, so they are often beyond the checkpoint with nothing of the partition in between. The
 * projector commits, then acknowledges, so every message of the partition at or below the ack floor is
 * committed:
 * - ack floor at or past the checkpoint: what is behind is exactly the pending and ack-pending messages;
 * - ack floor below the checkpoint (a batch committed, its acknowledgement on its way): ack-pending
 *   messages at or below the checkpoint are projected. With nothing delivered past the checkpoint, what
 *   is behind is exactly the pending count; otherwise it is an upper bound that counts at most the
 *   positions delivered past the checkpoint, and `exact` is false;
 * - delivered below the checkpoint (a consumer reset by hand): at most its pending count.
 */
export function partitionBacklog(checkpoint: number, c: ConsumerPosition): { messages: number; exact: boolean; from: number | null } {
  const pending = Math.max(0, c.pending);
  const ackPending = Math.max(0, c.ackPending);
  let messages: number;
  let exact: boolean;
  if (c.ackFloor >= checkpoint) {
    messages = pending + ackPending;
    exact = true;
  } else if (c.delivered <= checkpoint) {
    messages = pending;
    exact = c.delivered === checkpoint || pending === 0;
  } else {
    messages = pending + Math.min(ackPending, c.delivered - checkpoint);
    exact = ackPending === 0;
  }
  return { messages, exact, from: messages > 0 ? checkpoint + 1 : null };
}

/** The oldest unacknowledged (or unprojected) message of a backlog, once read from the stream. */
export interface OldestMessage {
  seq: number;
  at: Instant;
}

/**
 * Lag as operators read it: how many messages are behind and how old the oldest of them is. With a
 * backlog but no oldest message found (the stream no longer holds it), the age is 0 and unknown.
 */
export function lagOf(now: Instant, messages: number, oldest: OldestMessage | null | undefined): LagView {
  if (messages <= 0 || !oldest) return { messages: Math.max(0, messages), seconds: 0, oldestSeq: null, oldestAt: null };
  return { messages, seconds: ageSeconds(now, oldest.at), oldestSeq: oldest.seq, oldestAt: isoOrNull(oldest.at) };
}

/** Totals over partitions: messages add up; the lag in seconds is the oldest partition's. */
export function totalLag(lags: readonly LagTotal[]): LagTotal {
  return lags.reduce((sum, l) => ({ messages: sum.messages + l.messages, seconds: Math.max(sum.seconds, l.seconds) }), { messages: 0, seconds: 0 });
}

/**
 * The partition token a journal consumer projects, read from its filter subject
 * (`tm.journal.*.p03.>` → `p03`), or null for a filter that is not one partition.
 */
export function partitionOfFilter(filter: string | undefined | null): string | null {
  const prefix = `${JOURNAL_SUBJECT_ROOT}.*.`;
  if (!filter?.startsWith(prefix) || !filter.endsWith('.>')) return null;
  const token = filter.slice(prefix.length, -2);
  return /^p[0-9]{2,}$/.test(token) ? token : null;
}
