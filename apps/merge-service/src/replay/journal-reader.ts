import { STREAMS, readRange, type JetStreamClient, type JetStreamManager, type JsMsg } from '@tidemark/messaging';

/** What a replay reads from the journal: a subject-filtered range in stream order, and subject counts. */
export interface JournalReader {
  /** Messages on `filter` with `fromSeq <= seq <= toSeq`, in stream order, in chunks of up to `chunk`. */
  read(filter: string, fromSeq: number, toSeq: number, chunk: number): AsyncIterable<JsMsg[]>;
  /** Messages per subject on `filter`, as the stream holds them now. */
  subjectCounts(filter: string): Promise<Record<string, number>>;
}

/** Reads JOURNAL ranges with {@link readRange}: an ordered consumer, so nothing about the durable consumers changes. */
export class JetStreamJournalReader implements JournalReader {
  constructor(
    private readonly js: () => JetStreamClient,
    private readonly jsm: () => JetStreamManager,
    private readonly expiresMs = 2000,
  ) {}

  read(filter: string, fromSeq: number, toSeq: number, chunk: number): AsyncIterable<JsMsg[]> {
    return readRange(this.js(), STREAMS.journal, { filter, fromSeq, toSeq, chunk, expiresMs: this.expiresMs });
  }

  async subjectCounts(filter: string): Promise<Record<string, number>> {
    const info = await this.jsm().streams.info(STREAMS.journal, { subjects_filter: filter });
    return info.state.subjects ?? {};
  }
}
