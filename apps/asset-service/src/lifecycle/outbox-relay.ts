import { inTransaction, type DataSource } from '@tidemark/persistence';
import { publishIdempotent, type JetStreamClient } from '@tidemark/messaging';
import { counter, type Logger } from '@tidemark/telemetry';

const published = counter('tidemark_asset_outbox_published_total', 'asset lifecycle messages published to the ASSETS stream');

/**
 * Publishes asset lifecycle messages to JetStream after the transaction that wrote them committed
 * (the ledger change and its message are one transaction). The message id is stored with the row, so a
 * crash between publishing and marking it gives a duplicate the stream drops. Rows are claimed with
 * SKIP LOCKED so replicas share the work; while NATS is down the rows wait.
 */
export class AssetOutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly ds: DataSource,
    private readonly js: () => JetStreamClient,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.poke(), this.intervalMs);
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
      .catch((error: unknown) => this.logger.warn({ err: error }, 'asset outbox relay failed; will retry'))
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
    let total = 0;
    for (;;) {
      const count = await inTransaction(this.ds, async (q) => {
        const rows: { id: string; subject: string; msg_id: string; payload: string; headers: Record<string, string> }[] = await q.query(
          'SELECT id, subject, msg_id, payload::text AS payload, headers FROM asset_outbox WHERE published_at IS NULL ORDER BY id LIMIT 200 FOR UPDATE SKIP LOCKED',
        );
        if (rows.length === 0) return 0;
        // In order: one asset's transitions reach the stream in the order they happened.
        for (const row of rows) await publishIdempotent(this.js(), { subject: row.subject, data: row.payload, msgID: row.msg_id, headers: row.headers });
        await q.query('UPDATE asset_outbox SET published_at = now() WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
        return rows.length;
      });
      published.inc(count);
      total += count;
      if (count === 0 || this.stopped) return total;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.busy;
  }
}
