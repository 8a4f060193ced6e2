import { Type, type Static } from '@sinclair/typebox';
import { FIELD_NAME_PATTERN, ID_TOKEN_PATTERN, TYPE_NAME_PATTERN } from './patterns';

/**
 * The device event envelope: the unit a device pushes and the journal stores.
 * Every limit is explicit so a rejection can name it.
 */
export const LIMITS = {
  /** Events in one push batch. */
  maxEventsPerBatch: 500,
  /** Bytes of one push request body. */
  maxBodyBytes: 1024 * 1024,
  /** Bytes of one event, serialised. */
  maxEventBytes: 64 * 1024,
  /** Fields changed by one event. */
  maxFieldsPerEvent: 64,
  /** Depth of nested JSON in a field value. */
  maxValueDepth: 16,
  /** Changes returned by one pull page. */
  maxPullLimit: 1000,
} as const;

/** Subject-safe identifier: no '.', '*', '>' or whitespace, so it can stand in a NATS subject token. */
export const IdToken = Type.String({ pattern: ID_TOKEN_PATTERN, description: 'letters, digits, _ : - (1–128)' });
export const TypeName = Type.String({ pattern: TYPE_NAME_PATTERN, description: 'lower-case entity type name' });
export const FieldName = Type.String({ pattern: FIELD_NAME_PATTERN });

/** Hybrid logical clock stamp: physical milliseconds, a logical counter; the device id breaks ties. */
export const HlcStamp = Type.Object(
  {
    wall: Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000, description: 'milliseconds since the epoch' }),
    counter: Type.Integer({ minimum: 0, maximum: 65_535 }),
  },
  { additionalProperties: false },
);
export type HlcStamp = Static<typeof HlcStamp>;

export const JsonValue = Type.Unknown({ description: 'any JSON value' });

export const FieldChange = Type.Union([
  Type.Object({ op: Type.Literal('set'), value: JsonValue }, { additionalProperties: false }),
  Type.Object({ op: Type.Literal('inc'), by: Type.Number() }, { additionalProperties: false }),
  Type.Object({ op: Type.Literal('add'), values: Type.Array(JsonValue, { maxItems: 256 }) }, { additionalProperties: false }),
  Type.Object({ op: Type.Literal('remove'), values: Type.Array(JsonValue, { maxItems: 256 }) }, { additionalProperties: false }),
  Type.Object({ op: Type.Literal('append'), values: Type.Array(JsonValue, { maxItems: 256 }) }, { additionalProperties: false }),
]);
export type FieldChange = Static<typeof FieldChange>;

export const JobState = Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('retrying'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled')]);
export type JobState = Static<typeof JobState>;

export const JobTransition = Type.Object(
  {
    to: JobState,
    attempt: Type.Integer({ minimum: 1, maximum: 1000 }),
    error: Type.Optional(Type.String({ maxLength: 4096 })),
  },
  { additionalProperties: false },
);
export type JobTransition = Static<typeof JobTransition>;

export const EntityRef = Type.Object({ type: TypeName, id: IdToken }, { additionalProperties: false });
export type EntityRef = Static<typeof EntityRef>;

/**
 * Operations:
 * - `upsert`: apply field changes (creates the entity when absent);
 * - `delete`: tombstone the entity;
 * - `transition`: a job state-machine step (`job` is required);
 * - `resolve`: the resolution of an open conflict (`resolution` is required).
 */
export const EventOp = Type.Union([Type.Literal('upsert'), Type.Literal('delete'), Type.Literal('transition'), Type.Literal('resolve')]);
export type EventOp = Static<typeof EventOp>;

export const ConflictResolution = Type.Object(
  {
    conflictId: Type.String({ minLength: 1, maxLength: 128 }),
    pick: Type.Union([Type.Literal('ours'), Type.Literal('theirs'), Type.Literal('value')]),
    value: Type.Optional(JsonValue),
  },
  { additionalProperties: false },
);
export type ConflictResolution = Static<typeof ConflictResolution>;

export const DeviceEvent = Type.Object(
  {
    eventId: Type.String({ format: 'uuid', description: 'client-generated idempotency key' }),
    deviceId: IdToken,
    deviceSeq: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: '1, 2, 3 … per device, no gaps' }),
    hlc: HlcStamp,
    entity: EntityRef,
    op: EventOp,
    baseVersion: Type.Integer({ minimum: 0, description: 'entity version the device last saw (0: never seen)' }),
    fields: Type.Optional(Type.Record(FieldName, FieldChange, { maxProperties: LIMITS.maxFieldsPerEvent })),
    job: Type.Optional(JobTransition),
    resolution: Type.Optional(ConflictResolution),
    schemaVersion: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  },
  { additionalProperties: false },
);
export type DeviceEvent = Static<typeof DeviceEvent>;

export const PushRequest = Type.Object({ events: Type.Array(DeviceEvent, { minItems: 1, maxItems: LIMITS.maxEventsPerBatch }) }, { additionalProperties: false });
export type PushRequest = Static<typeof PushRequest>;

/** What the journal stores: the device event plus what the gateway knew when it accepted it. */
export interface JournalRecord {
  v: 1;
  workspace: string;
  /** ISO-8601 time the gateway accepted the event: an input to merge, never read inside it. */
  acceptedAt: string;
  /** The site of the device's token, when it has one (devices are grouped by site in operations). */
  site?: string;
  event: DeviceEvent;
}
