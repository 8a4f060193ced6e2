import type { DataSource } from 'typeorm';
import { publishBatch, publishIdempotent, type JetStreamClient } from '@tidemark/messaging';
import { counter, type Logger } from '@tidemark/telemetry';
import { inTransaction } from './data-source';

export interface OutboxRelayOptions {
  /** Outbox table: columns id (bigserial), subject, msg_id, payload (jsonb), headers (jsonb), published_at. */
  table: 'outbox' | 'asset_outbox';
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
    private readonly ds: DataSource,
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
      .catch((error: unknown) => this.options.logger.warn({ err: error, table: this.options.table }, 'outbox relay failed; will retry'))
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
    const { table, batch, ordered } = this.options;
    let total = 0;
    for (;;) {
      const { count, failure } = await inTransaction(this.ds, async (q) => {
        const rows: { id: string; subject: string; msg_id: string; payload: string; headers: Record<string, string> }[] = await q.query(
          `SELECT id, subject, msg_id, payload::text AS payload, headers FROM ${table} WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [batch],
        );
        if (rows.length === 0) return { count: 0, failure: undefined };
        const message = (row: (typeof rows)[number]) => ({ subject: row.subject, data: row.payload, msgID: row.msg_id, headers: row.headers });
        let sent = rows;
        let failure: unknown;
        if (ordered) {
          for (const row of rows) await publishIdempotent(this.js(), message(row));
        } else {
          // Pipelined, one span for the batch. What was acknowledged is marked even when some failed; the rest
          // stay unpublished for the next pass (a copy the stream already holds is dropped by its message id).
          const outcomes = await publishBatch(this.js(), rows, message);
          sent = rows.filter((_, i) => outcomes[i]!.status === 'fulfilled');
          failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')?.reason;
        }
        if (sent.length > 0) await q.query(`UPDATE ${table} SET published_at = now() WHERE id = ANY($1::bigint[])`, [sent.map((r) => r.id)]);
        return { count: sent.length, failure };
      });
      published.inc({ table }, count);
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
