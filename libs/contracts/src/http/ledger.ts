import { Type, type Static } from '@sinclair/typebox';
import { EntityRef, HlcStamp, IdToken, JobState, JobTransition, JsonValue, TypeName } from '../events/device-event';
import { PROBLEM_BASE, type Problem } from './problem';
import { ProblemSchema, type RouteDoc } from './openapi';

/**
 * The ledger API: the conflicts merge opened (and their resolution), every event's write receipt and the
 * repairs of impossible job transitions. Query parameters, bodies and answers are declared here once:
 * the gateway validates with these schemas and the OpenAPI document is built from them.
 */
export const LEDGER_LIMITS = {
  /** Largest page of any ledger list. */
  maxPageSize: 500,
  /** Page size when `limit` is not given. */
  defaultPageSize: 100,
  /** Longest conflict or repair id (`${eventId}:${field}`, `${eventId}:job`). */
  maxIdLength: 128,
} as const;

/** Problem types of the ledger API, beyond the shared catalogue. */
export const LedgerProblemType = {
  /** The conflict is already resolved: there is nothing left to resolve. */
  conflictResolved: 'conflict-already-resolved',
  /** The idempotency key already names a different event. */
  eventIdInUse: 'event-id-in-use',
} as const;
export type LedgerProblemType = (typeof LedgerProblemType)[keyof typeof LedgerProblemType];

export function ledgerProblem(type: LedgerProblemType, status: number, title: string, extra: Partial<Problem> = {}): Problem {
  return { type: `${PROBLEM_BASE}${type}`, title, status, ...extra };
}

const Limit = Type.Integer({ minimum: 1, maximum: LEDGER_LIMITS.maxPageSize, description: `page size, 1–${LEDGER_LIMITS.maxPageSize} (default ${LEDGER_LIMITS.defaultPageSize})` });
/** Conflict and repair ids as merge makes them (`${eventId}:${field}`, `${eventId}:job`), kept loose so a future id shape still parses. */
export const LedgerId = Type.String({ pattern: `^[A-Za-z0-9_:$-]{1,${LEDGER_LIMITS.maxIdLength}}$`, description: 'a conflict or repair id' });
/** A field name, or `$entity` for a delete conflict. */
export const ConflictField = Type.String({ pattern: '^(\\$entity|[A-Za-z][A-Za-z0-9_]{0,63})$', description: 'field name, or $entity for a delete conflict' });
const SeqCursor = (what: string) => Type.String({ pattern: `^[0-9]{1,18}:[A-Za-z0-9_:$-]{1,${LEDGER_LIMITS.maxIdLength}}$`, description: `cursor from a previous page's \`next\` (${what})` });
const IsoTime = Type.String({ format: 'date-time' });

// ── conflicts ────────────────────────────────────────────────────────────────────────────────────────

export const ConflictStatus = Type.Union([Type.Literal('open'), Type.Literal('resolved')]);
export type ConflictStatus = Static<typeof ConflictStatus>;

export const ConflictListQuery = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved'), Type.Literal('all')], { description: 'default open' })),
    entityType: Type.Optional(TypeName),
    field: Type.Optional(ConflictField),
    entityId: Type.Optional(IdToken),
    limit: Type.Optional(Limit),
    after: Type.Optional(SeqCursor('conflicts are ordered by the journal sequence of the event that opened them, then id')),
  },
  { additionalProperties: false },
);
export type ConflictListQuery = Static<typeof ConflictListQuery>;

export const HotspotQuery = Type.Object({ entityType: Type.Optional(TypeName), limit: Type.Optional(Limit) }, { additionalProperties: false });
export type HotspotQuery = Static<typeof HotspotQuery>;

/** One side of a conflict: who wrote it (device, event, causal stamp) and what. */
export const ConflictSide = Type.Object({
  eventId: Type.String(),
  deviceId: Type.String(),
  hlc: HlcStamp,
  value: Type.Optional(Type.Unknown({ description: 'the value (field conflicts)' })),
  version: Type.Optional(Type.Integer({ description: 'ours: the entity version its write produced' })),
  baseVersion: Type.Optional(Type.Integer({ description: 'theirs: the entity version the device had seen' })),
  fields: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'theirs of a delete conflict: the parked field changes' })),
});
export type ConflictSide = Static<typeof ConflictSide>;

export const ConflictBaseSchema = Type.Union([
  Type.Object({ kind: Type.Literal('value'), value: Type.Unknown() }),
  Type.Object({ kind: Type.Literal('absent') }),
  Type.Object({ kind: Type.Literal('unknown') }),
]);

export const ConflictView = Type.Object({
  id: Type.String(),
  entity: EntityRef,
  field: Type.String({ description: 'the field, or $entity for a delete conflict' }),
  kind: Type.Union([Type.Literal('field'), Type.Literal('delete')]),
  rule: Type.String({ description: 'the rule that opened it (review:concurrent-edit, delete:edit-after-delete)' }),
  status: ConflictStatus,
  base: Type.Optional(ConflictBaseSchema),
  ours: ConflictSide,
  theirs: ConflictSide,
  opened: Type.Object({
    eventId: Type.String(),
    seq: Type.Integer({ description: 'journal sequence of the opening event' }),
    version: Type.Integer({ description: 'entity version the opening event produced' }),
    acceptedAt: IsoTime,
  }),
  resolved: Type.Optional(Type.Object({ eventId: Type.String({ description: 'the resolve event' }), seq: Type.Integer() })),
  cursor: Type.String({ description: 'this conflict’s position in a listing' }),
});
export type ConflictView = Static<typeof ConflictView>;

const PageNext = Type.Optional(Type.String({ description: 'pass as `after` for the next page (absent when the page is empty and no `after` was given)' }));

export const ConflictList = Type.Object({ conflicts: Type.Array(ConflictView), next: PageNext, hasMore: Type.Boolean() });
export type ConflictList = Static<typeof ConflictList>;

export const Hotspot = Type.Object({
  entityType: Type.String(),
  field: Type.String(),
  open: Type.Integer({ description: 'open conflicts' }),
  oldestOpenedAt: IsoTime,
});
export type Hotspot = Static<typeof Hotspot>;
export const HotspotList = Type.Object({ hotspots: Type.Array(Hotspot) });
export type HotspotList = Static<typeof HotspotList>;

// ── resolution ───────────────────────────────────────────────────────────────────────────────────────

export const ResolvePick = Type.Union([Type.Literal('ours'), Type.Literal('theirs'), Type.Literal('value')]);

export const ResolveRequest = Type.Object(
  {
    pick: ResolvePick,
    value: Type.Optional(JsonValue),
    eventId: Type.Optional(Type.String({ format: 'uuid', description: 'idempotency key of the resolve event (generated when absent)' })),
    deviceId: Type.Optional(IdToken),
    hlc: Type.Optional(HlcStamp),
  },
  { additionalProperties: false },
);
export type ResolveRequest = Static<typeof ResolveRequest>;

export const ResolveResponse = Type.Object({
  eventId: Type.String(),
  seq: Type.Integer({ description: 'journal sequence of the resolve event' }),
  status: Type.Union([Type.Literal('accepted'), Type.Literal('duplicate')]),
});
export type ResolveResponse = Static<typeof ResolveResponse>;

/** Who resolves when the request names no device. */
export const DEFAULT_RESOLVER = 'resolver';

// ── receipts ─────────────────────────────────────────────────────────────────────────────────────────

export const ReceiptStatus = Type.Union([
  Type.Literal('applied'),
  Type.Literal('merged'),
  Type.Literal('conflicted'),
  Type.Literal('repair'),
  Type.Literal('rejected'),
  Type.Literal('duplicate'),
  Type.Literal('noop'),
  Type.Literal('parked'),
  Type.Literal('skipped'),
]);
export type ReceiptStatus = Static<typeof ReceiptStatus>;

export const ReceiptQuery = Type.Object(
  {
    deviceId: IdToken,
    after: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,18}(:[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})?$',
        description: 'a deviceSeq (receipts after it), or `next` of a previous page',
      }),
    ),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
);
export type ReceiptQuery = Static<typeof ReceiptQuery>;

export const Receipt = Type.Object({
  eventId: Type.String(),
  deviceId: Type.String(),
  deviceSeq: Type.Integer(),
  entity: EntityRef,
  status: ReceiptStatus,
  reason: Type.Union([Type.String(), Type.Null()]),
  version: Type.Union([Type.Integer(), Type.Null()], { description: 'entity version the event produced (accepted events)' }),
  streamSeq: Type.Integer({ description: 'journal sequence' }),
  acceptedAt: IsoTime,
});
export type Receipt = Static<typeof Receipt>;

export const ReceiptList = Type.Object({ receipts: Type.Array(Receipt), next: PageNext, hasMore: Type.Boolean() });
export type ReceiptList = Static<typeof ReceiptList>;

export const EventIdParam = Type.String({ format: 'uuid' });

// ── repairs ──────────────────────────────────────────────────────────────────────────────────────────

export const RepairListQuery = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('all')], { description: 'default open; closed: any status but open' })),
    entityType: Type.Optional(TypeName),
    entityId: Type.Optional(IdToken),
    limit: Type.Optional(Limit),
    after: Type.Optional(SeqCursor('repairs are ordered by the journal sequence of the reported transition, then id')),
  },
  { additionalProperties: false },
);
export type RepairListQuery = Static<typeof RepairListQuery>;

export const RepairView = Type.Object({
  id: Type.String(),
  entity: EntityRef,
  code: Type.String({ description: 'terminal-state, stale-attempt, illegal-transition, attempt-mismatch, duplicate-claim, not-queued, job-deleted' }),
  reason: Type.String(),
  status: Type.String(),
  eventId: Type.String({ description: 'the event that reported the impossible transition' }),
  streamSeq: Type.Integer(),
  current: Type.Object(
    {
      state: Type.Union([JobState, Type.Null()]),
      attempt: Type.Union([Type.Integer(), Type.Null()]),
      eventId: Type.Optional(Type.String()),
      deviceId: Type.Optional(Type.String()),
      hlc: Type.Optional(HlcStamp),
      version: Type.Optional(Type.Integer()),
    },
    { description: 'what the projection holds' },
  ),
  reported: Type.Intersect([JobTransition, Type.Object({ eventId: Type.String(), deviceId: Type.String(), hlc: HlcStamp })], { description: 'what the device reported' }),
  cursor: Type.String(),
});
export type RepairView = Static<typeof RepairView>;

export const RepairList = Type.Object({ repairs: Type.Array(RepairView), next: PageNext, hasMore: Type.Boolean() });
export type RepairList = Static<typeof RepairList>;

// ── routes (OpenAPI) ─────────────────────────────────────────────────────────────────────────────────

const bad = { description: 'a query parameter, path segment or body is not valid (problem+json naming each by query:/path: or JSON pointer)', schema: ProblemSchema };
const missing = { description: 'no such item in this workspace', schema: ProblemSchema };

export const LEDGER_ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/v1/conflicts',
    summary: 'Conflicts of this workspace, paged by a stable cursor',
    tags: ['ledger'],
    query: ConflictListQuery,
    responses: { 200: { description: 'a page of conflicts', schema: ConflictList }, 400: bad },
  },
  {
    method: 'get',
    path: '/v1/conflicts/hotspots',
    summary: 'Open conflicts counted by entity type and field, with the oldest opening time',
    tags: ['ledger'],
    query: HotspotQuery,
    responses: { 200: { description: 'hotspots, most conflicts first', schema: HotspotList }, 400: bad },
  },
  {
    method: 'get',
    path: '/v1/conflicts/{id}',
    summary: 'One conflict: base, ours, theirs, the rule, both stamps and devices, its status',
    tags: ['ledger'],
    responses: { 200: { description: 'the conflict', schema: ConflictView }, 400: bad, 404: missing },
  },
  {
    method: 'post',
    path: '/v1/conflicts/{id}/resolve',
    summary: 'Journal a resolve event for an open conflict; merge-service applies it from the journal',
    tags: ['ledger'],
    body: ResolveRequest,
    example: { pick: 'value', value: 'lynx', eventId: '6a1c0f1e-2b3d-4c5e-8f90-a1b2c3d4e5f6' },
    responses: {
      202: { description: 'the resolve event is journaled (accepted) or was already (duplicate); the conflict shows resolved once projected', schema: ResolveResponse },
      400: bad,
      403: { description: "the device's role may not resolve conflicts (of this entity type): `resolve-not-allowed` or `role-undeclared`; nothing was journaled", schema: ProblemSchema },
      404: missing,
      409: { description: 'the conflict is already resolved, or the eventId names another event', schema: ProblemSchema },
      415: { description: 'not application/json', schema: ProblemSchema },
      503: { description: 'the journal did not acknowledge the event; retry with the same eventId', schema: ProblemSchema },
    },
  },
  {
    method: 'get',
    path: '/v1/receipts',
    summary: 'A device’s write receipts, by device sequence',
    tags: ['ledger'],
    query: ReceiptQuery,
    responses: { 200: { description: 'a page of receipts', schema: ReceiptList }, 400: bad },
  },
  {
    method: 'get',
    path: '/v1/receipts/{eventId}',
    summary: 'The receipt of one event',
    tags: ['ledger'],
    responses: { 200: { description: 'the receipt', schema: Receipt }, 400: bad, 404: { description: 'no receipt (yet) for this event in this workspace', schema: ProblemSchema } },
  },
  {
    method: 'get',
    path: '/v1/repairs',
    summary: 'Repairs of impossible job transitions',
    tags: ['ledger'],
    query: RepairListQuery,
    responses: { 200: { description: 'a page of repairs', schema: RepairList }, 400: bad },
  },
  {
    method: 'get',
    path: '/v1/repairs/{id}',
    summary: 'One repair, with what the projection holds and what the device reported side by side',
    tags: ['ledger'],
    responses: { 200: { description: 'the repair', schema: RepairView }, 400: bad, 404: missing },
  },
];
