import type { DataSource } from 'typeorm';
import { inTransaction } from './data-source';

/** The outbox tables: columns id (bigserial), subject, msg_id, payload (jsonb), headers (jsonb), published_at. */
export type OutboxTable = 'outbox' | 'asset_outbox';

/** A message waiting in an outbox (the shape `OutboxRelay` in @tidemark/messaging publishes). */
export interface WaitingOutboxMessage {
  id: string;
  subject: string;
  msgId: string;
  payload: string;
  headers: Record<string, string>;
}

/**
 * An outbox table: messages written in the transaction whose outcome they announce, published after it committed.
 * A pass claims the oldest unpublished rows with `FOR UPDATE SKIP LOCKED` (replicas share the work), hands them
 * to `publish`, and marks published the ids it reports sent — in one transaction, so a crash between publishing
 * and marking gives a duplicate the stream drops by its message id, never a loss.
 */
export class OutboxRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly table: OutboxTable,
  ) {}

  claim(limit: number, publish: (rows: WaitingOutboxMessage[]) => Promise<{ sent: string[]; failure?: unknown }>): Promise<{ count: number; failure?: unknown }> {
    return inTransaction(this.ds, async (q) => {
      const rows: { id: string; subject: string; msg_id: string; payload: string; headers: Record<string, string> }[] = await q.query(
        `SELECT id, subject, msg_id, payload::text AS payload, headers FROM ${this.table} WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      if (rows.length === 0) return { count: 0 };
      const { sent, failure } = await publish(rows.map((r) => ({ id: r.id, subject: r.subject, msgId: r.msg_id, payload: r.payload, headers: r.headers })));
      if (sent.length > 0) await q.query(`UPDATE ${this.table} SET published_at = now() WHERE id = ANY($1::bigint[])`, [sent]);
      return { count: sent.length, ...(failure !== undefined ? { failure } : {}) };
    });
  }
}
