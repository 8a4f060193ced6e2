import type { DeviceFacts } from '@tidemark/ops';
import type { OpsViews } from '../streams/views';

interface DeviceRow {
  workspace: string;
  device_id: string;
  site: string | null;
  label: string | null;
  status: string | null;
  last_pushed_seq: string | null;
  last_push_at: Date | null;
  contiguous: string;
  max_seq: string;
  ahead: number[];
  events: string;
  last_accepted_at: Date | null;
  abandoned: [string, string][];
}

/**
 * Every device matching the filter (null: any), registered or known from its events: the registry joined
 * with the projection's sequence progress and the sequences the device reported abandoned. One query; its
 * cost grows with the number of devices in the filter.
 */
export async function readDeviceFacts(ds: OpsViews['ds'], workspace: string | null, site: string | null): Promise<DeviceFacts[]> {
  const rows: DeviceRow[] = await ds.query(
    `SELECT * FROM (
       SELECT coalesce(d.workspace, s.workspace) AS workspace, coalesce(d.device_id, s.device_id) AS device_id,
              coalesce(d.site, s.site) AS site, d.label, d.status, d.last_pushed_seq, d.last_push_at,
              coalesce(s.contiguous, 0) AS contiguous, coalesce(s.max_seq, 0) AS max_seq, coalesce(s.ahead, '[]'::jsonb) AS ahead,
              coalesce(s.events, 0) AS events, s.last_accepted_at
         FROM devices d FULL JOIN device_sequences s ON s.workspace = d.workspace AND s.device_id = d.device_id
     ) AS x
     CROSS JOIN LATERAL (
       SELECT coalesce(jsonb_agg(jsonb_build_array(a.first_seq::text, a.last_seq::text)), '[]'::jsonb) AS abandoned
         FROM device_abandoned_sequences a WHERE a.workspace = x.workspace AND a.device_id = x.device_id
     ) AS a
     WHERE ($1::text IS NULL OR workspace = $1) AND ($2::text IS NULL OR site = $2)`,
    [workspace, site],
  );
  return rows.map((r) => ({
    workspace: r.workspace,
    deviceId: r.device_id,
    site: r.site,
    label: r.label,
    status: r.status,
    lastPushedSeq: r.last_pushed_seq === null ? null : Number(r.last_pushed_seq),
    lastPushAt: r.last_push_at,
    contiguousSeq: Number(r.contiguous),
    maxAppliedSeq: Number(r.max_seq),
    ahead: r.ahead,
    events: Number(r.events),
    lastAcceptedAt: r.last_accepted_at,
    abandoned: r.abandoned.map(([from, to]): [number, number] => [Number(from), Number(to)]),
  }));
}
