import { DeliverPolicy, type ConsumerConfig } from '@nats-io/jetstream';
import { isNotFound, type JetStreamManager } from '@tidemark/messaging';

export interface RedeliveryInput {
  stream: string;
  consumer: string;
  fromSeq: number;
  toSeq: number;
  /** Start at `fromSeq` even above the ack floor + 1, dropping what the consumer has not acknowledged below it. */
  skipUnacknowledged?: boolean;
}

export type RedeliveryOutcome =
  | {
      kind: 'rewound';
      stream: string;
      consumer: string;
      fromSeq: number;
      toSeq: number;
      /** Where the consumer was: its ack floor, last delivered stream sequence, and what it still had pending. */
      previous: { ackFloor: number; delivered: number; pending: number };
      /**
       * Stream sequences after `toSeq` that the consumer had already acknowledged and will receive again
       * (a rewound consumer continues to the end of the stream): `previous.ackFloor - toSeq`, or 0.
       */
      beyondRange: number;
      /**
       * Stream sequences between the ack floor and `fromSeq` (`fromSeq - previous.ackFloor - 1`, or 0) that the
       * consumer had not acknowledged and will never receive: more than 0 only with `skipUnacknowledged`.
       */
      skippedUnacknowledged: number;
    }
  | { kind: 'not-found'; detail: string }
  | { kind: 'refused'; detail: string }
  | { kind: 'out-of-range'; pointer: string; detail: string };

/**
 * Re-delivers a range of MERGED, REVIEW or ASSETS to an integrator's durable consumer by rewinding it:
 * the consumer is recreated with the same name and configuration (filter, ack policy, deliver subject …)
 * and `deliver_policy: by_start_sequence` at `fromSeq`. nats-server 2.9 has no call that moves an existing
 * consumer, and republishing the range would give every other subscriber copies under new sequences,
 * so a rewind is the safe way: nothing changes for anyone else, and messages keep their sequence and
 * `Nats-Msg-Id`, by which the integrator deduplicates. A rewound consumer continues past `toSeq` to the end
 * of the stream; what it had acknowledged after `toSeq` comes again (`beyondRange`).
 *
 * A rewind must not lose anything: starting above the ack floor + 1 would drop the messages in between that the
 * consumer has not acknowledged yet, so it is refused (naming the ack floor) unless `skipUnacknowledged` says so.
 */
export async function rewindConsumer(jsm: JetStreamManager, input: RedeliveryInput): Promise<RedeliveryOutcome> {
  if (input.fromSeq > input.toSeq) return { kind: 'out-of-range', pointer: '/toSeq', detail: `must not be below fromSeq (${input.fromSeq})` };
  const info = await jsm.consumers.info(input.stream, input.consumer).catch((error: unknown) => {
    if (isNotFound(error)) return undefined;
    throw error;
  });
  if (!info) return { kind: 'not-found', detail: `stream ${input.stream} has no consumer "${input.consumer}"` };
  if (!info.config.durable_name) return { kind: 'refused', detail: `"${input.consumer}" is an ephemeral consumer; only an integrator's durable consumer can be re-delivered to` };
  const stream = await jsm.streams.info(input.stream);
  if (input.fromSeq < stream.state.first_seq)
    return { kind: 'out-of-range', pointer: '/fromSeq', detail: `stream ${input.stream} now starts at sequence ${stream.state.first_seq} (older messages aged out)` };
  if (input.toSeq > stream.state.last_seq) return { kind: 'out-of-range', pointer: '/toSeq', detail: `stream ${input.stream} ends at sequence ${stream.state.last_seq}` };
  const previous = { ackFloor: info.ack_floor.stream_seq, delivered: info.delivered.stream_seq, pending: info.num_pending };
  const skippedUnacknowledged = Math.max(0, input.fromSeq - previous.ackFloor - 1);
  if (skippedUnacknowledged > 0 && input.skipUnacknowledged !== true) {
    return {
      kind: 'refused',
      detail:
        `"${input.consumer}" has acknowledged stream ${input.stream} up to sequence ${previous.ackFloor} (its ack floor): starting at ${input.fromSeq} would skip ` +
        `sequences ${previous.ackFloor + 1} to ${input.fromSeq - 1}, which it has not acknowledged; start at ${previous.ackFloor + 1} or below, or send "skipUnacknowledged": true`,
    };
  }
  const { opt_start_time: _time, ...kept } = info.config;
  const config: Partial<ConsumerConfig> = { ...kept, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: input.fromSeq };
  await jsm.consumers.delete(input.stream, input.consumer);
  try {
    await jsm.consumers.add(input.stream, config);
  } catch (error) {
    // Never leave the integrator without its consumer: put it back as it was, then report the failure.
    const restored = await jsm.consumers.add(input.stream, info.config).then(
      () => 'it was restored as it was',
      (e: unknown) => `restoring it failed too: ${(e as Error).message}`,
    );
    throw new Error(`re-creating consumer "${input.consumer}" at sequence ${input.fromSeq} failed (${(error as Error).message}); ${restored}`, { cause: error });
  }
  return {
    kind: 'rewound',
    stream: input.stream,
    consumer: input.consumer,
    fromSeq: input.fromSeq,
    toSeq: input.toSeq,
    previous,
    beyondRange: Math.max(0, previous.ackFloor - input.toSeq),
    skippedUnacknowledged,
  };
}
