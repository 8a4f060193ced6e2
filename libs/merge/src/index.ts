// @tidemark/merge — the pure, deterministic merge core. Everything public is exported here.

// Entity type schemas as data, their validation and the registry.
export {
  VALUE_TYPES,
  POLICIES,
  DELETE_CONFLICT_RULES,
  POLICY_OPS,
  POLICY_VALUE_TYPES,
  NULLABLE_POLICIES,
  type ValueType,
  type PolicyName,
  type DeleteConflictRule,
  type FieldOp,
  type FieldPolicy,
  type EntityTypeSchema,
  type PartitionBy,
} from './schema/schema';
export { validateEntityTypeSchema, isEntityTypeSchema } from './schema/validate-schema';
export { createSchemaRegistry, registryKeepingOlder, schemaRegistryOf, findSchema, latestSchema, type SchemaRegistry, type SchemaLookup } from './schema/registry';
export { ANNOTATION_V1, PROMPT_V1, OUTPUT_V1, JOB_V1, DEFAULT_SCHEMAS, defaultRegistry } from './schema/default-registry';
export { assetFieldsOf, assetRefsOf, type AssetRef } from './schema/assets';
export { partitionOf, recordPartition, describePartition, queueFieldOf } from './schema/partition';
export { jobColumnsOf, QUEUE_NAME_MAX, type JobColumns } from './projection/job-columns';
export { ASSET_REF_PATTERN } from './schema/values';
export {
  PARKED_REJECT_CODES,
  parkingOf,
  intakeOf,
  planParked,
  skipDecision,
  checkOperatorAction,
  checkEditedEvent,
  type Parking,
  type Intake,
  type ParkedPlan,
  type OperatorRefusal,
} from './schema/parking';

// Entity state and what devices pull.
export {
  ENTITY_FIELD,
  MERGE_LIMITS,
  type EntityState,
  type EntityView,
  type EventStamp,
  type VersionedStamp,
  type FieldState,
  type LwwFieldState,
  type CounterFieldState,
  type ExtremumFieldState,
  type SetFieldState,
  type SetElement,
  type SetTag,
  type AppendFieldState,
  type AppendItem,
  type ReviewFieldState,
  type ReviewHistoryEntry,
  type Tombstone,
  type OpenConflict,
  type FieldConflict,
  type DeleteConflict,
  type ConflictBase,
  type ConflictOurs,
  type ConflictTheirs,
  type JobFacts,
  type JobHistoryEntry,
} from './state/entity-state';
export { view, emptyState } from './state/state';
export { compareStamps, compareHlc } from './state/order';

// The merge itself.
export { merge, mergeWithRegistry } from './merge/merge';
export type { MergeInput, MergeResult, MergeOutcome, FieldDecision, FieldOutcome, DecisionRule, ConflictDraft, RepairDraft, RepairCode, RejectCode, NoopCode, MergeProblem } from './merge/result';

// The job state machine.
export { JOB_TRANSITIONS, TERMINAL_JOB_STATES, checkJobTransition, expectedAttempt, type JobCheck } from './job/job-machine';

// Per-device sequencing (order-independent: a device's events span partitions).
export { advanceSequence, emptySequence, gapsOf, mergeSeqRanges, subtractSeqRanges, seqCount, AHEAD_LIMIT, type DeviceSequence } from './sequence/device-sequence';

// Policy revisions: an entity type's merge policies restated, activated per workspace by a replay swap.
export {
  DECLARED_REVISION,
  applyPolicyRevision,
  schemaUnderRevision,
  validatePolicyRevision,
  isPolicyRevision,
  mergeWithRevision,
  type PolicyRevision,
  type FieldPolicyRevision,
} from './schema/revisions';

// Projection: one batch of journal records planned as the rows it writes, per table (the writers are the service's).
export { storeDecision, loadDecision, type StoredDecision, type StoredValue } from './projection/stored-decisions';
export { planBatch, type MergeFn, type ParkedMark, type BatchItem, type BatchState, type StoredParkedEntry, type BatchPlanInput, type BatchPlan } from './projection/plan-batch';
export type {
  ReceiptStatus,
  EntityRow,
  ChangeRow,
  ReceiptRow,
  DuplicateRow,
  DecisionRow,
  ConflictRow,
  ConflictResolution,
  RepairRow,
  OutboxRow,
  MergedMessage,
  ReviewMessage,
  EntityAssetRow,
  AssetRefsWrite,
  DeviceArrivals,
  ParkedStep,
} from './projection/rows';
export { latestSite, type DeviceSite } from './projection/device-site';
