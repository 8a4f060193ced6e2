export {
  createDataSource,
  connectionSettings,
  DEFAULT_CONNECT_TIMEOUT_MS,
  runMigrations,
  migrateWithLock,
  postgresCheck,
  migrationDrift,
  inTransaction,
  MIGRATIONS,
  type DatabaseOptions,
} from './data-source';
export {
  ENTITIES,
  EntityRow,
  ChangeLogRow,
  EventReceiptRow,
  JournalDuplicateRow,
  ConsumerCheckpointRow,
  OutboxRow,
  ParkedEventRow,
  EntityAssetRow,
  MergeDecisionRow,
  ConflictRow,
  RepairRow,
  DeviceSequenceRow,
  EntitySchemaRow,
  AssetUploadRow,
  AssetUploadPartRow,
  AssetRow,
  AssetReferenceRow,
  AssetOutboxRow,
} from './entities';
export type { DataSource, QueryRunner } from 'typeorm';
export { projectionDigest, type ProjectionDigest } from './digest';
export { OutboxRepository, type OutboxTable, type WaitingOutboxMessage } from './outbox-repository';
export { assetStatusOf, waitingAssetRefs, type AssetStatus, type WaitingAssetRef, type WaitingAssetQuery } from './asset-status';
export {
  ConflictResolver,
  conflictView,
  conflictCursor,
  findConflict,
  checkResolveRequest,
  hlcAfter,
  resolutionProblem,
  CONFLICT_COLUMNS,
  type ConflictLedgerRow,
  type ResolutionFailure,
  type ResolutionOutcome,
  type ResolutionDeps,
  type JournalResult,
} from './conflict-resolution';
export { isDeterministicDataError } from './pg-errors';
export { SnapshotRepository, SNAPSHOT_PAGE_SQL, SCOPED_SNAPSHOT_PAGE_SQL, type ChangeLogView, type SnapshotPage, type ScopeSelection } from './snapshot-repository';
export { changeLogAfter } from './change-log-repository';
export { DeviceActivityRepository, scopeBacklog, type DeviceActivity, type ReadPosition, type WriteRefusal, type RefusalDetail, type ScopeBacklog } from './device-activity-repository';
export { ScopeFactsRepository, type StoredScopeRules, type SubscriptionFact, type ScopeReader } from './scope-facts-repository';
export * as projectionTables from './projection-writers';
export type { ParkedEntryRow } from './projection-writers';
export {
  OPS_LIST_MAX_LIMIT,
  listConflicts,
  conflictsWithId,
  parseConflictCursor,
  listParked,
  findParked,
  listAudit,
  type RowPage,
  type ConflictFilter,
  type ParkedLedgerRow,
  type ParkedFilter,
  type AuditLogRow,
  type AuditFilter,
} from './ops-ledger-repository';
export { ChangeLogRepository } from './change-log-repository';
export { Where, quoteIdent, useSchemaLocally, inReadScope, recordInReadScope, seqCursor, transactionalSql, type Sql, type SeqPosition, type TransactionalSql } from './sql';
export { ReceiptsRepository, receiptView, receiptCursor, RECEIPT_COLUMNS, type ReceiptRow } from './receipts-repository';
export { ConflictsRepository, type ConflictListQuery, type Hotspot } from './conflicts-repository';
export { RepairsRepository, repairView, repairCursor, type RepairLedgerRow, type RepairListQuery } from './repairs-repository';
export { DeviceProgressRepository, type DeviceProgress, type PushMark } from './device-progress-repository';
export { ReadScopesRepository, type ReadStanding } from './read-scopes-repository';
export { EntityAssetsRepository, type EntityAssetRef } from './entity-assets-repository';
export { SchemaRepository, type SchemaRecord, type RevisionRecord, type ActiveRevision } from './schema-repository';
export { JobQueueRepository, type QueueStateRow, type QueueRepairRow } from './job-queue-repository';
export { UploadBacklogRepository, type UploadBacklogRow, type UploadBacklogQuery } from './upload-backlog-repository';
export { ReplayJobRepository, type SqlRunner, type ReplayTransition } from './replay-job-repository';
export { ReplayRebuildRepository, SHADOW_TABLES, createShadow, dropShadow, shadowExists, type ReplayEntityKey, type FoundEntity } from './replay-rebuild-repository';
export { PolicyRevisionRepository, type PolicyActivation } from './policy-revision-repository';
export { ReplaySwapRepository, type LiveChange } from './replay-swap-repository';
export { ReplayWorkerLock } from './replay-worker-lock';
export { PartitionLocks, type LockSession } from './partition-locks';
export { ConsumerCheckpointsRepository, type ConsumerCheckpointRecord, type ConsumerCheckpointView } from './consumer-checkpoints-repository';
