import { Type, type TProperties, type TSchema } from '@sinclair/typebox';
import {
  OPS_BULK_LIMITS,
  ConflictView,
  EventIdParam,
  LedgerId,
  OPENAPI_ROUTE,
  ParkedActionRequest,
  ParkedEditRequest,
  ParkedListQuery,
  ProblemSchema,
  RedeliveryRequest,
  ReplayCancelRequest,
  ReplayDiffQuery,
  ReplayListQuery,
  ReplayRequest,
  ReplaySwapRequest,
  ResolveRequest,
  openApiDocument,
  type HeaderDoc,
  type RouteDoc,
} from '@tidemark/contracts';
import { AssetsQuery, BacklogQuery } from './assets/assets.controller';
import { QueuesQuery } from './queues/queues.controller';
import { WaitingQuery } from './asset-refs/asset-refs.controller';
import { BulkResolveRequest, HotspotsQuery, ListQuery, OneQuery, Reason } from './conflicts/conflicts.controller';
import { ParkedBulkRedriveRequest } from './parked/parked.controller';
import { AuditQuery } from './audit/audit.controller';
import { DevicesQuery, SitesQuery } from './devices/devices.controller';
import { ScopeLagQuery, ScopesQuery } from './scopes/scopes.controller';
import { InspectQuery } from './inspect/inspect.controller';

/**
 * An object whose listed members are always there (their shapes are the `@tidemark/contracts` view types
 * named in the description, and the examples show them).
 */
const view = (name: string, members: Record<string, string>, extra: TProperties = {}): TSchema =>
  Type.Object(
    { ...Object.fromEntries(Object.entries(members).map(([key, description]) => [key, Type.Unknown({ description })])), ...extra },
    { description: `${name} (@tidemark/contracts)`, additionalProperties: true },
  );

const bad = (what: string) => ({ description: `${what} (each named by query:, path: or JSON pointer); nothing was changed`, schema: ProblemSchema });
const notFound = (what: string) => ({ description: what, schema: ProblemSchema });
const workspaceAmbiguous = { description: 'the id is used in several workspaces: name one with ?workspace=', schema: ProblemSchema };
const UUID_EXAMPLE = '0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69';
const REPLAY_ID = '5b1c2d3e-7f80-4a9b-8c0d-1e2f3a4b5c6d';
const AT = '2026-12-07T20:00:00.000Z';

const OpsResolveRequest = Type.Composite([ResolveRequest, Type.Object({ reason: Reason })], { additionalProperties: false });
const ParkedTarget = {
  consumer: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'the consumer that parked the message (e.g. merge-p00)' }),
  seq: Type.String({ pattern: '^[1-9][0-9]{0,17}$', description: 'the journal sequence of the parked message' }),
};
const ReplayId = Type.String({ format: 'uuid', description: 'a replay id' });

const ParkedActionResult = view('ParkedActionResult', {
  consumer: 'the entry’s consumer',
  seq: 'the entry’s journal sequence',
  action: 'redrive, edit or skip',
  eventId: 'the parked event’s id (null when not a record)',
  journalSeq: 'sequence of the journaled action',
  duplicate: 'the same action was journaled before',
  status: 'the entry’s status',
});
const OPS_CONFLICT = {
  id: 'c-1200-label',
  entity: { type: 'annotation', id: 'img-42' },
  field: 'label',
  kind: 'field',
  rule: 'review:concurrent-edit',
  status: 'open',
  base: { kind: 'value', value: 'cat' },
  ours: { eventId: '1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f', deviceId: 'laptop-1', hlc: { wall: 1764062153123, counter: 0 }, value: 'lynx', version: 3 },
  theirs: { eventId: UUID_EXAMPLE, deviceId: 'tablet-2', hlc: { wall: 1764062154000, counter: 0 }, value: 'bobcat', baseVersion: 2 },
  opened: { eventId: UUID_EXAMPLE, seq: 1200, version: 3, acceptedAt: AT },
  cursor: '1200:c-1200-label',
  workspace: 'default',
  openSeconds: 60,
};
const PARKED_ENTRY = {
  consumer: 'merge-p00',
  seq: 118,
  eventId: UUID_EXAMPLE,
  workspace: 'default',
  subject: 'tm.journal.default.p00.sketch.s-1',
  code: 'unknown-entity-type',
  reason: 'unknown entity type "sketch"',
  attempts: 1,
  status: 'parked',
  parkedAt: AT,
  resolution: null,
  resolvedSeq: null,
  note: null,
  event: { entity: { type: 'sketch', id: 's-1' }, deviceId: 'laptop-1', deviceSeq: 7, op: 'upsert', schemaVersion: 1 },
};
const PARKED_ACTION_EXAMPLE = { consumer: 'merge-p00', seq: 118, action: 'redrive', eventId: UUID_EXAMPLE, journalSeq: 131, duplicate: false, status: 'parked' };
const parkedActionErrors = {
  400: bad('the consumer, sequence or body is not valid, or the reason is missing'),
  404: notFound('no parked entry of this consumer at this sequence'),
  409: { description: 'the entry is not parked any more (re-driven or skipped), or its payload is not a journal record', schema: ProblemSchema },
  415: { description: 'not application/json', schema: ProblemSchema },
  503: { description: 'the journal did not acknowledge the action; retry (a repeated action is deduplicated)', schema: ProblemSchema },
};

const DIGEST = '4c1f9a0e7b3d2c1a0f9e8d7c6b5a49382716f5e4d3c2b1a09f8e7d6c5b4a3928';
const DIFF_SUMMARY = { entities: { affected: 42, changed: 1, unchanged: 41, added: 0, removed: 0 }, fields: { 'annotation.label': 1 }, conflicts: { opened: 0, closed: 1 }, receipts: {} };
const REPLAY_VIEW_EXAMPLE = {
  id: REPLAY_ID,
  status: 'built',
  scope: { workspace: 'default', entityType: 'annotation' },
  policyRevisions: {},
  reason: 'labels merged under the old policy',
  requestedBy: 'ops-alice',
  eventsPerSecond: 2000,
  planOnly: false,
  createdAt: AT,
  updatedAt: AT,
  plannedAt: AT,
  builtAt: AT,
  finishedAt: null,
  plan: {
    bounds: { fromSeq: 1, toSeq: 1000 },
    scanned: { events: 1000, lastSeq: 1000, toSeq: 1000 },
    selectedEvents: 420,
    affectedEntities: 42,
    rebuildEvents: 420,
    estimate: { seconds: 1, eventsPerSecond: 2000, basis: 'rate-limit' },
    revisions: null,
  },
  progress: { phase: 'built', eventsDone: 420, eventsTotal: 420, percent: 100, eventsPerSecond: 1800, etaSeconds: 0, lastSeq: 1000, phaseStartedAt: AT, resumes: 0, capacityEventsPerSecond: null },
  diff: { digest: DIGEST, summary: DIFF_SUMMARY },
  swap: null,
  error: null,
  links: { self: `/v1/replays/${REPLAY_ID}`, diff: `/v1/replays/${REPLAY_ID}/diff`, swap: `/v1/replays/${REPLAY_ID}/swap`, cancel: `/v1/replays/${REPLAY_ID}/cancel` },
};
const ReplayJobView = view('ReplayJobView', {
  id: 'the replay id',
  status: 'queued, planning, building, diffing, built, swapped, cancelled, failed or stale',
  scope: 'what it replays',
  plan: 'what the plan selected and the estimate',
  progress: 'phase, events done, rate, ETA',
  diff: 'the diff’s digest and summary once built',
  links: 'self, diff, swap, cancel',
});
const replayMissing = notFound('there is no replay with this id');
const dashboardHeaders: Record<string, HeaderDoc> = {
  ETag: { description: 'a digest of the file: send it back in If-None-Match', example: '"Yk2f0tq3cZbq1nXv9eVt7xQk3Hc8RZ1lmPq2a3b4c5d"' },
  'Cache-Control': { description: '`no-cache`: revalidate with the ETag', example: 'no-cache' },
  'Content-Security-Policy': { description: 'the page loads only its own files' },
};
const ifNoneMatch: Record<string, HeaderDoc> = { 'If-None-Match': { description: 'the ETag of the copy the browser holds: 304 when it is current' } };

/** ops-api's routes: the operators' API (streams, lag, devices, uploads, conflicts, parked work, replay) and its dashboard. */
export const OPS_ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/v1/overview',
    summary:
      'One page for the whole system: every configured service’s readiness, stream totals, projection lag, ingest and projection rates, parked messages, open conflicts and uploads in progress (what cannot be read is null, with the reason in `unavailable`)',
    tags: ['overview'],
    auth: 'operator',
    responses: {
      200: {
        description: 'the overview',
        schema: view('OverviewView', {
          at: 'when it was read',
          services: 'each configured service’s readiness',
          ready: 'every configured service is ready (null: none configured)',
          streams: 'stream totals',
          consumers: 'consumer totals',
          projection: 'projection lag',
          rates: 'sampled ingest and projection rates',
          history: 'the last samples (a bounded ring buffer): rates between samples and the projection backlog, for sparklines',
          parked: 'parked messages',
          conflictsOpen: 'open conflicts',
          uploads: 'uploads in progress',
          unavailable: 'parts that could not be read, and why',
        }),
        example: {
          at: AT,
          services: [
            {
              name: 'gateway',
              url: 'http://127.0.0.1:3001',
              ready: true,
              status: 200,
              detail: {
                status: 'ready',
                checks: [
                  { name: 'nats', ok: true },
                  { name: 'postgres', ok: true },
                ],
              },
              latencyMs: 3,
            },
          ],
          ready: true,
          streams: { count: 4, messages: 1200, bytes: 640000, journal: { messages: 1000, lastSeq: 1000, lastAt: AT } },
          consumers: { count: 6, withBacklog: 0, oldestPendingSeconds: 0, redelivered: 0 },
          projection: { consumerPrefix: 'merge', partitions: 4, partitionsBehind: 0, lag: { messages: 0, seconds: 0 } },
          rates: { sampledBy: 'this ops-api instance, in memory (empty after a restart)' },
          history: { intervalMs: 5000, capacity: 120, points: [{ at: AT, ingestPerSecond: 12.5, projectPerSecond: 12, lagMessages: 3, lagSeconds: 0.4 }] },
          parked: 0,
          conflictsOpen: 2,
          uploads: { inProgress: 1, bytesPending: 5242880 },
          unavailable: [],
        },
      },
    },
  },
  {
    method: 'get',
    path: '/v1/streams',
    summary:
      'Every stream (messages, bytes, first and last sequence and time) and its consumers (pending, ack-pending, redeliveries, ack floor, waiting pulls, lag and the age of the oldest message), and per merge partition the projection checkpoint and what is behind it',
    tags: ['streams'],
    auth: 'operator',
    responses: {
      200: {
        description: 'streams, consumers and projection lag',
        schema: view('StreamsView', { at: 'when it was read', streams: 'each stream with its consumers', projection: 'checkpoints and lag per merge partition' }),
        example: {
          at: AT,
          streams: [{ name: 'JOURNAL', messages: 1000, bytes: 512000, firstSeq: 1, lastSeq: 1000, firstAt: '2026-12-07T09:00:00.000Z', lastAt: AT, consumers: [] }],
          projection: { consumerPrefix: 'merge', partitions: [], total: { messages: 0, seconds: 0 } },
        },
      },
    },
  },
  {
    method: 'get',
    path: '/v1/projection',
    summary: 'Projection checkpoints and the 100 newest parked messages, as Postgres holds them',
    tags: ['streams'],
    auth: 'operator',
    responses: {
      200: {
        description: 'checkpoints and parked messages',
        schema: Type.Object({
          checkpoints: Type.Array(Type.Object({ consumer: Type.String(), streamSeq: Type.String(), updatedAt: Type.String() })),
          parked: Type.Array(Type.Object({}, { additionalProperties: true })),
        }),
        example: { checkpoints: [{ consumer: 'merge-p00', streamSeq: '250', updatedAt: AT }], parked: [] },
      },
    },
  },
  {
    method: 'get',
    path: '/v1/devices',
    summary: 'Devices, registered or known from their events: what each pushed against what merge-service applied, gaps, last seen, and whether it is falling behind; sorted, filtered and paged',
    tags: ['devices'],
    auth: 'operator',
    query: DevicesQuery,
    responses: {
      200: {
        description: 'a page of devices',
        schema: view('DevicesView', {
          at: 'when it was assessed',
          staleAfterSeconds: 'the stale threshold used',
          behindThreshold: 'the behind threshold used',
          devices: 'the page',
          total: 'devices matching',
          next: '`after` of the next page, or null',
        }),
        example: {
          at: AT,
          staleAfterSeconds: 3600,
          behindThreshold: 100,
          devices: [
            {
              workspace: 'default',
              deviceId: 'laptop-1',
              site: 'lab-a',
              label: 'Alice’s laptop',
              status: 'active',
              lastPushedSeq: 42,
              lastPushAt: AT,
              lastAppliedSeq: 42,
              contiguousSeq: 40,
              missing: 1,
              gaps: [[41, 41]],
              abandoned: 0,
              abandonedRanges: [],
              events: 41,
              behindBy: 2,
              lastSeenAt: AT,
              silentSeconds: 12,
              fallingBehind: false,
              reasons: [],
            },
          ],
          total: 1,
          next: null,
        },
      },
      400: bad('a query parameter is not valid'),
    },
  },
  {
    method: 'get',
    path: '/v1/sites',
    summary: 'Per workspace and site: devices, how many fall behind (and which), oldest and newest last-seen, summed backlog',
    tags: ['devices'],
    auth: 'operator',
    query: SitesQuery,
    responses: {
      200: {
        description: 'sites',
        schema: view('SitesView', {
          at: 'when it was assessed',
          staleAfterSeconds: 'the stale threshold used',
          behindThreshold: 'the behind threshold used',
          sites: 'one entry per (workspace, site)',
        }),
        example: {
          at: AT,
          staleAfterSeconds: 3600,
          behindThreshold: 100,
          sites: [
            { workspace: 'default', site: 'lab-a', devices: 3, fallingBehind: 0, oldestLastSeenAt: '2026-12-07T19:40:00.000Z', lastSeenAt: AT, behindBy: 2, missing: 1, fallingBehindDevices: [] },
          ],
        },
      },
      400: bad('a query parameter is not valid'),
    },
  },
  {
    method: 'get',
    path: '/v1/scopes',
    summary: 'Read scopes of a workspace (partial sync): what each reads, the roles that may read it, and its subscribers by partition value; subscriptions to scopes no longer declared',
    tags: ['devices'],
    auth: 'operator',
    query: ScopesQuery,
    responses: {
      200: {
        description: 'scopes',
        schema: view('ScopesView', {
          workspace: 'the workspace',
          rulesVersion: 'the access rules in force (null: none)',
          scopes: 'one entry per declared scope',
          undeclared: 'subscriptions that deliver nothing',
        }),
        example: {
          workspace: 'lab',
          rulesVersion: 2,
          scopes: [
            {
              scope: 'project',
              types: ['task'],
              partitioned: true,
              values: { claim: 'projects' },
              readBy: ['annotator'],
              subscribers: 2,
              subscriptions: [{ value: 'p-17', subscribers: 2, devices: ['laptop-1', 'tablet-2'] }],
            },
          ],
          undeclared: [],
        },
      },
      400: bad('a query parameter is not valid'),
    },
  },
  {
    method: 'get',
    path: '/v1/scopes/lag',
    summary:
      "Lag within one read scope: per subscribed value, the newest change in it and each subscriber's changes behind (after the cursor the gateway last delivered to the device), most behind first; paged by value",
    tags: ['devices'],
    auth: 'operator',
    query: ScopeLagQuery,
    responses: {
      200: {
        description: 'lag per value and per device',
        schema: view(
          'ScopeLagView',
          {
            workspace: 'the workspace',
            scope: 'the scope',
            rulesVersion: 'the access rules in force',
            at: 'when it was read',
            cap: 'behind counts stop here',
            values: 'one entry per subscribed value',
          },
          { next: Type.Optional(Type.String({ description: 'pass as `after` for the next page of values; absent on the last page' })) },
        ),
        example: {
          workspace: 'lab',
          scope: 'project',
          rulesVersion: 2,
          at: AT,
          cap: 1000,
          values: [
            {
              value: 'p-17',
              head: '48211',
              subscribers: 2,
              behind: 12,
              devicesBehind: 1,
              devices: [
                { deviceId: 'tablet-2', cursor: '47990', readAt: '2026-12-07T19:58:12.000Z', behind: 12 },
                { deviceId: 'laptop-1', cursor: '48211', readAt: AT, behind: 0 },
              ],
            },
          ],
        },
      },
      400: bad('a query parameter is not valid'),
      404: notFound('the access rules in force declare no such scope'),
    },
  },
  {
    method: 'get',
    path: '/v1/assets',
    summary: 'Asset transfers in progress from the upload ledger: pending bytes by workspace, file class and content type; stalled uploads; expired uploads not yet collected',
    tags: ['assets'],
    auth: 'operator',
    query: AssetsQuery,
    responses: {
      200: {
        description: 'uploads in progress',
        schema: view('UploadsView', {
          at: 'when it was read',
          stalledAfterSeconds: 'the stall threshold used',
          grouping: 'how uploads are grouped',
          inProgress: 'totals',
          groups: 'by workspace and file class',
          stalled: 'stalled uploads',
          expired: 'expired uploads',
        }),
        example: {
          at: AT,
          stalledAfterSeconds: 900,
          grouping: 'workspace and file class',
          inProgress: { uploads: 1, unknownLength: 0, bytesDeclared: 10485760, bytesReceived: 5242880, bytesPending: 5242880, stalled: 0, expired: 0 },
          groups: [],
          stalled: [],
          expired: [],
        },
      },
      400: bad('a query parameter is not valid'),
    },
  },
  {
    method: 'get',
    path: '/v1/assets/backlog',
    summary: 'Uploads in progress per workspace and site (of the device that created each upload) or per workspace and file class: uploads, bytes pending, stalled, expired, the oldest one’s age',
    tags: ['assets'],
    auth: 'operator',
    query: BacklogQuery,
    responses: {
      200: {
        description: 'the upload backlog',
        schema: view('UploadBacklogView', {
          at: 'when it was read',
          by: 'site or class',
          stalledAfterSeconds: 'the stall threshold used',
          inProgress: 'totals',
          groups: 'per workspace and site (null: no site) or file class, most bytes pending first',
        }),
        example: {
          at: AT,
          by: 'site',
          stalledAfterSeconds: 900,
          inProgress: { uploads: 2, unknownLength: 0, bytesDeclared: 15728640, bytesReceived: 5242880, bytesPending: 10485760, stalled: 1, expired: 0 },
          groups: [
            {
              workspace: 'default',
              site: 'lab-a',
              uploads: 2,
              unknownLength: 0,
              bytesDeclared: 15728640,
              bytesReceived: 5242880,
              bytesPending: 10485760,
              stalled: 1,
              expired: 0,
              oldestCreatedAt: '2026-12-07T19:00:00.000Z',
              oldestSeconds: 3600,
            },
          ],
        },
      },
      400: bad('a query parameter is not valid'),
    },
  },
  {
    method: 'get',
    path: '/v1/queues',
    summary:
      'Job queues (declared by a job type’s `queueBy`): per workspace and queue, jobs queued, running, retrying and failed, retries, open repairs, the oldest queued job’s age, and which queues fall behind',
    tags: ['queues'],
    auth: 'operator',
    query: QueuesQuery,
    responses: {
      200: {
        description: 'job queues',
        schema: view('QueuesView', {
          at: 'when it was assessed',
          waitThresholdSeconds: 'the threshold used',
          rule: 'when a queue falls behind, in words',
          total: 'sums over every queue',
          queues: 'falling behind first, then longest waiting',
        }),
        example: {
          at: AT,
          waitThresholdSeconds: 600,
          rule: 'a queue falls behind when its oldest queued job has waited more than 600 s (measured from the job’s own stamp of its transition to queued)',
          total: { queues: 1, fallingBehind: 1, queued: 12, running: 2, retrying: 1, failed: 3, retries: 4, repairsOpen: 0, oldestQueuedSeconds: 840 },
          queues: [
            {
              workspace: 'default',
              queue: 'transcription',
              queued: 12,
              running: 2,
              retrying: 1,
              failed: 3,
              retries: 4,
              repairsOpen: 0,
              oldestQueuedAt: '2026-12-07T19:46:00.000Z',
              oldestQueuedSeconds: 840,
              fallingBehind: true,
              reasons: [{ code: 'waiting', detail: 'the oldest queued job has waited 840 s (more than 600 s)' }],
            },
          ],
        },
      },
      400: bad('a query parameter is not valid'),
    },
  },
  {
    method: 'get',
    path: '/v1/assets/waiting',
    summary: 'Records waiting for their bytes: asset fields whose asset is not verified in the workspace (`uploading`: an upload is open; `missing`: none is), paged',
    tags: ['assets'],
    auth: 'operator',
    query: WaitingQuery,
    responses: {
      200: {
        description: 'a page of waiting references',
        schema: Type.Object({
          waiting: Type.Array(
            Type.Object({
              workspace: Type.String(),
              entity: Type.Object({ type: Type.String(), id: Type.String() }),
              field: Type.String(),
              sha256: Type.String(),
              status: Type.Union([Type.Literal('uploading'), Type.Literal('missing')]),
            }),
          ),
          hasMore: Type.Boolean(),
          next: Type.Optional(Type.String()),
        }),
        example: {
          waiting: [
            { workspace: 'default', entity: { type: 'annotation', id: 'img-42' }, field: 'assetId', sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', status: 'uploading' },
          ],
          hasMore: false,
        },
      },
      400: bad('a query parameter is not valid, or `after` is not a `next` this API gave'),
    },
  },
  {
    method: 'get',
    path: '/v1/conflicts',
    summary: 'Conflicts of every workspace (or one), ordered by the journal sequence that opened them; `status` defaults to open',
    tags: ['conflicts'],
    auth: 'operator',
    query: ListQuery,
    responses: {
      200: {
        description: 'a page of conflicts',
        schema: Type.Object({
          conflicts: Type.Array(Type.Intersect([ConflictView, Type.Object({ workspace: Type.String(), openSeconds: Type.Union([Type.Number(), Type.Null()]) })])),
          next: Type.Optional(Type.String()),
          hasMore: Type.Boolean(),
        }),
        example: { conflicts: [OPS_CONFLICT], hasMore: false },
      },
      400: bad('a query parameter is not valid'),
    },
  },
  {
    method: 'get',
    path: '/v1/conflicts/hotspots',
    summary: 'Open conflicts counted by workspace, entity type and field (most first) with the oldest opening time and its age, and the open count per workspace',
    tags: ['conflicts'],
    auth: 'operator',
    query: HotspotsQuery,
    responses: {
      200: {
        description: 'hotspots',
        schema: view('ConflictHotspotsView', {
          at: 'when it was read',
          open: 'open conflicts in all',
          workspaces: 'open count per workspace',
          hotspots: 'open count per workspace, entity type and field',
        }),
        example: {
          at: AT,
          open: 2,
          workspaces: [{ workspace: 'default', open: 2, oldestOpenedAt: AT, oldestOpenSeconds: 60 }],
          hotspots: [{ workspace: 'default', entityType: 'annotation', field: 'label', open: 2, oldestOpenedAt: AT, oldestOpenSeconds: 60 }],
        },
      },
      400: bad('a query parameter is not valid'),
    },
  },
  {
    method: 'get',
    path: '/v1/conflicts/{conflictId}',
    summary: 'One conflict: base, ours, theirs, the rule, both stamps and devices, its status',
    tags: ['conflicts'],
    auth: 'operator',
    params: { conflictId: LedgerId },
    query: OneQuery,
    responses: {
      200: {
        description: 'the conflict',
        schema: Type.Intersect([ConflictView, Type.Object({ workspace: Type.String(), openSeconds: Type.Union([Type.Number(), Type.Null()]) })]),
        example: OPS_CONFLICT,
      },
      400: bad('the id or workspace is not valid'),
      404: notFound('no such conflict (in the workspace named)'),
      409: workspaceAmbiguous,
    },
  },
  {
    method: 'post',
    path: '/v1/conflicts/{conflictId}/resolve',
    summary:
      'Journal a resolve event for an open conflict, exactly as a device would (202 once JetStream acknowledged it; the conflict shows resolved when merge-service applied it); audited with the reason',
    tags: ['conflicts'],
    auth: 'operator',
    params: { conflictId: LedgerId },
    query: OneQuery,
    body: OpsResolveRequest,
    example: { pick: 'theirs', reason: 'the reviewer’s label is the right one' },
    responses: {
      202: {
        description: 'journaled (accepted) or already journaled (duplicate)',
        schema: Type.Object({
          eventId: Type.String(),
          seq: Type.Integer(),
          status: Type.Union([Type.Literal('accepted'), Type.Literal('duplicate')]),
          workspace: Type.String(),
          conflictId: Type.String(),
        }),
        example: { eventId: UUID_EXAMPLE, seq: 1201, status: 'accepted', workspace: 'default', conflictId: 'c-1200-label' },
      },
      400: bad('the body is not valid or names no reason'),
      404: notFound('no such conflict'),
      409: { description: 'the conflict is already resolved, the eventId names another event, or the id is used in several workspaces', schema: ProblemSchema },
      415: { description: 'not application/json', schema: ProblemSchema },
      503: { description: 'the journal did not acknowledge the resolve event; retry with the same eventId', schema: ProblemSchema },
    },
  },
  {
    method: 'post',
    path: '/v1/conflicts/resolve',
    summary: `Resolve many open conflicts by one rule (keep ours, or keep theirs) with one reason: one resolve event each, in the order given, at most ${OPS_BULK_LIMITS.maxItems}; each audited (conflict.resolve) with its outcome, and one refused does not stop the rest`,
    tags: ['conflicts'],
    auth: 'operator',
    body: BulkResolveRequest,
    example: {
      conflicts: [
        { workspace: 'default', conflictId: 'c-1200-label' },
        { workspace: 'default', conflictId: 'c-1201-label' },
      ],
      pick: 'theirs',
      reason: 'the reviewers’ labels win this batch',
    },
    responses: {
      202: {
        description: 'each conflict’s outcome: journaled (accepted or duplicate) or refused with its problem',
        schema: view('OpsBulkResolveResult', { pick: 'the rule applied', journaled: 'resolve events journaled', refused: 'conflicts refused', results: 'per conflict, in the order asked' }),
        example: {
          pick: 'theirs',
          journaled: 1,
          refused: 1,
          results: [
            { workspace: 'default', conflictId: 'c-1200-label', status: 'accepted', eventId: UUID_EXAMPLE, seq: 1201 },
            {
              workspace: 'default',
              conflictId: 'c-1201-label',
              status: 'refused',
              problem: { type: 'https://tidemark.dev/problems/conflict-already-resolved', title: 'Conflict already resolved', status: 409 },
            },
          ],
        },
      },
      400: bad(`the body is not valid (more than ${OPS_BULK_LIMITS.maxItems} conflicts, one listed twice, no reason)`),
      415: { description: 'not application/json', schema: ProblemSchema },
    },
  },
  {
    method: 'get',
    path: '/v1/events/{eventId}',
    summary: 'Everything about one event: its journal entry, receipt, merge decisions, conflicts opened and resolved, repairs, parked entries, and the entity before and after it',
    tags: ['events'],
    auth: 'operator',
    params: { eventId: EventIdParam },
    query: InspectQuery,
    responses: {
      200: {
        description: 'the event',
        schema: view('InspectView', {
          eventId: 'the event id',
          journal: 'its journal entry',
          receipt: 'its receipt (null when none)',
          decisions: 'merge decisions',
          conflicts: 'opened and resolved',
          repairs: 'repairs it caused',
          parked: 'parked entries',
          entity: 'the entity before and after it',
        }),
        example: {
          eventId: UUID_EXAMPLE,
          journal: { stream: 'JOURNAL', seq: 17, subject: 'tm.journal.default.p03.annotation.img-42', storedAt: AT, record: null, duplicateSeqs: [] },
          receipt: null,
          decisions: [],
          conflicts: { opened: [], resolved: [] },
          repairs: [],
          parked: [],
          entity: null,
        },
      },
      400: bad('the eventId or workspace is not valid'),
      404: notFound('no receipt or parked entry for the event: unknown, or accepted and not projected yet'),
      409: workspaceAmbiguous,
    },
  },
  {
    method: 'get',
    path: '/v1/parked',
    summary: 'Parked entries, oldest first (`status` defaults to `parked`; `all` for every status), paged by `next`',
    tags: ['parked'],
    auth: 'operator',
    query: ParkedListQuery,
    responses: {
      200: {
        description: 'a page of parked entries',
        schema: view('ParkedPage', { parked: 'the entries', hasMore: 'more after this page' }, { next: Type.Optional(Type.String()) }),
        example: { parked: [PARKED_ENTRY], hasMore: false },
      },
      400: bad('a query parameter is not valid'),
    },
  },
  {
    method: 'get',
    path: '/v1/parked/{consumer}/{seq}',
    summary: 'One parked entry with its journal record (as parked, and as the journal holds it), its event’s receipt and its audit trail',
    tags: ['parked'],
    auth: 'operator',
    params: ParkedTarget,
    responses: {
      200: {
        description: 'the entry',
        schema: view('ParkedDetailView', {
          record: 'the parked journal record (null when not one)',
          payload: 'the payload as parked',
          journal: 'the message as the journal holds it (null when gone)',
          receipt: 'the event’s receipt',
          audit: 'operator actions on it',
        }),
        example: {
          ...PARKED_ENTRY,
          record: null,
          payload: '{"v":1,"workspace":"default"}',
          journal: null,
          receipt: { status: 'parked', reason: 'unknown entity type "sketch"', seq: 118, version: null },
          audit: [],
        },
      },
      400: bad('the consumer or sequence is not valid'),
      404: notFound('no parked entry of this consumer at this sequence'),
    },
  },
  {
    method: 'post',
    path: '/v1/parked/redrive',
    summary: `Re-drive many parked entries as they are, with one reason, in the order given (at most ${OPS_BULK_LIMITS.maxItems}): each as a single re-drive, audited (parked.redrive) with its outcome; one refused does not stop the rest`,
    tags: ['parked'],
    auth: 'operator',
    body: ParkedBulkRedriveRequest,
    example: {
      entries: [
        { consumer: 'merge-p00', seq: 118 },
        { consumer: 'merge-p01', seq: 121 },
      ],
      reason: 'schema v2 of sketch is published now',
    },
    responses: {
      202: {
        description: 'each entry’s outcome: journaled or refused with its problem',
        schema: view('ParkedBulkResult', { journaled: 'entries journaled', refused: 'entries refused', results: 'per entry, in the order asked' }),
        example: {
          journaled: 1,
          refused: 1,
          results: [
            { consumer: 'merge-p00', seq: 118, status: 'journaled', journalSeq: 131, duplicate: false },
            { consumer: 'merge-p01', seq: 121, status: 'refused', problem: { type: 'https://tidemark.dev/problems/parked-entry-not-parked', title: 'Not parked', status: 409 } },
          ],
        },
      },
      400: bad(`the body is not valid (more than ${OPS_BULK_LIMITS.maxItems} entries, one listed twice, no reason)`),
      415: { description: 'not application/json', schema: ProblemSchema },
      503: { description: 'the journal or Postgres did not answer', schema: ProblemSchema },
    },
  },
  {
    method: 'get',
    path: '/v1/audit',
    summary: 'The audit log, newest first: who did what to what, why, and how it ended; filtered by action (or an action prefix such as parked.*), actor, outcome and workspace; paged by `next`',
    tags: ['audit'],
    auth: 'operator',
    query: AuditQuery,
    responses: {
      200: {
        description: 'a page of audit entries',
        schema: view(
          'AuditPage',
          { entries: 'id, at, actor, actorKind, tokenId, action, target, reason, detail, outcome', hasMore: 'more after this page' },
          { next: Type.Optional(Type.String({ description: '`before` of the next page' })) },
        ),
        example: {
          entries: [
            {
              id: '812',
              at: AT,
              actor: 'ops-alice',
              actorKind: 'operator',
              tokenId: 'tok-1',
              action: 'parked.redrive',
              target: { consumer: 'merge-p00', seq: 118 },
              reason: 'schema v2 of sketch is published now',
              detail: { eventId: UUID_EXAMPLE, journalSeq: 131, duplicate: false },
              outcome: 'ok',
            },
          ],
          hasMore: true,
          next: '812',
        },
      },
      400: bad('a query parameter is not valid'),
    },
  },
  {
    method: 'post',
    path: '/v1/parked/{consumer}/{seq}/redrive',
    summary: 'Re-drive the parked journal record as it is (202 once the journal holds it; a repeated call is deduplicated); audited',
    tags: ['parked'],
    auth: 'operator',
    params: ParkedTarget,
    body: ParkedActionRequest,
    example: { reason: 'schema v2 of sketch is published now' },
    responses: { 202: { description: 'journaled', schema: ParkedActionResult, example: PARKED_ACTION_EXAMPLE }, ...parkedActionErrors },
  },
  {
    method: 'post',
    path: '/v1/parked/{consumer}/{seq}/edit',
    summary: 'Re-drive a corrected event in place of the parked one (checked like a push; it must stay the same event); audited',
    tags: ['parked'],
    auth: 'operator',
    params: ParkedTarget,
    body: ParkedEditRequest,
    example: {
      reason: 'the device sent a label of the wrong type',
      event: {
        eventId: UUID_EXAMPLE,
        deviceId: 'laptop-1',
        deviceSeq: 7,
        hlc: { wall: 1764062153123, counter: 0 },
        entity: { type: 'annotation', id: 'img-42' },
        op: 'upsert',
        baseVersion: 0,
        fields: { label: { op: 'set', value: 'cat' } },
        schemaVersion: 1,
      },
    },
    responses: {
      202: { description: 'journaled', schema: ParkedActionResult, example: { ...PARKED_ACTION_EXAMPLE, action: 'edit' } },
      ...parkedActionErrors,
      422: { description: 'the edited event is another event (eventId, deviceId, deviceSeq or entity changed); nothing was journaled', schema: ProblemSchema },
    },
  },
  {
    method: 'post',
    path: '/v1/parked/{consumer}/{seq}/skip',
    summary: 'Skip the parked entry: nothing is applied; the entry and its event’s receipt become skipped with the reason; audited',
    tags: ['parked'],
    auth: 'operator',
    params: ParkedTarget,
    body: ParkedActionRequest,
    example: { reason: 'test data from a retired device' },
    responses: { 202: { description: 'journaled', schema: ParkedActionResult, example: { ...PARKED_ACTION_EXAMPLE, action: 'skip' } }, ...parkedActionErrors },
  },
  {
    method: 'post',
    path: '/v1/replays',
    summary: 'Request a scoped replay (always a dry run): merge-service plans it, rebuilds the entities into a shadow schema and diffs shadow against live; audited',
    tags: ['replay'],
    auth: 'operator',
    body: ReplayRequest,
    example: { scope: { workspace: 'default', entityType: 'annotation' }, reason: 'labels merged under the old policy' },
    responses: {
      202: { description: 'recorded; it runs in the background', schema: ReplayJobView, example: { ...REPLAY_VIEW_EXAMPLE, status: 'queued' } },
      400: bad('the request is not valid or not consistent (dryRun false, a policy revision not published)'),
    },
  },
  {
    method: 'get',
    path: '/v1/replays',
    summary: 'Replays, newest first',
    tags: ['replay'],
    auth: 'operator',
    query: ReplayListQuery,
    responses: {
      200: { description: 'replays', schema: Type.Object({ replays: Type.Array(ReplayJobView) }), example: { replays: [REPLAY_VIEW_EXAMPLE] } },
      400: bad('a query parameter is not valid'),
    },
  },
  {
    method: 'get',
    path: '/v1/replays/{id}',
    summary: 'One replay: its plan, progress, diff summary and swap',
    tags: ['replay'],
    auth: 'operator',
    params: { id: ReplayId },
    responses: { 200: { description: 'the replay', schema: ReplayJobView, example: REPLAY_VIEW_EXAMPLE }, 400: bad('the id is not a UUID'), 404: replayMissing },
  },
  {
    method: 'get',
    path: '/v1/replays/{id}/diff',
    summary: 'The replay’s diff, entity by entity (changed, added and removed by default), with the summary and the digest to confirm a swap with',
    tags: ['replay'],
    auth: 'operator',
    params: { id: ReplayId },
    query: ReplayDiffQuery,
    responses: {
      200: {
        description: 'a page of the diff',
        schema: view('ReplayDiffPage', {
          id: 'the replay',
          status: 'its status',
          digest: 'confirm a swap with this',
          summary: 'counts by change',
          entities: 'the page',
          next: '`after` of the next page, or null',
        }),
        example: { id: REPLAY_ID, status: 'built', digest: DIGEST, summary: DIFF_SUMMARY, entities: [], next: null },
      },
      400: bad('the id or a query parameter is not valid'),
      404: replayMissing,
      409: { description: 'the diff is not built yet', schema: ProblemSchema },
    },
  },
  {
    method: 'post',
    path: '/v1/replays/{id}/swap',
    summary: 'Apply a built replay to live, confirming with the digest of the diff that was read; audited',
    tags: ['replay'],
    auth: 'operator',
    params: { id: ReplayId },
    body: ReplaySwapRequest,
    example: { confirm: DIGEST, reason: 'diff reviewed with the labelling team' },
    responses: {
      200: {
        description: 'swapped',
        schema: view('ReplaySwapResult', { id: 'the replay', status: '`swapped`', swap: 'what the swap changed' }),
        example: { id: REPLAY_ID, status: 'swapped', swap: { entities: 42, changed: 1, added: 0, removed: 0, changes: 1, conflictsOpened: 0, conflictsWithdrawn: 1, activated: [] } },
      },
      400: bad('the id or body is not valid'),
      404: replayMissing,
      409: { description: 'the replay is not built, `confirm` is not its diff’s digest, or live changed since it was built (it is stale now: run it again)', schema: ProblemSchema },
    },
  },
  {
    method: 'post',
    path: '/v1/replays/{id}/cancel',
    summary: 'Cancel a replay that has not ended; audited',
    tags: ['replay'],
    auth: 'operator',
    params: { id: ReplayId },
    body: ReplayCancelRequest,
    example: { reason: 'wrong scope' },
    responses: {
      200: { description: 'cancelled', schema: ReplayJobView, example: { ...REPLAY_VIEW_EXAMPLE, status: 'cancelled' } },
      400: bad('the id or body is not valid'),
      404: replayMissing,
      409: { description: 'the replay has already ended', schema: ProblemSchema },
    },
  },
  {
    method: 'post',
    path: '/v1/redeliveries',
    summary: 'Re-deliver a stream range (MERGED, REVIEW, ASSETS) to an integrator’s durable consumer by rewinding it; audited',
    tags: ['replay'],
    auth: 'operator',
    body: RedeliveryRequest,
    example: { stream: 'MERGED', consumer: 'search-indexer', fromSeq: 100, toSeq: 200, reason: 'the indexer lost its index' },
    responses: {
      200: {
        description: 'rewound: the consumer receives the range again',
        schema: Type.Object({ kind: Type.Literal('rewound') }, { additionalProperties: true }),
        example: { kind: 'rewound', previous: { ackFloor: 250 }, beyondRange: 50, skippedUnacknowledged: 0 },
      },
      400: bad('the body is not valid, or the range is not in the stream'),
      404: notFound('no such consumer on the stream'),
      409: {
        description: 'the consumer cannot be re-delivered to (not an integrator’s durable consumer, or unacknowledged messages before fromSeq without skipUnacknowledged)',
        schema: ProblemSchema,
      },
    },
  },
  {
    method: 'get',
    path: '/',
    operationId: 'dashboardRoot',
    summary: 'The operators’ web dashboard (its index page); the page asks for an operator token and sends it with every API call. Its other static files are served under /dashboard/',
    tags: ['dashboard'],
    auth: 'none',
    headers: ifNoneMatch,
    responses: {
      200: { description: 'the page', contentType: 'text/html', schema: Type.String(), headers: dashboardHeaders },
      304: { description: 'the browser’s copy is current', headers: dashboardHeaders },
    },
  },
  {
    method: 'get',
    path: '/dashboard',
    operationId: 'dashboardIndex',
    summary: 'The dashboard’s index page (as at /)',
    tags: ['dashboard'],
    auth: 'none',
    headers: ifNoneMatch,
    responses: {
      200: { description: 'the page', contentType: 'text/html', schema: Type.String(), headers: dashboardHeaders },
      304: { description: 'the browser’s copy is current', headers: dashboardHeaders },
    },
  },
  OPENAPI_ROUTE,
];

/** The OpenAPI document ops-api serves at `GET /v1/openapi.json`. */
export const OPS_OPENAPI = openApiDocument('tidemark ops-api', '1', OPS_ROUTES, {
  description:
    'The operators’ API: streams, lag, devices and sites, uploads (also per site and file class), job queues, conflicts, parked work, replay and re-delivery. Every `/v1` route but this document needs an operator token with the `ops` role (or `admin`); state-changing calls are audited. The dashboard’s static files (`/dashboard/*`: HTML, CSS, ES modules) are served without a token and are not described here.',
  servers: [
    { url: '/', description: 'the instance serving this document' },
    { url: 'http://127.0.0.1:3005', description: 'ops-api of a local stack (npm start)' },
  ],
});
