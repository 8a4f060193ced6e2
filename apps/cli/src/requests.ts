// Each command's HTTP request to ops-api, as pure functions of its arguments: no I/O, so the mapping from
// what an operator types to what the API receives is unit-tested (requests.spec.ts).
import type { ReplayScope } from '@tidemark/contracts';

/** One call to ops-api (or, for administration, gateway or journal-service): the path is relative to the base URL; undefined query values are left out. */
export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
}

/** A path segment, escaped (conflict ids hold a colon, consumer names are free text to the CLI). */
const seg = (value: string | number): string => encodeURIComponent(String(value));

/** `path?query` with the query's defined values in the order given. */
export function pathWithQuery(request: ApiRequest): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) params.append(key, String(value));
  const text = params.toString();
  return text ? `${request.path}?${text}` : request.path;
}

export const overview = (): ApiRequest => ({ method: 'GET', path: '/v1/overview' });

export const streams = (): ApiRequest => ({ method: 'GET', path: '/v1/streams' });

export interface DeviceFilter {
  workspace?: string;
  site?: string;
  /** Only devices falling behind. */
  behind?: boolean;
  sort?: string;
  limit?: number;
  after?: string;
  staleAfter?: number;
  behindThreshold?: number;
}

export const devices = (f: DeviceFilter): ApiRequest => ({
  method: 'GET',
  path: '/v1/devices',
  query: {
    workspace: f.workspace,
    site: f.site,
    fallingBehind: f.behind ? 'true' : undefined,
    sort: f.sort,
    limit: f.limit,
    after: f.after,
    staleAfterSeconds: f.staleAfter,
    behindThreshold: f.behindThreshold,
  },
});

export const sites = (f: { workspace?: string; staleAfter?: number; behindThreshold?: number }): ApiRequest => ({
  method: 'GET',
  path: '/v1/sites',
  query: { workspace: f.workspace, staleAfterSeconds: f.staleAfter, behindThreshold: f.behindThreshold },
});

export const scopes = (workspace: string): ApiRequest => ({ method: 'GET', path: '/v1/scopes', query: { workspace } });

export const scopeLag = (workspace: string, scope: string, f: { value?: string; after?: string; limit?: number; cap?: number }): ApiRequest => ({
  method: 'GET',
  path: '/v1/scopes/lag',
  query: { workspace, scope, value: f.value, after: f.after, limit: f.limit, cap: f.cap },
});

export const uploads = (f: { workspace?: string; stalledAfter?: number; limit?: number }): ApiRequest => ({
  method: 'GET',
  path: '/v1/assets',
  query: { workspace: f.workspace, stalledAfterSeconds: f.stalledAfter, limit: f.limit },
});

/** Uploads in progress by the creating device's site or by file class. */
export const backlog = (f: { by?: string; workspace?: string; stalledAfter?: number }): ApiRequest => ({
  method: 'GET',
  path: '/v1/assets/backlog',
  query: { by: f.by, workspace: f.workspace, stalledAfterSeconds: f.stalledAfter },
});

/** Job queues: per queue counts, retries, repairs, the oldest queued age, falling behind. */
export const queues = (f: { workspace?: string; behind?: boolean; waitThreshold?: number }): ApiRequest => ({
  method: 'GET',
  path: '/v1/queues',
  query: { workspace: f.workspace, fallingBehind: f.behind ? 'true' : undefined, waitThresholdSeconds: f.waitThreshold },
});

export interface ParkedFilter {
  status?: string;
  workspace?: string;
  consumer?: string;
  code?: string;
  limit?: number;
  after?: string;
}

export const parkedList = (f: ParkedFilter): ApiRequest => ({
  method: 'GET',
  path: '/v1/parked',
  query: { workspace: f.workspace, consumer: f.consumer, status: f.status, code: f.code, limit: f.limit, after: f.after },
});

export const parkedEntry = (consumer: string, seq: number): ApiRequest => ({ method: 'GET', path: `/v1/parked/${seg(consumer)}/${seg(seq)}` });

/** Re-drive or skip a parked entry; the reason is audited. */
export const parkedAction = (action: 'redrive' | 'skip', consumer: string, seq: number, reason: string): ApiRequest => ({
  method: 'POST',
  path: `/v1/parked/${seg(consumer)}/${seg(seq)}/${action}`,
  body: { reason },
});

export interface ConflictFilter {
  workspace?: string;
  status?: string;
  entityType?: string;
  field?: string;
  entityId?: string;
  limit?: number;
  after?: string;
}

export const conflicts = (f: ConflictFilter): ApiRequest => ({
  method: 'GET',
  path: '/v1/conflicts',
  query: { workspace: f.workspace, status: f.status, entityType: f.entityType, field: f.field, entityId: f.entityId, limit: f.limit, after: f.after },
});

export const hotspots = (f: { workspace?: string; entityType?: string; limit?: number }): ApiRequest => ({
  method: 'GET',
  path: '/v1/conflicts/hotspots',
  query: { workspace: f.workspace, entityType: f.entityType, limit: f.limit },
});

export const conflict = (id: string): ApiRequest => ({ method: 'GET', path: `/v1/conflicts/${seg(id)}` });

export type Pick = 'ours' | 'theirs' | 'value';

/** A resolution; `value` only with `pick: value` (the CLI refuses the other combinations before calling). */
export const resolve = (id: string, r: { pick: Pick; value?: unknown; hasValue: boolean; reason: string; eventId?: string }): ApiRequest => ({
  method: 'POST',
  path: `/v1/conflicts/${seg(id)}/resolve`,
  body: { pick: r.pick, ...(r.hasValue ? { value: r.value } : {}), reason: r.reason, ...(r.eventId ? { eventId: r.eventId } : {}) },
});

export const inspect = (eventId: string): ApiRequest => ({ method: 'GET', path: `/v1/events/${seg(eventId)}` });

/** The replay scope options as the CLI names them. */
export interface ReplayScopeOptions {
  workspace?: string;
  entityType?: string;
  entityId?: string;
  device?: string;
  site?: string;
  fromSeq?: number;
  toSeq?: number;
  /** ISO-8601 times (relative ones are resolved by the option parser). */
  since?: string;
  until?: string;
}

export function replayScope(o: ReplayScopeOptions): ReplayScope {
  const scope: ReplayScope = {};
  if (o.workspace !== undefined) scope.workspace = o.workspace;
  if (o.entityType !== undefined) scope.entityType = o.entityType;
  if (o.entityId !== undefined) scope.entityId = o.entityId;
  if (o.device !== undefined) scope.deviceId = o.device;
  if (o.site !== undefined) scope.site = o.site;
  if (o.fromSeq !== undefined) scope.fromSeq = o.fromSeq;
  if (o.toSeq !== undefined) scope.toSeq = o.toSeq;
  if (o.since !== undefined) scope.fromTime = o.since;
  if (o.until !== undefined) scope.toTime = o.until;
  return scope;
}

/**
 * A replay request. A replay is always a dry run (it builds a shadow projection and a diff; live changes
 * only on `replay swap`), so `dryRun: true` is always sent. `planOnly`: the replay ends once planned and
 * builds nothing.
 */
export const replayCreate = (r: { scope: ReplayScopeOptions; policyRevisions: Record<string, number>; reason: string; rate?: number; planOnly?: boolean }): ApiRequest => ({
  method: 'POST',
  path: '/v1/replays',
  body: {
    scope: replayScope(r.scope),
    ...(Object.keys(r.policyRevisions).length > 0 ? { policyRevisions: r.policyRevisions } : {}),
    reason: r.reason,
    dryRun: true,
    ...(r.rate !== undefined ? { eventsPerSecond: r.rate } : {}),
    ...(r.planOnly ? { planOnly: true } : {}),
  },
});

export const replayList = (f: { status?: string; limit?: number }): ApiRequest => ({ method: 'GET', path: '/v1/replays', query: { status: f.status, limit: f.limit } });

export const replayJob = (id: string): ApiRequest => ({ method: 'GET', path: `/v1/replays/${seg(id)}` });

export const replayDiff = (id: string, f: { change?: string; limit?: number; after?: string }): ApiRequest => ({
  method: 'GET',
  path: `/v1/replays/${seg(id)}/diff`,
  query: { change: f.change, limit: f.limit, after: f.after },
});

export const replaySwap = (id: string, confirm: string, reason: string): ApiRequest => ({ method: 'POST', path: `/v1/replays/${seg(id)}/swap`, body: { confirm, reason } });

export const replayCancel = (id: string, reason: string): ApiRequest => ({ method: 'POST', path: `/v1/replays/${seg(id)}/cancel`, body: { reason } });

// ── administration: gateway (identity and tenancy) and journal-service (schemas, policy revisions) ────────

export const workspaceCreate = (workspace: string, o: { name?: string; reason?: string }): ApiRequest => ({
  method: 'POST',
  path: '/v1/admin/workspaces',
  body: { workspace, ...(o.name !== undefined ? { name: o.name } : {}), ...(o.reason !== undefined ? { reason: o.reason } : {}) },
});

export const workspaceList = (): ApiRequest => ({ method: 'GET', path: '/v1/admin/workspaces' });

export const deviceEnrol = (workspace: string, deviceId: string, o: { site?: string; label?: string; role?: string; claims?: Record<string, string[]>; reason?: string }): ApiRequest => ({
  method: 'POST',
  path: `/v1/admin/workspaces/${seg(workspace)}/devices`,
  body: {
    deviceId,
    ...(o.site !== undefined ? { site: o.site } : {}),
    ...(o.label !== undefined ? { label: o.label } : {}),
    ...(o.role !== undefined ? { role: o.role } : {}),
    ...(o.claims !== undefined ? { claims: o.claims } : {}),
    ...(o.reason !== undefined ? { reason: o.reason } : {}),
  },
});

/** A device's claims (what its read scopes may take as values), replaced whole. */
export const deviceClaims = (workspace: string, deviceId: string, claims: Record<string, string[]>, reason: string): ApiRequest => ({
  method: 'PUT',
  path: `/v1/admin/workspaces/${seg(workspace)}/devices/${seg(deviceId)}/claims`,
  body: { claims, reason },
});

/** A device's role under its workspace's access rules (`null`: none). */
export const deviceRole = (workspace: string, deviceId: string, role: string | null, reason: string): ApiRequest => ({
  method: 'PUT',
  path: `/v1/admin/workspaces/${seg(workspace)}/devices/${seg(deviceId)}/role`,
  body: { role, reason },
});

export const accessRulesShow = (workspace: string): ApiRequest => ({ method: 'GET', path: `/v1/admin/workspaces/${seg(workspace)}/access-rules` });

export const accessRulesVersions = (workspace: string): ApiRequest => ({ method: 'GET', path: `/v1/admin/workspaces/${seg(workspace)}/access-rules/versions` });

export const accessRulesPublish = (workspace: string, rules: unknown, reason: string): ApiRequest => ({
  method: 'PUT',
  path: `/v1/admin/workspaces/${seg(workspace)}/access-rules`,
  body: { rules, reason },
});

export const deviceList = (workspace: string, f: { limit?: number; after?: string }): ApiRequest => ({
  method: 'GET',
  path: `/v1/admin/workspaces/${seg(workspace)}/devices`,
  query: { limit: f.limit, after: f.after },
});

export const deviceAction = (action: 'revoke' | 'reenrol', workspace: string, deviceId: string, reason: string): ApiRequest => ({
  method: 'POST',
  path: `/v1/admin/workspaces/${seg(workspace)}/devices/${seg(deviceId)}/${action}`,
  body: { reason },
});

export const tokenMint = (name: string, o: { roles: string[]; ttlSeconds?: number; reason: string }): ApiRequest => ({
  method: 'POST',
  path: '/v1/admin/operator-tokens',
  body: { name, roles: o.roles, ...(o.ttlSeconds !== undefined ? { ttlSeconds: o.ttlSeconds } : {}), reason: o.reason },
});

export const tokenRevoke = (tokenId: string, reason: string): ApiRequest => ({ method: 'POST', path: `/v1/admin/operator-tokens/${seg(tokenId)}/revoke`, body: { reason } });

export const schemaPublish = (definition: { type: string; version: number }): ApiRequest => ({
  method: 'PUT',
  path: `/v1/schemas/${seg(definition.type)}/${seg(definition.version)}`,
  body: definition,
});

export const schemaList = (): ApiRequest => ({ method: 'GET', path: '/v1/schemas' });

export const schemaShow = (type: string, version?: number): ApiRequest => ({ method: 'GET', path: version === undefined ? `/v1/schemas/${seg(type)}` : `/v1/schemas/${seg(type)}/${seg(version)}` });

export const policyPublish = (definition: { type: string; revision: number }): ApiRequest => ({
  method: 'PUT',
  path: `/v1/schemas/${seg(definition.type)}/revisions/${seg(definition.revision)}`,
  body: definition,
});

export const policyList = (type: string): ApiRequest => ({ method: 'GET', path: `/v1/schemas/${seg(type)}/revisions` });

export const policyShow = (type: string, revision: number): ApiRequest => ({ method: 'GET', path: `/v1/schemas/${seg(type)}/revisions/${seg(revision)}` });
