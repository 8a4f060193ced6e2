import type { Receipt, ReceiptStatus } from '@tidemark/contracts';
import { encodeCursor, int, iso } from '../conflicts/ledger-http';

/** A write receipt as merge-service records it. */
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

export const COLUMNS = 'event_id, device_id, device_seq, entity_type, entity_id, status, reason, version, stream_seq, accepted_at';
export const cursorOf = (row: ReceiptRow): string => encodeCursor(row.device_seq, row.event_id);

export function receiptView(row: ReceiptRow): Receipt {
  return {
    eventId: row.event_id,
    deviceId: row.device_id,
    deviceSeq: int(row.device_seq),
    entity: { type: row.entity_type, id: row.entity_id },
    status: row.status,
    reason: row.reason,
    version: row.version === null ? null : int(row.version),
    streamSeq: int(row.stream_seq),
    acceptedAt: iso(row.accepted_at),
  };
}

