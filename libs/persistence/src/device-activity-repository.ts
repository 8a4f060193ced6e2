import type { Sql } from './sql';
import { scopeCondition } from './change-log-repository';
import type { ScopeSelection } from './snapshot-repository';

/** The change-log cursor the gateway last delivered to a device, and when. */
export interface ReadPosition {
  workspace: string;
  deviceId: string;
  cursor: string;
  at: Date;
}

/** A device's write refusals since the last flush: how many events, and the last refusal's rule and denials. */
export interface WriteRefusal {
  workspace: string;
  deviceId: string;
  events: number;
  at: Date;
  last: RefusalDetail;
}

/** What refused a write: the role, the access-rules version, and the denials (pointer, code, detail), at most 20. */
export interface RefusalDetail {
  role: string | null;
  accessRulesVersion: number | null;
  denials: { pointer: string; code: string; detail: string }[];
}

export interface DeviceActivity {
  read?: { cursor: string; at: string };
  refusals?: { events: number; lastAt: string; last: RefusalDetail };
}

/**
 * Where devices stand as readers and as writers refused, for operators: `device_read_positions` (the cursor last
 * delivered, newest delivery wins: a device that starts over from an earlier cursor is shown behind again) and
 * `device_write_refusals` (a running count and the last refusal). Written in batches by the gateway; a device that
 * no longer exists is skipped.
 */
export class DeviceActivityRepository {
  constructor(private readonly sql: Sql) {}

  async recordReadPositions(positions: readonly ReadPosition[]): Promise<void> {
    if (positions.length === 0) return;
    await this.sql.query(
      `INSERT INTO device_read_positions (workspace, device_id, cursor, read_at)
       SELECT p.workspace, p.device_id, p.cursor::bigint, p.read_at
         FROM json_to_recordset($1::json) AS p(workspace text, device_id text, cursor text, read_at timestamptz)
         JOIN devices d ON d.workspace = p.workspace AND d.device_id = p.device_id
        ORDER BY p.workspace, p.device_id
       ON CONFLICT (workspace, device_id) DO UPDATE SET cursor = excluded.cursor, read_at = excluded.read_at
        WHERE device_read_positions.read_at <= excluded.read_at`,
      [JSON.stringify(positions.map((p) => ({ workspace: p.workspace, device_id: p.deviceId, cursor: p.cursor, read_at: p.at.toISOString() })))],
    );
  }

  async recordWriteRefusals(refusals: readonly WriteRefusal[]): Promise<void> {
    if (refusals.length === 0) return;
    await this.sql.query(
      `INSERT INTO device_write_refusals (workspace, device_id, refused, last_at, last)
       SELECT r.workspace, r.device_id, r.events, r.last_at, r.last
         FROM json_to_recordset($1::json) AS r(workspace text, device_id text, events bigint, last_at timestamptz, last jsonb)
         JOIN devices d ON d.workspace = r.workspace AND d.device_id = r.device_id
        ORDER BY r.workspace, r.device_id
       ON CONFLICT (workspace, device_id) DO UPDATE SET refused = device_write_refusals.refused + excluded.refused,
         last_at = greatest(device_write_refusals.last_at, excluded.last_at),
         last = CASE WHEN excluded.last_at >= device_write_refusals.last_at THEN excluded.last ELSE device_write_refusals.last END`,
      [JSON.stringify(refusals.map((r) => ({ workspace: r.workspace, device_id: r.deviceId, events: r.events, last_at: r.at.toISOString(), last: r.last })))],
    );
  }

  /** Read positions and refusals of some devices of a workspace, by device id (a device with neither is absent). */
  async of(workspace: string, deviceIds: readonly string[]): Promise<Map<string, DeviceActivity>> {
    const rows = (await this.sql.query(
      `SELECT k.device_id, p.cursor::text AS cursor, p.read_at, r.refused::int AS refused, r.last_at, r.last
         FROM unnest($2::text[]) AS k(device_id)
         LEFT JOIN device_read_positions p ON p.workspace = $1 AND p.device_id = k.device_id
         LEFT JOIN device_write_refusals r ON r.workspace = $1 AND r.device_id = k.device_id
        WHERE p.device_id IS NOT NULL OR r.device_id IS NOT NULL`,
      [workspace, deviceIds],
    )) as { device_id: string; cursor: string | null; read_at: Date | null; refused: number | null; last_at: Date | null; last: RefusalDetail | null }[];
    return new Map(
      rows.map((r) => [
        r.device_id,
        {
          ...(r.cursor !== null ? { read: { cursor: r.cursor, at: r.read_at!.toISOString() } } : {}),
          ...(r.refused !== null ? { refusals: { events: r.refused, lastAt: r.last_at!.toISOString(), last: r.last! } } : {}),
        },
      ]),
    );
  }
}

/** How far readers of one scope selection are behind: the selection's newest cursor, and each reader's count. */
export interface ScopeBacklog {
  /** The newest change-log cursor in the selection (records in it or leaving it); null: none yet. */
  head: string | null;
  /** Per reader, the changes in the selection after its cursor, counted up to `cap` (`cap` means "at least"). */
  behind: Map<string, number>;
}

/**
 * The backlog of a read-scope selection for some readers (a device id and its read cursor, null: never read):
 * each count is an index range of `change_log_scope_cursor` / `change_log_moved_from_cursor` per key, stopped at
 * `cap` rows, so the cost is bounded by the readers times the cap, never by the workspace's change log.
 */
export async function scopeBacklog(sql: Sql, workspace: string, scope: ScopeSelection, readers: readonly { deviceId: string; cursor: string | null }[], cap: number): Promise<ScopeBacklog> {
  if (scope.keys.length === 0 && scope.types.length === 0) return { head: null, behind: new Map(readers.map((r) => [r.deviceId, 0])) };
  const condition = scopeCondition(scope, 5);
  const rows = (await sql.query(
    `SELECT NULL AS device_id, (SELECT max(cursor) FROM change_log WHERE workspace = $1 AND ${condition.sql})::text AS n
     UNION ALL
     SELECT r.device_id, (SELECT count(*) FROM (SELECT 1 FROM change_log WHERE workspace = $1 AND cursor > r.cursor AND ${condition.sql} LIMIT $4) AS x)::text
       FROM unnest($2::text[], $3::bigint[]) AS r(device_id, cursor)`,
    [workspace, readers.map((r) => r.deviceId), readers.map((r) => r.cursor ?? '0'), cap, ...condition.params],
  )) as { device_id: string | null; n: string | null }[];
  const head = rows.find((r) => r.device_id === null)?.n ?? null;
  return { head, behind: new Map(rows.filter((r) => r.device_id !== null).map((r) => [r.device_id!, Number(r.n)])) };
}
