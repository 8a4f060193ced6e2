import { RequireAuth } from '@tidemark/auth';
import { Controller, Get, Inject, Query } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { compileValidator, type DevicesView, type SitesView } from '@tidemark/contracts';
import { assessDevices, pageByOffset, sortDevices, summarizeSites, DEVICE_SORTS, type DeviceFacts } from '@tidemark/ops';
import { OPS_VIEWS, type OpsViews } from '../streams/views';
import { parseQuery } from '../streams/query';

const Name = Type.String({ pattern: '^[A-Za-z0-9_:-]{1,128}$' });
const Workspace = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
const Policy = {
  staleAfterSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 * 86_400 })),
  behindThreshold: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
};
const POLICY_INTEGERS = ['staleAfterSeconds', 'behindThreshold'];

export const DevicesQuery = Type.Object(
  {
    workspace: Type.Optional(Workspace),
    site: Type.Optional(Name),
    sort: Type.Optional(Type.Union(DEVICE_SORTS.map((s) => Type.Literal(s)))),
    fallingBehind: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    after: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: '`next` of the previous page' })),
    ...Policy,
  },
  { additionalProperties: false },
);
export const SitesQuery = Type.Object({ workspace: Type.Optional(Workspace), ...Policy }, { additionalProperties: false });
const validateDevices = compileValidator(DevicesQuery);
const validateSites = compileValidator(SitesQuery);

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
 * Per-device and per-site progress: what each device pushed (the registry's last pushed sequence) against
 * what merge-service applied, gaps, when it was last heard from, and whether it is falling behind.
 */
@RequireAuth('operator')
@Controller('v1')
export class DevicesController {
  constructor(@Inject(OPS_VIEWS) private readonly views: OpsViews) {}

  /**
   * Devices, registered or known from their events, assessed at this moment; sorted (`behind` default:
   * those falling behind first), filtered by workspace, site or `fallingBehind`, paged by `after`.
   */
  @Get('devices')
  async devices(@Query() query: Record<string, unknown>): Promise<DevicesView> {
    const q = parseQuery(validateDevices, query, ['limit', ...POLICY_INTEGERS]);
    const { at, policy, views } = await this.assess(q.workspace, q.site, q);
    const selected = q.fallingBehind === undefined ? views : views.filter((d) => d.fallingBehind === (q.fallingBehind === 'true'));
    const { page, next, total } = pageByOffset(sortDevices(selected, q.sort ?? 'behind'), Number(q.after ?? 0), q.limit ?? 200);
    return { at, ...policy, devices: page, total, next };
  }

  /** Per (workspace, site): devices, how many fall behind (and which), oldest and newest last-seen, summed backlog. */
  @Get('sites')
  async sites(@Query() query: Record<string, unknown>): Promise<SitesView> {
    const q = parseQuery(validateSites, query, POLICY_INTEGERS);
    const { at, policy, views } = await this.assess(q.workspace, undefined, q);
    return { at, ...policy, sites: summarizeSites(views) };
  }

  /**
   * Reads every matching device (the registry joined with the projection's sequence progress and the
 * sequences the device reported abandoned) and
   * assesses them together: "stale" compares a device with the others of its site, so the whole site is
   * read even for one page. One query; its cost grows with the number of devices in the filter.
   */
  private async assess(workspace: string | undefined, site: string | undefined, q: { staleAfterSeconds?: number; behindThreshold?: number }) {
    const policy = { staleAfterSeconds: q.staleAfterSeconds ?? this.views.staleAfterSeconds, behindThreshold: q.behindThreshold ?? this.views.behindThreshold };
    const rows: DeviceRow[] = await this.views.ds.query(
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
      [workspace ?? null, site ?? null],
    );
    const now = this.views.now();
    const facts: DeviceFacts[] = rows.map((r) => ({
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
    return { at: now.toISOString(), policy, views: assessDevices(facts, now, policy) };
  }
}
