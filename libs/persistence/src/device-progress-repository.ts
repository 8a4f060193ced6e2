import type { Sql } from './sql';

/** What the service has of a device's sequence (`devices` joined with `device_sequences`). */
export interface DeviceProgress {
  /** Every deviceSeq up to this one has been applied (or otherwise receipted); 0 when nothing was. */
  contiguous: number;
  /** Highest deviceSeq applied (0: none). */
  maxSeq: number;
  /** Applied sequences above `contiguous`. */
  ahead: number[];
  lastAcceptedAt: Date | null;
  /** Highest deviceSeq the journal acknowledged from this device (0: none). */
  lastPushedSeq: number;
  lastPushAt: Date | null;
}

interface ProgressRow {
  contiguous: string | null;
  max_seq: string | null;
  ahead: number[] | null;
  last_accepted_at: Date | null;
  last_pushed_seq: string | null;
  last_push_at: Date | null;
}

/** A device's highest pushed sequence once the journal acknowledged it. */
export interface PushMark {
  workspace: string;
  deviceId: string;
  maxSeq: number;
  at: Date;
}

/**
 * Devices' sequence progress: what merge-service applied (`device_sequences`), what the gateway saw pushed
 * (`devices.last_pushed_seq`, `last_push_at`) and the ranges a device gave up (`device_abandoned_sequences`).
 */
export class DeviceProgressRepository {
  constructor(private readonly sql: Sql) {}

  /** A registered device's progress (undefined: no such device). */
  async progress(workspace: string, deviceId: string): Promise<DeviceProgress | undefined> {
    const rows = (await this.sql.query(
      `SELECT s.contiguous, s.max_seq, s.ahead, s.last_accepted_at, d.last_pushed_seq, d.last_push_at
         FROM devices d LEFT JOIN device_sequences s ON s.workspace = d.workspace AND s.device_id = d.device_id
        WHERE d.workspace = $1 AND d.device_id = $2`,
      [workspace, deviceId],
    )) as ProgressRow[];
    const row = rows[0];
    if (!row) return undefined;
    return {
      contiguous: Number(row.contiguous ?? 0),
      maxSeq: Number(row.max_seq ?? 0),
      ahead: row.ahead ?? [],
      lastAcceptedAt: row.last_accepted_at,
      lastPushedSeq: Number(row.last_pushed_seq ?? 0),
      lastPushAt: row.last_push_at,
    };
  }

  /** The ranges `[first, last]` (inclusive) the device reported abandoned, as stored (unmerged, in no order). */
  async abandoned(workspace: string, deviceId: string): Promise<[number, number][]> {
    const rows = (await this.sql.query('SELECT first_seq, last_seq FROM device_abandoned_sequences WHERE workspace = $1 AND device_id = $2', [workspace, deviceId])) as {
      first_seq: string;
      last_seq: string;
    }[];
    return rows.map((r) => [Number(r.first_seq), Number(r.last_seq)]);
  }

  /** Records abandoned ranges (a range already recorded is kept once); answers how many were new. */
  async abandon(workspace: string, deviceId: string, ranges: readonly { from: number; to: number }[], reason: string | null): Promise<number> {
    const rows = (await this.sql.query(
      `INSERT INTO device_abandoned_sequences (workspace, device_id, first_seq, last_seq, reason)
       SELECT $1, $2, r.f, r.t, $5 FROM unnest($3::bigint[], $4::bigint[]) AS r(f, t)
       ON CONFLICT DO NOTHING RETURNING 1`,
      [workspace, deviceId, ranges.map((r) => r.from), ranges.map((r) => r.to), reason],
    )) as unknown[];
    return rows.length;
  }

  /** Notes devices' highest pushed sequences (one statement for all; a sequence or time never goes back). */
  async recordPushes(marks: readonly PushMark[]): Promise<void> {
    if (marks.length === 0) return;
    await this.sql.query(
      `UPDATE devices d SET last_pushed_seq = GREATEST(d.last_pushed_seq, m.seq), last_push_at = GREATEST(coalesce(d.last_push_at, m.at), m.at)
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[]) AS m(workspace, device_id, seq, at)
        WHERE d.workspace = m.workspace AND d.device_id = m.device_id`,
      [marks.map((m) => m.workspace), marks.map((m) => m.deviceId), marks.map((m) => m.maxSeq), marks.map((m) => m.at)],
    );
  }
}
