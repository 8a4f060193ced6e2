import { DeliverPolicy } from '@nats-io/jetstream';
import { STREAMS, type JetStreamClient, type JetStreamManager, type JsMsg } from '@tidemark/messaging';

/** What a replay reads from the journal: a subject-filtered range in stream order, and subject counts. */
export interface JournalReader {
  /** Messages on `filter` with `fromSeq <= seq <= toSeq`, in stream order, in chunks of up to `chunk`. */
  read(filter: string, fromSeq: number, toSeq: number, chunk: number): AsyncIterable<JsMsg[]>;
  /** Messages per subject on `filter`, as the stream holds them now. */
  subjectCounts(filter: string): Promise<Record<string, number>>;
}

/**
 * Reads JOURNAL with an ordered consumer: ephemeral, no acks, one subject filter (what every JetStream
 * version supports), started at the first sequence wanted. Nothing about the durable consumers changes.
 */
export class JetStreamJournalReader implements JournalReader {
  constructor(
    private readonly js: () => JetStreamClient,
    private readonly jsm: () => JetStreamManager,
    private readonly expiresMs = 2000,
  ) {}

  async *read(filter: string, fromSeq: number, toSeq: number, chunk: number): AsyncIterable<JsMsg[]> {
    if (fromSeq > toSeq) return;
    const consumer = await this.js().consumers.get(STREAMS.journal, { filter_subjects: filter, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, fromSeq) });
    for (;;) {
      const messages: JsMsg[] = [];
      let last = false;
      const iter = await consumer.fetch({ max_messages: chunk, expires: this.expiresMs });
      for await (const msg of iter) {
        if (msg.seq <= toSeq) messages.push(msg);
        else last = true;
        if (msg.info.pending === 0) last = true;
      }
      if (messages.length > 0) yield messages;
      if (last || messages.length === 0) return;
    }
  }

  async subjectCounts(filter: string): Promise<Record<string, number>> {
    const info = await this.jsm().streams.info(STREAMS.journal, { subjects_filter: filter });
    return info.state.subjects ?? {};
  }
}
