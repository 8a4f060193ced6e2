import { DeliverPolicy, type Consumer, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';

export interface RangeOptions {
  /** Subject filter (one filter: what every JetStream version supports). */
  filter: string;
  /** First stream sequence wanted (default 1). */
  fromSeq?: number;
  /** Last stream sequence wanted (default: to the end of the stream as it is now). */
  toSeq?: number;
  /** At most this many messages in all. */
  limit?: number;
  /** Messages per fetch, and per chunk handed out. */
  chunk: number;
  /** How long one fetch waits (the client refuses less than 1000). Default 2000. */
  expiresMs?: number;
  /** Empty fetches in a row, while the server still counts messages pending, before the read fails. Default 5. */
  maxEmptyFetches?: number;
}

/**
 * Reads a subject-filtered range of a stream in stream order, in chunks, with an ordered consumer
 * (ephemeral, unacknowledged, deleted at the end). Nothing about durable consumers changes.
 *
 * The end is known, never guessed: the range ends at `toSeq`, after `limit` messages, or when the
 * consumer has nothing pending and has delivered nothing this reader did not receive. A fetch that comes
 * back empty while messages are pending is retried; a delivery that never reached this reader (a fetch
 * that expired while it was in flight) is read again from a fresh consumer, so no message is skipped.
 */
export async function* readRange(js: JetStreamClient, stream: string, options: RangeOptions): AsyncGenerator<JsMsg[]> {
  const fromSeq = Math.max(1, options.fromSeq ?? 1);
  const toSeq = options.toSeq ?? Number.MAX_SAFE_INTEGER;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  if (fromSeq > toSeq || limit <= 0) return;
  const open = (start: number): Promise<Consumer> => js.consumers.get(stream, { filter_subjects: options.filter, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start });
  let consumer = await open(fromSeq);
  /** Stream sequence of the last message received (read or past the range). */
  let lastSeen = fromSeq - 1;
  let read = 0;
  let empty = 0;
  try {
    if ((await consumer.info(true)).num_pending === 0) return; // as created: nothing in the range
    for (;;) {
      const messages: JsMsg[] = [];
      let end = false;
      const iter = await consumer.fetch({ max_messages: Math.min(options.chunk, limit - read), expires: options.expiresMs ?? 2000 });
      for await (const msg of iter) {
        lastSeen = Math.max(lastSeen, msg.seq);
        if (msg.seq <= toSeq) messages.push(msg);
        // Past the range, or the last message there is: stop here rather than wait out the fetch.
        if (msg.seq >= toSeq || msg.info.pending === 0) {
          end = true;
          break;
        }
      }
      read += messages.length;
      if (messages.length > 0) {
        empty = 0;
        yield messages;
      }
      if (end || read >= limit) return;
      if (messages.length > 0) continue;
      const info = await consumer.info();
      if (info.delivered.stream_seq > lastSeen) {
        // Delivered to a fetch that had already given up: read on from the last message received.
        await consumer.delete().catch(() => undefined);
        consumer = await open(lastSeen + 1);
      } else if (info.num_pending === 0) {
        return;
      }
      if (++empty >= (options.maxEmptyFetches ?? 5)) throw new Error(`reading ${stream} on ${options.filter}: ${empty} fetches in a row came back empty while messages are pending`);
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}
