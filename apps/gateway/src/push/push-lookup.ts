export interface SqlQuery {
  query(sql: string, params: unknown[]): Promise<unknown[]>;
}

/**
 * Events of this workspace that already have a (not parked) receipt, with their journal sequence: duplicates beyond
 * the journal's dedupe window. Another workspace's receipts are never consulted: an event is (workspace, eventId).
 * A parked event is not a duplicate: the device's own copy is merged again (it may apply now).
 */
const RECEIPTS = `SELECT event_id, stream_seq FROM event_receipts WHERE workspace = $1 AND event_id = ANY($2::uuid[]) AND status <> 'parked'`;

/** The batch's receipts, in one round trip (the device's standing and access come from the `StandingCache`). */
export function sqlReceipts(db: SqlQuery): (workspace: string, eventIds: string[]) => Promise<Map<string, number>> {
  return async (workspace, eventIds) => {
    const receipted = new Map<string, number>();
    if (eventIds.length === 0) return receipted;
    const rows = (await db.query(RECEIPTS, [workspace, eventIds])) as { event_id: string; stream_seq: string }[];
    for (const row of rows) receipted.set(row.event_id, Number(row.stream_seq));
    return receipted;
  };
}
