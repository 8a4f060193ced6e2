import type { Access } from '@tidemark/access';
import { ACCESS_COLUMNS, ACCESS_JOIN, accessFromRow, type AccessColumns, type DeviceStanding } from '@tidemark/auth';

/** What a push reads before it journals anything, in one round trip to Postgres. */
export interface PushLookup {
  /** The pushing device's status and token generation (undefined: no such device in the workspace). */
  standing: DeviceStanding | undefined;
  /** What the device may write under its workspace's access rules in force now (its role, read with its standing). */
  access: Access;
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
 * The device's standing and access and the batch's receipts as one statement: the standing row (or nulls) and the
 * workspace's access rules in force (the device's role's part only, as text: parsed once, not per row) joined with
 * every receipt found, so a push costs one round trip whatever the answer. The receipts do not depend on the
 * device row (`FROM (SELECT 1)` keeps one row when there is neither).
 */
const LOOKUP = `
  SELECT d.status, d.generation, ${ACCESS_COLUMNS}, r.event_id, r.stream_seq
  FROM (SELECT 1) AS one
  LEFT JOIN devices d ON d.workspace = $1 AND d.device_id = $2
  ${ACCESS_JOIN}
  LEFT JOIN event_receipts r ON r.workspace = $1 AND r.event_id = ANY($3::uuid[]) AND r.status <> 'parked'`;

export function sqlPushLookup(db: SqlQuery): (workspace: string, deviceId: string, eventIds: string[]) => Promise<PushLookup> {
  return async (workspace, deviceId, eventIds) => {
    const rows = (await db.query(LOOKUP, [workspace, deviceId, eventIds])) as (AccessColumns & { status: string | null; generation: number | null; event_id: string | null; stream_seq: string | null })[];
    const first = rows[0]!;
    const standing = first.status !== null && first.generation !== null ? { status: first.status, generation: Number(first.generation) } : undefined;
    const receipted = new Map<string, number>();
    for (const row of rows) if (row.event_id !== null) receipted.set(row.event_id, Number(row.stream_seq));
    return { standing, access: accessFromRow(first), receipted };
  };
}
