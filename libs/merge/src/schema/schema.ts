import type { FieldChange } from '@tidemark/contracts';

/**
 * Value types a field may declare. For `set` and `append` fields it is the type of each element.
 * `asset` is a reference to an uploaded asset of the entity's workspace: its sha256, as 64 lower-case hex
 * digits. The bytes travel separately (tus uploads); the merge never waits for them.
 */
export const VALUE_TYPES = ['string', 'number', 'integer', 'boolean', 'string[]', 'json', 'asset'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

/** Merge policies a field may declare. Each is described precisely in the lib's README. */
export const POLICIES = ['lww', 'counter', 'max', 'min', 'set', 'append', 'review'] as const;
export type PolicyName = (typeof POLICIES)[number];

/** What happens to an edit made without having seen a delete. */
export const DELETE_CONFLICT_RULES = ['delete-wins', 'edit-wins', 'review'] as const;
export type DeleteConflictRule = (typeof DELETE_CONFLICT_RULES)[number];

export type FieldOp = FieldChange['op'];

/** The field-change operations each policy accepts; anything else is rejected. */
export const POLICY_OPS: Readonly<Record<PolicyName, readonly FieldOp[]>> = {
  lww: ['set'],
  counter: ['inc'],
  max: ['set'],
  min: ['set'],
  set: ['add', 'remove'],
  append: ['append'],
  review: ['set'],
};

/** The value types each policy can merge. Counters are integers so that sums commute exactly. */
export const POLICY_VALUE_TYPES: Readonly<Record<PolicyName, readonly ValueType[]>> = {
  lww: VALUE_TYPES,
  counter: ['integer'],
  max: ['number', 'integer', 'string'],
  min: ['number', 'integer', 'string'],
  set: VALUE_TYPES,
  append: VALUE_TYPES,
  review: VALUE_TYPES,
};

/** Policies whose value may be set to `null` when the field declares `nullable: true`. */
export const NULLABLE_POLICIES: readonly PolicyName[] = ['lww', 'review'];

/** How one field merges. */
export interface FieldPolicy {
  policy: PolicyName;
  /** The value's type; for `set` and `append`, the type of each element. */
  valueType: ValueType;
  /** `lww` and `review` only: `null` is an accepted value (clearing the field). */
  nullable?: boolean;
  description?: string;
}

/**
 * One version of an entity type: its fields and their merge policies, and the rule for edits that
 * race a delete. Pure data: it can live in configuration and be validated with `validateEntityTypeSchema`.
 */
/** What partitions a type for partial sync: a field's value, or the prefix of the id up to a separator. */
export type PartitionBy = string | { idPrefix: { separator: string } };

export interface EntityTypeSchema {
  /** Lower-case type name, as in an event's `entity.type`. */
  type: string;
  /** Schema version, as in an event's `schemaVersion` (from 1). */
  version: number;
  fields: Readonly<Record<string, FieldPolicy>>;
  onDeleteConflict: DeleteConflictRule;
  /** The entity is a job: it accepts `transition` events checked against the job state machine. */
  job?: true;
  /**
   * What partitions the type's records for partial sync: a device subscribed to a scope over the type reads the
   * records whose partition it subscribed to. Either a field (e.g. `project`: an `lww` field of value type `string`
   * or `integer`; a record moves when the field changes) or the prefix of the record's id up to a separator
   * (`{ idPrefix: { separator: ':' } }`: `p-17:img-42` is in `p-17`, an id without the separator in `''`; a record
   * never moves). Absent: the type is not partitioned and a scope reads all of its records.
   */
  partitionBy?: PartitionBy;
  /**
   * Job types only: the field that names the queue a job waits in (e.g. `queue`: generation, transcription,
   * embedding), so operators see backlog, age and failures per queue. An `lww` field of value type `string`.
   * Absent, or the field unset: the job is in no named queue.
   */
  queueBy?: string;
  description?: string;
}
