import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { EntityRef, FieldChange, FieldName, HlcStamp, IdToken, JobState, JsonValue } from '../events/device-event';
import { compileValidator, type Validated } from '../events/validate';

/**
 * The payloads tidemark publishes for integrators: JSON Schemas (TypeBox) of what the MERGED, REVIEW and
 * ASSETS streams and the core NATS commit notices carry. Producers are typed against these types, the
 * AsyncAPI document is built from these schemas, and the end-to-end tests validate real messages against them.
 *
 * Versioning: every message carries the header `tm-schema-version` (`SCHEMA_VERSION_HEADER`) with the major
 * version of its payload schema (`MESSAGE_SCHEMA_VERSIONS`). Within a version a payload only gains fields;
 * removing, renaming or retyping one is a new version.
 */
export const SCHEMA_VERSION_HEADER = 'tm-schema-version';
/** The JetStream message id header: the streams drop a second copy of an id inside their dedupe window. */
export const MSG_ID_HEADER = 'Nats-Msg-Id';

/** The major version of each published payload schema (the `tm-schema-version` header's value). */
export const MESSAGE_SCHEMA_VERSIONS = {
  mergedChange: 1,
  conflictOpened: 1,
  conflictResolved: 1,
  conflictWithdrawn: 1,
  assetTransition: 1,
  committedNotice: 2,
} as const;
export type PublishedMessage = keyof typeof MESSAGE_SCHEMA_VERSIONS;

/** The headers that name a message's payload schema version. */
export function schemaVersionHeaders(message: PublishedMessage): Record<string, string> {
  return { [SCHEMA_VERSION_HEADER]: String(MESSAGE_SCHEMA_VERSIONS[message]) };
}

/** A string enumeration as plain JSON Schema (`enum`), typed as the union of its values. */
function StringEnum<const T extends readonly string[]>(values: T, options: { description?: string } = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

const closed = { additionalProperties: false } as const;

export const WorkspaceName = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'the workspace: letters, digits, _ or - (1–64)' });
const EventId = Type.String({ format: 'uuid', description: 'the device event’s id (its idempotency key)' });
const StreamSeq = Type.Integer({ minimum: 1, description: 'the event’s JOURNAL stream sequence' });
const EntityVersion = Type.Integer({ minimum: 1, description: 'the entity version: +1 for every accepted event' });
const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'sha256 of the bytes, 64 lower-case hex digits' });

export const MERGE_POLICIES = ['lww', 'counter', 'max', 'min', 'set', 'append', 'review'] as const;
export const FIELD_OUTCOMES = ['applied', 'merged', 'lost', 'unchanged', 'conflicted', 'discarded'] as const;
export const DECISION_RULES = [
  'lww:first-write',
  'lww:newer-stamp',
  'lww:older-stamp',
  'counter:add',
  'max:first-write',
  'max:raised',
  'max:equal',
  'max:not-higher',
  'min:first-write',
  'min:lowered',
  'min:equal',
  'min:not-lower',
  'set:add',
  'set:observed-remove',
  'set:add-wins',
  'set:remove-absent',
  'append:at-end',
  'append:ordered-by-hlc',
  'append:already-present',
  'review:first-write',
  'review:saw-latest',
  'review:same-device',
  'review:same-value',
  'review:concurrent-edit',
  'delete:delete-wins',
  'delete:review',
  'resolve:ours',
  'resolve:theirs',
  'resolve:value',
] as const;
/** The outcomes of an accepted event (only accepted events reach MERGED). */
export const ACCEPTED_OUTCOMES = ['applied', 'merged', 'conflicted'] as const;

/** What a device pulls of an entity, as MERGED carries it. */
export const EntityViewSchema = Type.Object(
  {
    version: Type.Integer({ minimum: 0 }),
    deleted: Type.Boolean(),
    values: Type.Record(Type.String(), JsonValue, { description: 'field values by name (keys sorted); empty while the entity is deleted' }),
    inConflict: Type.Array(Type.String(), { description: 'fields with an open conflict (sorted); `$entity` for an open delete conflict' }),
    job: Type.Optional(Type.Object({ state: JobState, attempt: Type.Integer({ minimum: 1 }), error: Type.Optional(Type.String()) }, closed)),
  },
  closed,
);

const Decision = Type.Object({ field: Type.String(), policy: StringEnum(MERGE_POLICIES), rule: StringEnum(DECISION_RULES), outcome: StringEnum(FIELD_OUTCOMES) }, closed);
const ReplayId = Type.String({ format: 'uuid', description: 'the operator’s replay whose swap published this' });
const changeFacts = {
  workspace: WorkspaceName,
  entity: EntityRef,
  deleted: Type.Boolean(),
  view: EntityViewSchema,
  eventId: Type.String({ format: 'uuid', description: 'the event that produced the entity (for a replay: the last event the rebuilt entity applied)' }),
  streamSeq: StreamSeq,
};

/** MERGED, an accepted event: the entity it left and the decision of each field change. */
export const AppliedChange = Type.Object(
  {
    ...changeFacts,
    version: EntityVersion,
    deviceId: IdToken,
    outcome: StringEnum(ACCEPTED_OUTCOMES, {
      description: 'applied: every change took effect as written; merged: shaped by changes the device had not seen; conflicted: at least one conflict opened',
    }),
    decisions: Type.Array(Decision, { description: 'one per field change, sorted by field' }),
  },
  { ...closed, title: 'AppliedChange', description: 'an accepted event and the entity view it produced' },
);
export type AppliedChange = Static<typeof AppliedChange>;

/** MERGED, an operator's replay swapped in: the rebuilt state of an entity whose view changed. */
export const ReplayedChange = Type.Object(
  {
    ...changeFacts,
    version: Type.Integer({
      minimum: 0,
      description: 'the rebuilt version (0 when the rebuild no longer has the entity); may be equal to or lower than one already received: take it whatever its version',
    }),
    deviceId: Type.String({ pattern: '^replay:[0-9a-f-]{36}$', description: '`replay:<replayId>`' }),
    outcome: Type.Literal('replayed'),
    replayId: ReplayId,
    decisions: Type.Array(Decision, { maxItems: 0, description: 'always empty: the state was rebuilt, not merged' }),
  },
  { ...closed, title: 'ReplayedChange', description: 'an entity’s rebuilt state after an operator’s replay was swapped in' },
);
export type ReplayedChange = Static<typeof ReplayedChange>;

/** MERGED, `tm.merged.<workspace>.<entityType>.<entityId>`: an accepted event, or a replay's rebuilt state (by `outcome`). */
export const MergedChange = Type.Union([AppliedChange, ReplayedChange], {
  title: 'MergedChange',
  description: 'an applied change: an accepted event (outcome applied, merged or conflicted) or an entity rebuilt by a replay (outcome replayed)',
});
export type MergedChange = Static<typeof MergedChange>;

const EventStamp = { eventId: EventId, deviceId: IdToken, hlc: HlcStamp };
const ConflictFacts = {
  workspace: WorkspaceName,
  entity: EntityRef,
  acceptedAt: Type.String({ format: 'date-time', description: 'when the gateway accepted the opening event' }),
  streamSeq: StreamSeq,
  openedAt: EntityVersion,
};

const FieldConflict = Type.Object(
  {
    id: Type.String({ minLength: 1, description: '`<opening eventId>:<field>`' }),
    kind: Type.Literal('field'),
    rule: Type.Literal('review:concurrent-edit'),
    field: FieldName,
    base: Type.Union(
      [Type.Object({ kind: Type.Literal('value'), value: JsonValue }, closed), Type.Object({ kind: Type.Literal('absent') }, closed), Type.Object({ kind: Type.Literal('unknown') }, closed)],
      { description: 'the value both devices started from, as far as the field’s history still knows it' },
    ),
    ours: Type.Object({ ...EventStamp, version: EntityVersion, value: JsonValue }, { ...closed, description: 'the stored side: the value in the projection and the change that wrote it' }),
    theirs: Type.Object(
      { ...EventStamp, value: JsonValue, baseVersion: Type.Integer({ minimum: 0 }) },
      { ...closed, description: 'the incoming side: the value the event wanted and the version it had seen' },
    ),
    ...ConflictFacts,
  },
  { ...closed, description: 'two devices changed a `review` field concurrently to different values' },
);

const DeleteConflict = Type.Object(
  {
    id: Type.String({ minLength: 1, description: '`<opening eventId>:$entity`' }),
    kind: Type.Literal('delete'),
    rule: Type.Literal('delete:edit-after-delete'),
    field: Type.Literal('$entity'),
    ours: Type.Object({ ...EventStamp, version: EntityVersion }, { ...closed, description: 'the delete that tombstoned the entity' }),
    theirs: Type.Object(
      { ...EventStamp, baseVersion: Type.Integer({ minimum: 0 }), fields: Type.Record(Type.String(), FieldChange) },
      { ...closed, description: 'the edit that had not seen the delete' },
    ),
    ...ConflictFacts,
  },
  { ...closed, description: 'an edit arrived that had not seen the entity’s delete, and the type says `review`' },
);

/** REVIEW, `tm.review.<workspace>.opened.<entityType>.<entityId>`: a conflict an accepted event opened. */
export const ConflictOpened = Type.Object(
  { kind: Type.Literal('conflict.opened'), conflict: Type.Union([FieldConflict, DeleteConflict]), replayId: Type.Optional(ReplayId) },
  { ...closed, title: 'ConflictOpened', description: 'a conflict opened, with base / ours / theirs and both causal stamps (`replayId`: opened by an operator’s replay, swapped in)' },
);
export type ConflictOpened = Static<typeof ConflictOpened>;

/** REVIEW, `tm.review.<workspace>.resolved.<entityType>.<entityId>`: a conflict a resolve event closed. */
export const ConflictResolved = Type.Object(
  {
    kind: Type.Literal('conflict.resolved'),
    conflictId: Type.String({ minLength: 1 }),
    workspace: WorkspaceName,
    entity: EntityRef,
    eventId: Type.String({ format: 'uuid', description: 'the resolve event' }),
    version: Type.Integer({ minimum: 1, description: 'the entity version the resolution produced' }),
  },
  { ...closed, title: 'ConflictResolved', description: 'a conflict closed by a journaled resolve event' },
);
export type ConflictResolved = Static<typeof ConflictResolved>;

/** REVIEW, on the `resolved` subject: a conflict an operator's replay no longer has (withdrawn, not resolved). */
export const ConflictWithdrawn = Type.Object(
  { kind: Type.Literal('conflict.withdrawn'), conflictId: Type.String({ minLength: 1 }), workspace: WorkspaceName, entity: EntityRef, replayId: ReplayId },
  { ...closed, title: 'ConflictWithdrawn', description: 'an open conflict that a replay, swapped in, no longer has' },
);
export type ConflictWithdrawn = Static<typeof ConflictWithdrawn>;

export type ReviewMessage = ConflictOpened | ConflictResolved | ConflictWithdrawn;

export const ASSET_STATUSES = ['pending', 'uploading', 'verified', 'referenced', 'orphaned', 'collected'] as const;
export const ASSET_COLLECT_REASONS = ['expired', 'terminated', 'sha256-mismatch', 'orphan-grace'] as const;
export const ASSET_FILE_CLASSES = ['image', 'audio', 'video', 'text', 'application', 'other'] as const;

/** ASSETS, `tm.assets.<workspace>.<status>.<sha256>`: one lifecycle transition of an upload or a stored asset. */
export const AssetTransition = Type.Object(
  {
    v: Type.Literal(1, { description: 'the payload version (also in the tm-schema-version header)' }),
    workspace: WorkspaceName,
    sha256: Sha256,
    uploadId: Type.Optional(Type.String({ format: 'uuid', description: 'the upload this transition belongs to; absent for transitions of the stored asset (referenced, orphaned, …)' })),
    from: Type.Union([StringEnum(ASSET_STATUSES), Type.Null()], { description: 'the status before; null for the first' }),
    status: StringEnum(ASSET_STATUSES),
    size: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'declared length in bytes; null while deferred (tus creation-defer-length)' }),
    contentType: Type.String({ minLength: 1 }),
    fileClass: StringEnum(ASSET_FILE_CLASSES),
    references: Type.Integer({ minimum: 0, description: 'live records pointing at the asset' }),
    reason: Type.Optional(StringEnum(ASSET_COLLECT_REASONS, { description: 'why it was collected (only when status is collected)' })),
    deduplicated: Type.Optional(Type.Literal(true, { description: 'verified because the workspace already held the bytes (only when status is verified)' })),
    at: Type.String({ format: 'date-time' }),
  },
  { ...closed, title: 'AssetTransition', description: 'an asset lifecycle transition' },
);
export type AssetTransition = Static<typeof AssetTransition>;

/** How many scope keys a commit notice names at most; a commit that touched more names none (every reader wakes). */
export const COMMITTED_NOTICE_MAX_KEYS = 256;

/**
 * Core NATS, `tm.notice.committed.<workspace>`: a projection commit added to the workspace's change log. Version 2
 * names the scope keys the commit's changes were in or left (`keys`; absent when there were more than
 * `COMMITTED_NOTICE_MAX_KEYS`), so a gateway wakes only the readers whose scopes they meet. At most once: a lost
 * notice costs latency, never a change.
 */
export const CommittedNotice = Type.Object(
  {
    keys: Type.Optional(
      Type.Array(Type.String({ maxLength: 400 }), {
        maxItems: COMMITTED_NOTICE_MAX_KEYS,
        description: 'the scope keys of the committed changes (`type`, or `type` U+001F `partition`), and the keys records left; absent: any',
      }),
    ),
  },
  { additionalProperties: false, title: 'CommittedNotice', description: 'which scope keys a projection commit touched in the workspace the subject names' },
);
export type CommittedNotice = Static<typeof CommittedNotice>;

/** The payload schema of every published message, by name. */
export const MESSAGE_PAYLOADS = {
  mergedChange: MergedChange,
  conflictOpened: ConflictOpened,
  conflictResolved: ConflictResolved,
  conflictWithdrawn: ConflictWithdrawn,
  assetTransition: AssetTransition,
  committedNotice: CommittedNotice,
} as const satisfies Record<PublishedMessage, TSchema>;

const validators = new Map<PublishedMessage, (input: unknown) => Validated<unknown>>();

/** Checks a decoded payload against its published schema (compiled once, on first use); errors by JSON pointer. */
export function validateMessage<K extends PublishedMessage>(message: K, payload: unknown): Validated<Static<(typeof MESSAGE_PAYLOADS)[K]>> {
  let validate = validators.get(message);
  if (!validate) {
    validate = compileValidator(MESSAGE_PAYLOADS[message]);
    validators.set(message, validate);
  }
  return validate(payload) as Validated<Static<(typeof MESSAGE_PAYLOADS)[K]>>;
}
