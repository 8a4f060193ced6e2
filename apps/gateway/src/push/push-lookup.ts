import type { DeviceStanding } from '@tidemark/auth';

/** What a push reads before it journals anything, in one round trip to Postgres. */
export interface PushLookup {
  /** The pushing device's status and token generation (undefined: no such device in the workspace). */
  standing: DeviceStanding | undefined;
  /**
   * Events of this workspace that already have a (not parked) receipt, with their journal sequence: duplicates
   * beyond the journal's dedupe window. Another workspace's receipts are never consulted: an event is
   * (workspace, eventId). A parked event is not a duplicate: the device's own copy is merged again (it may apply now).
   */
  receipted: Map<string, number>;
}

export interface SqlQuery {
  query(sql: string, params: unknown[]): Promise<unknown[]>;
}

/**
 * The device's standing and the batch's receipts as one statement: the standing row (or nulls) joined with
 * every receipt found, so a push costs one round trip whatever the answer. The receipts do not depend on the
 * device row (`FROM (SELECT 1)` keeps one row when there is neither).
 */
const LOOKUP = `
  SELECT d.status, d.generation, r.event_id, r.stream_seq
  FROM (SELECT 1) AS one
  LEFT JOIN devices d ON d.workspace = $1 AND d.device_id = $2
  LEFT JOIN event_receipts r ON r.workspace = $1 AND r.event_id = ANY($3::uuid[]) AND r.status <> 'parked'`;

export function sqlPushLookup(db: SqlQuery): (workspace: string, deviceId: string, eventIds: string[]) => Promise<PushLookup> {
  return async (workspace, deviceId, eventIds) => {
    const rows = (await db.query(LOOKUP, [workspace, deviceId, eventIds])) as { status: string | null; generation: number | null; event_id: string | null; stream_seq: string | null }[];
    const first = rows[0];
    const standing = first && first.status !== null && first.generation !== null ? { status: first.status, generation: Number(first.generation) } : undefined;
    const receipted = new Map<string, number>();
    for (const row of rows) if (row.event_id !== null) receipted.set(row.event_id, Number(row.stream_seq));
    return { standing, receipted };
  };
}
