import { RequireAuth } from '@tidemark/auth';
import { Controller, Get, Inject, Query } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { compileValidator, type DeviceView, type DevicesView, type SitesView } from '@tidemark/contracts';
import type { DeviceActivity } from '@tidemark/persistence';
import { assessDevices, pageByOffset, sortDevices, summarizeSites, DEVICE_SORTS } from '@tidemark/ops';
import { OPS_VIEWS, type OpsViews } from '../streams/views';
import { parseQuery } from '../streams/query';
import { readDeviceFacts } from './device-facts';

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
    return { at, ...policy, devices: await this.withActivity(page), total, next };
  }

  /** Per (workspace, site): devices, how many fall behind (and which), oldest and newest last-seen, summed backlog. */
  @Get('sites')
  async sites(@Query() query: Record<string, unknown>): Promise<SitesView> {
    const q = parseQuery(validateSites, query, POLICY_INTEGERS);
    const { at, policy, views } = await this.assess(q.workspace, undefined, q);
    return { at, ...policy, sites: summarizeSites(views) };
  }

  /** Adds to each device of a page its read position and the writes its access rules refused. */
  private async withActivity(page: DeviceView[]): Promise<DeviceView[]> {
    const workspaces = [...new Set(page.map((d) => d.workspace))];
    const activity = new Map<string, DeviceActivity>();
    for (const workspace of workspaces) {
      const found = await this.views.deviceActivity.of(
        workspace,
        page.filter((d) => d.workspace === workspace).map((d) => d.deviceId),
      );
      for (const [deviceId, a] of found) activity.set(`${workspace}\u0000${deviceId}`, a);
    }
    return page.map((d) => {
      const a = activity.get(`${d.workspace}\u0000${d.deviceId}`);
      return { ...d, ...(a?.read ? { read: a.read } : {}), ...(a?.refusals ? { writesRefused: a.refusals } : {}) };
    });
  }

  /**
   * Reads every matching device (the registry joined with the projection's sequence progress and the
   * sequences the device reported abandoned) and
   * assesses them together: "stale" compares a device with the others of its site, so the whole site is
   * read even for one page. One query; its cost grows with the number of devices in the filter.
   */
  private async assess(workspace: string | undefined, site: string | undefined, q: { staleAfterSeconds?: number; behindThreshold?: number }) {
    const policy = { staleAfterSeconds: q.staleAfterSeconds ?? this.views.staleAfterSeconds, behindThreshold: q.behindThreshold ?? this.views.behindThreshold };
    const facts = await readDeviceFacts(this.views.ds, workspace ?? null, site ?? null);
    const now = this.views.now();
    return { at: now.toISOString(), policy, views: assessDevices(facts, now, policy) };
  }
}
