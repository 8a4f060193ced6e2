import { Type, type Static } from '@sinclair/typebox';
import { IdToken } from '../events/device-event';
import { ConflictView, Receipt } from './ledger';
import { ProblemSchema, type RouteDoc } from './openapi';
import { Change } from './push';

/** Limits of pulling and live updates; every one is named in the errors that enforce it. */
export const SYNC_LIMITS = {
  /** Changes in one pull page. */
  maxPullLimit: 1000,
  /** Longest a pull may wait for a change (`wait`, seconds). */
  maxWaitSeconds: 30,
  /** Changes a live stream reads per page while catching up. */
  streamPageSize: 500,
  /** Seconds between keep-alive comments on a quiet live stream. */
  streamKeepAliveSeconds: 15,
  /** Entities in one snapshot page. */
  maxSnapshotLimit: 1000,
  /** Entities in a snapshot page when `limit` is not given. */
  defaultSnapshotLimit: 500,
  /** Subscriptions one device may hold (`PUT /v1/subscriptions`). */
  maxSubscriptions: 100,
  /** Characters in a subscription's partition value. */
  maxPartitionValueLength: 256,
} as const;

/** A read scope's name, as access rules declare it. */
export const SCOPE_NAME_PATTERN = '^[a-z][a-z0-9_-]{0,63}$';

export const SubscriptionRef = Type.Object(
  {
    scope: Type.String({ pattern: SCOPE_NAME_PATTERN, description: 'a read scope the workspace’s access rules declare' }),
    value: Type.Optional(
      Type.String({ minLength: 1, maxLength: SYNC_LIMITS.maxPartitionValueLength, description: 'for a partitioned scope: the partition to read (e.g. a project id); absent for a whole scope' }),
    ),
  },
  { additionalProperties: false },
);
export type SubscriptionRef = Static<typeof SubscriptionRef>;

export const SubscriptionsRequest = Type.Object(
  {
    subscriptions: Type.Array(SubscriptionRef, {
      maxItems: SYNC_LIMITS.maxSubscriptions,
      description: `the device’s whole set of subscriptions (at most ${SYNC_LIMITS.maxSubscriptions}); it replaces the set held`,
    }),
  },
  { additionalProperties: false },
);
export type SubscriptionsRequest = Static<typeof SubscriptionsRequest>;

export const SubscriptionView = Type.Object({
  scope: Type.String(),
  value: Type.Optional(Type.String()),
  types: Type.Array(Type.String(), { description: 'the entity types the scope reads' }),
  allowed: Type.Boolean({ description: 'false when the rules no longer let the device read it (it delivers nothing until they do)' }),
  detail: Type.Optional(Type.String({ description: 'why it is not allowed' })),
});
export type SubscriptionView = Static<typeof SubscriptionView>;

export const SubscriptionsResponse = Type.Object({
  reads: Type.Union([Type.Literal('all'), Type.Literal('scoped')], { description: '`all`: the device receives the whole workspace; `scoped`: only its allowed subscriptions' }),
  subscriptions: Type.Array(SubscriptionView),
  cursor: Type.String({ description: 'the change log’s head when answered: a snapshot of a new subscription (`/v1/snapshot?scope=…`) is consistent from any cursor at or after it' }),
});
export type SubscriptionsResponse = Static<typeof SubscriptionsResponse>;

/**
 * A change-log cursor as text: 1–18 digits, so it always fits Postgres's bigint (a 19-digit number may not).
 * The same rule holds for `after` and for the `Last-Event-ID` of a live stream.
 */
export const CURSOR_PATTERN = '^[0-9]{1,18}$';
const Cursor = Type.String({ pattern: CURSOR_PATTERN, description: 'cursor from a previous pull or stream event (1–18 digits); omit for the beginning' });

export const PullQuery = Type.Object(
  {
    after: Type.Optional(Cursor),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: SYNC_LIMITS.maxPullLimit, description: `changes per page (default 100, at most ${SYNC_LIMITS.maxPullLimit})` })),
    wait: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: SYNC_LIMITS.maxWaitSeconds,
        description: `long-poll: when nothing is newer than \`after\`, wait up to this many seconds for a change (at most ${SYNC_LIMITS.maxWaitSeconds})`,
      }),
    ),
    receiptsAfter: Type.Optional(
      Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: "also return the calling device's receipts with a deviceSeq above this (its highest contiguous receipted sequence)" }),
    ),
  },
  { additionalProperties: false },
);
export type PullQuery = Static<typeof PullQuery>;

export const PullResponse = Type.Object({
  changes: Type.Array(Change),
  conflicts: Type.Array(ConflictView, { description: 'conflicts opened or resolved by the events of these changes' }),
  receipts: Type.Optional(Type.Array(Receipt, { description: 'with `receiptsAfter`: the device’s own receipts above it, in deviceSeq order (at most `limit`)' })),
  next: Type.String({ description: 'cursor to pass as `after` next time' }),
  hasMore: Type.Boolean(),
});
export type PullResponse = Static<typeof PullResponse>;

export const StreamQuery = Type.Object(
  {
    after: Type.Optional(Cursor),
    receiptsAfter: PullQuery.properties.receiptsAfter,
  },
  { additionalProperties: false },
);
export type StreamQuery = Static<typeof StreamQuery>;

/**
 * An entity key as the snapshot pages by it: `<type>/<id>` (a type never holds `/`, so the first `/` splits it).
 * The SDK keys its pulled versions the same way.
 */
export const ENTITY_KEY_PATTERN = '^[a-z][a-z0-9_]{0,63}/[A-Za-z0-9_:-]{1,128}$';

export const SnapshotQuery = Type.Object(
  {
    cursor: Type.Optional(
      Type.String({
        pattern: CURSOR_PATTERN,
        description: 'the snapshot cursor the first page answered (1–18 digits); omit on the first page, pass it on every later one',
      }),
    ),
    after: Type.Optional(Type.String({ pattern: ENTITY_KEY_PATTERN, description: 'entity key `<type>/<id>` from the previous page’s `next`; omit on the first page' })),
    scope: Type.Optional(Type.String({ pattern: SCOPE_NAME_PATTERN, description: 'only the records of this read scope (a backfill after subscribing); absent: every record the device reads' })),
    value: Type.Optional(Type.String({ minLength: 1, maxLength: SYNC_LIMITS.maxPartitionValueLength, description: 'with `scope`, for a partitioned scope: the partition' })),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: SYNC_LIMITS.maxSnapshotLimit, description: `entities per page (default ${SYNC_LIMITS.defaultSnapshotLimit}, at most ${SYNC_LIMITS.maxSnapshotLimit})` }),
    ),
  },
  { additionalProperties: false },
);
export type SnapshotQuery = Static<typeof SnapshotQuery>;

export const SnapshotResponse = Type.Object({
  cursor: Type.String({ description: 'the change-log cursor every page of this snapshot is taken at: pass it as `cursor` to the next page, then pull `/v1/changes?after=<cursor>`' }),
  changes: Type.Array(Change, { description: 'each entity’s latest change at or before `cursor`, in entity-key order; entities deleted at `cursor` are left out' }),
  conflicts: Type.Array(ConflictView, { description: 'the conflicts open now on this page’s entities (the full ledger entry)' }),
  next: Type.Optional(Type.String({ description: 'entity key to pass as `after` for the next page (absent when `hasMore` is false)' })),
  hasMore: Type.Boolean(),
});
export type SnapshotResponse = Static<typeof SnapshotResponse>;

/** What a device holds after enrolment or a refresh: a short-lived access token and a rotating refresh token. */
export const DeviceCredentials = Type.Object({
  workspace: Type.String(),
  deviceId: Type.String(),
  site: Type.Union([Type.String(), Type.Null()]),
  accessToken: Type.String({ description: 'JWT for `Authorization: Bearer`' }),
  accessTokenExpiresAt: Type.String({ format: 'date-time' }),
  refreshToken: Type.String({ description: 'opaque; spent on use (each refresh returns a new one)' }),
  refreshTokenExpiresAt: Type.String({ format: 'date-time' }),
});
/** Limits of reporting abandoned sequences (`POST /v1/sequence/abandoned`). */
export const SEQUENCE_LIMITS = {
  /** Ranges in one report. */
  maxAbandonedRanges: 100,
  /** Length of the reason, in characters. */
  maxReasonLength: 500,
} as const;

const DeviceSeq = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

/**
 * Sequences a device gave up for good (events the server refused, discarded from the device's quarantine):
 * they will never be pushed, so operations count them as abandoned rather than missing.
 */
export const AbandonSequences = Type.Object(
  {
    ranges: Type.Array(Type.Object({ from: DeviceSeq, to: DeviceSeq }, { additionalProperties: false, description: 'inclusive; `from` ≤ `to`' }), {
      minItems: 1,
      maxItems: SEQUENCE_LIMITS.maxAbandonedRanges,
      description: `deviceSeq ranges, inclusive (at most ${SEQUENCE_LIMITS.maxAbandonedRanges})`,
    }),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: SEQUENCE_LIMITS.maxReasonLength, description: 'why, in the device’s words (recorded)' })),
  },
  { additionalProperties: false },
);
export type AbandonSequences = Static<typeof AbandonSequences>;

export const AbandonSequencesResponse = Type.Object({
  deviceId: Type.String(),
  /** Every range the device has reported so far, merged. */
  abandoned: Type.Array(Type.Tuple([Type.Integer(), Type.Integer()]), { description: 'every abandoned range of the device so far, merged, `[from, to]` inclusive' }),
  recorded: Type.Integer({ description: 'ranges of this report not recorded before' }),
});
export type AbandonSequencesResponse = Static<typeof AbandonSequencesResponse>;

export type DeviceCredentials = Static<typeof DeviceCredentials>;
const Unauthorized = { description: 'no token, or an expired, revoked, malformed or wrongly signed one', schema: ProblemSchema };
const Forbidden = { description: 'a token of the wrong kind or without the role', schema: ProblemSchema };

export const SYNC_ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/v1/changes',
    summary: 'Changes of the token’s workspace after a cursor, oldest first, paged; with the conflicts they opened or resolved, the device’s own receipts, and an optional long-poll',
    tags: ['sync'],
    query: PullQuery,
    responses: {
      200: { description: 'a page of changes (empty after `wait` seconds when nothing changed)', schema: PullResponse },
      400: { description: 'bad query', schema: ProblemSchema },
      401: Unauthorized,
      403: Forbidden,
    },
  },
  {
    method: 'get',
    path: '/v1/changes/stream',
    summary:
      'Live changes as Server-Sent Events (`text/event-stream`): `change` events carry the change with `id:` its cursor, `conflict` and `receipt` events ride along; reconnect with `Last-Event-ID` (or `after`) and the stream resumes after that cursor with no gap and no repeat',
    tags: ['sync'],
    query: StreamQuery,
    responses: { 200: { description: 'an event stream' }, 400: { description: 'bad query', schema: ProblemSchema }, 401: Unauthorized, 403: Forbidden },
  },
  {
    method: 'get',
    path: '/v1/snapshot',
    summary:
      'Current state of each entity the calling device reads (its subscriptions, or with `scope` one scope: a new subscription’s backfill), paged by entity key, every page taken at the one change-log cursor the first page fixes (`cursor`); a new device reads every page, then pulls `/v1/changes?after=<cursor>`',
    tags: ['sync'],
    query: SnapshotQuery,
    responses: {
      200: { description: 'a page of the snapshot', schema: SnapshotResponse },
      400: { description: 'bad query (the parameter is named)', schema: ProblemSchema },
      401: Unauthorized,
      403: Forbidden,
    },
  },
  {
    method: 'get',
    path: '/v1/subscriptions',
    summary:
      'The read scopes the calling device subscribes to, whether each is still allowed by the workspace’s access rules and the device’s claims, and whether it reads the whole workspace or only them',
    tags: ['sync'],
    responses: { 200: { description: 'the subscriptions', schema: SubscriptionsResponse }, 401: Unauthorized, 403: Forbidden },
  },
  {
    method: 'put',
    path: '/v1/subscriptions',
    summary:
      'Replace the calling device’s subscriptions to read scopes, all or nothing; pull, long-poll, live stream and snapshot then carry only what they cover. Backfill a new one with `/v1/snapshot?scope=…`',
    tags: ['sync'],
    body: SubscriptionsRequest,
    example: { subscriptions: [{ scope: 'project', value: 'p-17' }, { scope: 'catalog' }] },
    responses: {
      200: { description: 'the subscriptions now held', schema: SubscriptionsResponse },
      400: { description: 'bad body, or a scope the access rules do not declare or a value missing or not expected (each named by pointer)', schema: ProblemSchema },
      401: Unauthorized,
      403: { description: '`read-not-allowed`: the device’s role may not read a scope, or its claims do not list the value (each named by pointer; nothing changed)', schema: ProblemSchema },
    },
  },
  {
    method: 'get',
    path: '/v1/sequence',
    summary: 'The calling device’s sequence progress: highest pushed, highest contiguous applied, highest applied, and the gaps between (re-send those events with their ids)',
    tags: ['sync'],
    responses: { 200: { description: '{ deviceId, lastPushedSeq, contiguousSeq, maxAppliedSeq, gaps: [[from, to]], lastSeenAt }' }, 401: Unauthorized, 403: Forbidden },
  },
  {
    method: 'post',
    path: '/v1/sequence/abandoned',
    summary: 'Report deviceSeq ranges the calling device abandoned for good (refused events it discarded): they will never be pushed, and operations show them as abandoned, not missing; idempotent',
    tags: ['sync'],
    body: AbandonSequences,
    example: { ranges: [{ from: 7, to: 9 }], reason: 'refused as invalid and discarded' },
    responses: {
      200: { description: 'recorded', schema: AbandonSequencesResponse },
      400: { description: 'bad body (each problem named by JSON pointer; nothing recorded)', schema: ProblemSchema },
      401: Unauthorized,
      403: Forbidden,
    },
  },
  {
    method: 'post',
    path: '/v1/auth/refresh',
    summary: 'Exchange a refresh token for a new access token and a new refresh token (the old one is spent; presenting a spent one whose successor is in use revokes the login)',
    tags: ['auth'],
    auth: 'none',
    body: Type.Object({ refreshToken: Type.String() }, { additionalProperties: false }),
    example: { refreshToken: 'tmr_3q2x9k…' },
    responses: { 200: { description: 'new credentials', schema: DeviceCredentials }, 401: { description: 'unknown, expired, reused or revoked refresh token', schema: ProblemSchema } },
  },
  {
    method: 'get',
    path: '/v1/auth/whoami',
    summary: 'The principal the token stands for',
    tags: ['auth'],
    auth: 'any',
    responses: {
      200: {
        description: 'a device (workspace, deviceId, site, generation) or an operator (name, roles)',
        schema: Type.Object({ kind: Type.Union([Type.Literal('device'), Type.Literal('operator')]), tokenId: Type.String() }, { additionalProperties: true }),
        example: { kind: 'operator', name: 'ops-alice', roles: ['ops'], tokenId: 'op-7f3a' },
      },
      401: Unauthorized,
    },
  },
  {
    method: 'post',
    path: '/v1/admin/workspaces',
    summary: 'Create a workspace (idempotent)',
    tags: ['admin'],
    auth: 'admin',
    body: Type.Object({ workspace: Type.String(), name: Type.Optional(Type.String()), reason: Type.Optional(Type.String()) }),
    example: { workspace: 'lab-a', name: 'Labelling team A', reason: 'new team' },
    responses: { 200: { description: 'created or already there' }, 401: Unauthorized, 403: Forbidden },
  },
  {
    method: 'get',
    path: '/v1/admin/workspaces',
    summary: 'Workspaces and their device counts',
    tags: ['admin'],
    auth: 'admin',
    responses: { 200: { description: 'workspaces' }, 401: Unauthorized, 403: Forbidden },
  },
  {
    method: 'post',
    path: '/v1/admin/workspaces/{workspace}/devices',
    summary: 'Register a device and issue its first credentials',
    tags: ['admin'],
    auth: 'admin',
    body: Type.Object({
      deviceId: IdToken,
      site: Type.Optional(Type.String()),
      label: Type.Optional(Type.String()),
      role: Type.Optional(Type.String({ description: "the device's role under the workspace's access rules (one they declare, when there are some)" })),
      claims: Type.Optional(
        Type.Record(Type.String(), Type.Unknown(), { description: 'what its read scopes may take as values: claim name → a string or integer, or a list of them (at most 32 claims)' }),
      ),
      reason: Type.Optional(Type.String()),
    }),
    example: { deviceId: 'laptop-1', site: 'lab-a', label: 'Alice’s laptop', role: 'annotator', claims: { projects: ['p-17', 'p-18'] }, reason: 'new hire' },
    responses: {
      201: { description: 'credentials', schema: DeviceCredentials },
      400: { description: "bad body, or a role the workspace's access rules do not declare (`/role`)", schema: ProblemSchema },
      401: Unauthorized,
      403: Forbidden,
      404: { description: 'no such workspace', schema: ProblemSchema },
      409: { description: 'device id taken', schema: ProblemSchema },
    },
  },
  {
    method: 'put',
    path: '/v1/admin/workspaces/{workspace}/devices/{deviceId}/role',
    summary: "Give a device a role (null: none); it applies from the device's next request, its tokens keep working; audited",
    tags: ['admin'],
    auth: 'admin',
    body: Type.Object({ role: Type.Union([Type.String(), Type.Null()]), reason: Type.String() }),
    example: { role: 'reviewer', reason: 'Alice reviews the lab-a project from today' },
    responses: {
      200: { description: 'the device record, with its role' },
      400: { description: "bad body, or a role the workspace's access rules do not declare (`/role`)", schema: ProblemSchema },
      401: Unauthorized,
      403: Forbidden,
      404: { description: 'no such device', schema: ProblemSchema },
    },
  },
  {
    method: 'put',
    path: '/v1/admin/workspaces/{workspace}/devices/{deviceId}/claims',
    summary: "Replace a device's claims (the values its read scopes may take, e.g. its projects); it applies from the device's next request; audited",
    tags: ['admin'],
    auth: 'admin',
    body: Type.Object({ claims: Type.Record(Type.String(), Type.Unknown()), reason: Type.String() }),
    example: { claims: { projects: ['p-17'] }, reason: 'Alice moved to project p-17' },
    responses: {
      200: { description: 'the device record, with its claims' },
      400: { description: 'bad body (named by pointer)', schema: ProblemSchema },
      401: Unauthorized,
      403: Forbidden,
      404: { description: 'no such device', schema: ProblemSchema },
    },
  },
  {
    method: 'get',
    path: '/v1/admin/workspaces/{workspace}/access-rules',
    summary: 'The access rules in force in a workspace: its device roles, what each may write and whether it may resolve conflicts',
    tags: ['admin'],
    auth: 'admin',
    responses: {
      200: { description: '{ workspace, version, rules, publishedAt, publishedBy }' },
      401: Unauthorized,
      403: Forbidden,
      404: { description: 'the workspace has no access rules: every device writes and resolves everything', schema: ProblemSchema },
    },
  },
  {
    method: 'put',
    path: '/v1/admin/workspaces/{workspace}/access-rules',
    summary: "Publish the next version of a workspace's access rules (docs/protocol.md, Roles); in force from the next request of every device; audited",
    tags: ['admin'],
    auth: 'admin',
    body: Type.Object({
      rules: Type.Object({
        version: Type.Integer({ minimum: 1 }),
        roles: Type.Record(Type.String(), Type.Unknown()),
        defaultRole: Type.Optional(Type.String()),
        description: Type.Optional(Type.String()),
      }),
      reason: Type.String(),
    }),
    example: {
      rules: {
        version: 1,
        defaultRole: 'annotator',
        roles: {
          annotator: { write: { annotation: ['label', 'tags', 'notes', 'confidence', 'region'] }, resolve: false },
          reviewer: { write: { annotation: '*' }, resolve: true },
          pipeline: { write: { job: '*', output: '*' }, resolve: false },
        },
      },
      reason: 'labelling team roles',
    },
    responses: {
      200: { description: 'exactly these rules are that version already (a retry)' },
      201: { description: 'published: { workspace, version, rules, publishedAt, publishedBy }' },
      400: { description: 'the rules are not valid (each problem named by a pointer under /rules); nothing published', schema: ProblemSchema },
      401: Unauthorized,
      403: Forbidden,
      404: { description: 'no such workspace', schema: ProblemSchema },
      409: { description: 'the version is taken by other rules or is not the next one (`next` names it)', schema: ProblemSchema },
      415: { description: 'not application/json', schema: ProblemSchema },
    },
  },
  {
    method: 'get',
    path: '/v1/admin/workspaces/{workspace}/access-rules/versions',
    summary: "Every published version of a workspace's access rules, oldest first",
    tags: ['admin'],
    auth: 'admin',
    responses: { 200: { description: '{ versions: [...] }' }, 401: Unauthorized, 403: Forbidden },
  },
  {
    method: 'get',
    path: '/v1/admin/workspaces/{workspace}/devices',
    summary: 'Devices of a workspace, paged by device id',
    tags: ['admin'],
    auth: 'admin',
    responses: { 200: { description: 'devices' }, 401: Unauthorized, 403: Forbidden },
  },
  {
    method: 'post',
    path: '/v1/admin/workspaces/{workspace}/devices/{deviceId}/revoke',
    summary: 'Revoke a device: its tokens stop working at the next request',
    tags: ['admin'],
    auth: 'admin',
    body: Type.Object({ reason: Type.String() }),
    example: { reason: 'laptop lost' },
    responses: { 200: { description: 'the device record' }, 401: Unauthorized, 403: Forbidden, 404: { description: 'no such device', schema: ProblemSchema } },
  },
  {
    method: 'post',
    path: '/v1/admin/workspaces/{workspace}/devices/{deviceId}/reenrol',
    summary: 'Re-enrol a device: new credentials, every older token refused',
    tags: ['admin'],
    auth: 'admin',
    body: Type.Object({ reason: Type.String() }),
    example: { reason: 'laptop lost' },
    responses: { 200: { description: 'credentials', schema: DeviceCredentials }, 401: Unauthorized, 403: Forbidden, 404: { description: 'no such device', schema: ProblemSchema } },
  },
  {
    method: 'post',
    path: '/v1/admin/operator-tokens',
    summary: 'Mint an operator token (roles ops, admin)',
    tags: ['admin'],
    auth: 'admin',
    body: Type.Object({ name: Type.String(), roles: Type.Array(Type.String()), ttlSeconds: Type.Optional(Type.Integer()), reason: Type.String() }),
    example: { name: 'ops-alice', roles: ['ops'], ttlSeconds: 86400, reason: 'on call this week' },
    responses: { 201: { description: 'the token' }, 401: Unauthorized, 403: Forbidden },
  },
  {
    method: 'post',
    path: '/v1/admin/operator-tokens/{tokenId}/revoke',
    summary: 'Revoke an operator token',
    tags: ['admin'],
    auth: 'admin',
    body: Type.Object({ reason: Type.String() }),
    example: { reason: 'laptop lost' },
    responses: { 200: { description: 'revoked' }, 401: Unauthorized, 403: Forbidden },
  },
];

/** A device as the admin API lists and answers it (enrolment, role, claims, revoke, re-enrolment). */
export interface DeviceRecord {
  workspace: string;
  deviceId: string;
  site: string | null;
  label: string | null;
  /** The role the device holds under its workspace's access rules (null: none; see the access rules). */
  role: string | null;
  /** What the device's read scopes may take as parameters (e.g. `{ "projects": ["p1", "p2"] }`); see the access rules. */
  claims: Record<string, unknown>;
  status: 'active' | 'revoked';
  generation: number;
  createdAt: string;
  revokedAt: string | null;
  lastPushedSeq: number;
  lastPushAt: string | null;
}
