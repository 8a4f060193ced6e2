// @tidemark/replay — scoped replay as pure functions: the job's state machine (a decider), planning, throttling,
// shadow naming and the live-vs-rebuild diff. Everything public is exported here.

// The replay job: its states, commands, events, `decide` and `evolve`.
export {
  ACTIVE_REPLAY_STATUSES,
  ENDED_REPLAY_STATUSES,
  CANCELLABLE_REPLAY_STATUSES,
  COMMAND_SOURCES,
  decide,
  checkSwap,
  evolve,
  isRefusal,
  type ReplayStatus,
  type ReplayJob,
  type ReplayCommand,
  type ReplayEvent,
  type ReplayDecision,
  type ReplayRefusal,
  type ReplayRefusalCode,
  type UsedRevisions,
} from './job/job';
export { shadowSchemaName } from './job/shadow';

// Planning: scope → entities, filters, estimates.
export {
  checkReplayRequest,
  selects,
  classifyEntry,
  lastBound,
  journalFilter,
  planScan,
  entityKey,
  compareEntities,
  estimateReplay,
  scopeReadsRecord,
  ASSUMED_REBUILD_CAPACITY,
  type ReplaySample,
  type ReplayScope,
  type JournalEntryMeta,
  type ReplayBounds,
  type ReplayPlanInput,
  type EntryRole,
  type AffectedEntity,
  type ReplayEstimate,
} from './plan/plan';

// Throttling and progress.
export { replayProgress, throttleDelay, batchSizeFor, MAX_REBUILD_BATCH } from './throttle/throttle';

// The live-vs-rebuild diff.
export {
  diffEntity,
  emptyDiffSummary,
  addToSummary,
  diffDigestLine,
  type EntitySide,
  type EntityViewSide,
  type EntitySnapshot,
  type EntityChange,
  type EntityDiff,
  type FieldDiff,
  type DiffSummary,
} from './diff/diff';
