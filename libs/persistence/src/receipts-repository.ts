import type { Receipt, ReceiptStatus } from '@tidemark/contracts';
import { Where, seqCursor, type SeqPosition, type Sql } from './sql';

/** A write receipt as merge-service records it (`event_receipts`). */
export interface ReceiptRow {
  event_id: string;
  device_id: string;
  device_seq: string;
  entity_type: string;
  entity_id: string;
  status: ReceiptStatus;
  reason: string | null;
  version: string | null;
  stream_seq: string;
  accepted_at: Date;
}

export const RECEIPT_COLUMNS = 'event_id, device_id, device_seq, entity_type, entity_id, status, reason, version, stream_seq, accepted_at';

/** A receipt's position in a device's receipts: `<deviceSeq>:<eventId>`. */
export const receiptCursor = (row: ReceiptRow): string => seqCursor(row.device_seq, row.event_id);

export function receiptView(row: ReceiptRow): Receipt {
  return {
    eventId: row.event_id,
    deviceId: row.device_id,
    deviceSeq: Number(row.device_seq),
    entity: { type: row.entity_type, id: row.entity_id },
    status: row.status,
    reason: row.reason,
    version: row.version === null ? null : Number(row.version),
    streamSeq: Number(row.stream_seq),
    acceptedAt: (row.accepted_at instanceof Date ? row.accepted_at : new Date(row.accepted_at)).toISOString(),
  };
}

/**
 * Events of this workspace that already have a (not parked) receipt, with their journal sequence: duplicates beyond
 * the journal's dedupe window. Another workspace's receipts are never consulted: an event is (workspace, eventId).
 * A parked event is not a duplicate: the device's own copy is merged again (it may apply now).
 */
const RECEIPTED = `SELECT event_id, stream_seq FROM event_receipts WHERE workspace = $1 AND event_id = ANY($2::uuid[]) AND status <> 'parked'`;

/** Write receipts (`event_receipts`, written by merge-service): what devices read of each event's fate. */
export class ReceiptsRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * A device's receipts in (deviceSeq, eventId) order after `after` (a bare sequence: after that deviceSeq), at most
   * `limit` rows.
   */
  async list(query: { workspace: string; deviceId: string; after?: SeqPosition | undefined; limit: number }): Promise<ReceiptRow[]> {
    const where = new Where().add('workspace = $?', query.workspace).add('device_id = $?', query.deviceId);
    if (query.after !== undefined) {
      const { seq, id } = query.after;
      if (id === undefined) where.add('device_seq > $?::bigint', seq);
      else where.add('(device_seq, event_id) > ($?::bigint, $?::uuid)', seq, id);
    }
    return (await this.sql.query(`SELECT ${RECEIPT_COLUMNS} FROM event_receipts ${where.clause()} ORDER BY device_seq, event_id LIMIT ${where.param(query.limit)}`, where.params)) as ReceiptRow[];
  }

  /** One event's receipt in a workspace (undefined: none, or the event is another workspace's). */
  async one(workspace: string, eventId: string): Promise<Receipt | undefined> {
    const rows = (await this.sql.query(`SELECT ${RECEIPT_COLUMNS} FROM event_receipts WHERE event_id = $1 AND workspace = $2`, [eventId, workspace])) as ReceiptRow[];
    return rows[0] && receiptView(rows[0]);
  }

  /**
   * A device's receipts above a sequence (and at most `atMost`), in deviceSeq order. Receipts of one device commit
   * in any order (its events span partitions), so a device asks from its highest contiguous receipted sequence and
   * drops what it already has by eventId.
   */
  async above(workspace: string, deviceId: string, above: number, limit: number, atMost?: number): Promise<Receipt[]> {
    const rows = (await this.sql.query(
      `SELECT ${RECEIPT_COLUMNS} FROM event_receipts WHERE workspace = $1 AND device_id = $2 AND device_seq > $3 AND ($5::bigint IS NULL OR device_seq <= $5)
      ORDER BY device_seq, event_id LIMIT $4`,
      [workspace, deviceId, above, limit, atMost ?? null],
    )) as ReceiptRow[];
    return rows.map(receiptView);
  }

  /** Of these events, those that already have a receipt that is not `parked`, with their journal sequence: one round trip. */
  async receipted(workspace: string, eventIds: readonly string[]): Promise<Map<string, number>> {
    const receipted = new Map<string, number>();
    if (eventIds.length === 0) return receipted;
    const rows = (await this.sql.query(RECEIPTED, [workspace, eventIds])) as { event_id: string; stream_seq: string }[];
    for (const row of rows) receipted.set(row.event_id, Number(row.stream_seq));
    return receipted;
  }
}
