import { counter, type Logger } from '@tidemark/telemetry';
import type { JetStreamClient } from '@nats-io/jetstream';
import { publishBatch, publishIdempotent } from './publish';

/** One message waiting in an outbox: written in the transaction whose outcome it announces. */
export interface OutboxMessage {
  id: string;
  subject: string;
  msgId: string;
  /** The message body (JSON text). */
  payload: string;
  headers: Record<string, string>;
}

/**
 * Where outbox messages wait (a table in Postgres: `OutboxRepository`). `claim` locks up to `limit` unpublished
 * messages for one pass (others passes skip them), runs `publish` on them, and marks published the ids it
 * returns, all in one transaction; with nothing waiting it returns at once.
 */
export interface OutboxStore {
  claim(limit: number, publish: (messages: OutboxMessage[]) => Promise<{ sent: string[]; failure?: unknown }>): Promise<{ count: number; failure?: unknown }>;
}

export interface OutboxRelayOptions {
  /** The outbox's name in metrics and logs (`outbox`, `asset_outbox`). */
  name: string;
  intervalMs: number;
  /** Rows claimed per transaction. */
  batch: number;
  /** Publish one at a time (strict order even across retries) rather than pipelined. */
  ordered: boolean;
  logger: Logger;
}

const published = counter('tidemark_outbox_published_total', 'outbox messages published to JetStream', ['table']);

/**
 * Publishes outbox rows to JetStream after the transaction that wrote them committed. The message id is
 * stored with the row, so a crash between publishing and marking it published gives a duplicate the
 * stream drops. Rows are claimed with SKIP LOCKED so replicas share the work; while NATS is down the rows wait.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly store: OutboxStore,
    private readonly js: () => JetStreamClient,
    private readonly options: OutboxRelayOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.poke(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Publishes soon (after a commit that wrote messages). */
  poke(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = this.drain()
      .then(() => undefined)
      .catch((error: unknown) => this.options.logger.warn({ err: error, table: this.options.name }, 'outbox relay failed; will retry'))
      .finally(() => {
        this.busy = undefined;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  /** Publishes until nothing is left; resolves with the number published. */
  async drain(): Promise<number> {
    const { name, batch, ordered } = this.options;
    let total = 0;
    for (;;) {
      const { count, failure } = await this.store.claim(batch, async (rows) => {
        const message = (row: OutboxMessage) => ({ subject: row.subject, data: row.payload, msgID: row.msgId, headers: row.headers });
        if (ordered) {
          for (const row of rows) await publishIdempotent(this.js(), message(row));
          return { sent: rows.map((r) => r.id) };
        }
        // Pipelined, one span for the batch. What was acknowledged is marked even when some failed; the rest
        // stay unpublished for the next pass (a copy the stream already holds is dropped by its message id).
        const outcomes = await publishBatch(this.js(), rows, message);
        return {
          sent: rows.filter((_, i) => outcomes[i]!.status === 'fulfilled').map((r) => r.id),
          failure: outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')?.reason,
        };
      });
      published.inc({ table: name }, count);
      total += count;
      if (failure !== undefined) throw failure;
      if (count === 0 || this.stopped) return total;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.busy;
  }
}
