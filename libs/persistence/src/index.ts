export { createDataSource, runMigrations, migrateWithLock, postgresCheck, migrationDrift, inTransaction, MIGRATIONS, type DatabaseOptions } from './data-source';
export { ENTITIES, EntityRow, ChangeLogRow, EventReceiptRow, JournalDuplicateRow, ConsumerCheckpointRow, OutboxRow, ParkedEventRow, MergeDecisionRow, ConflictRow, RepairRow, DeviceSequenceRow, EntitySchemaRow, AssetUploadRow, AssetUploadPartRow, AssetRow, AssetReferenceRow, AssetOutboxRow } from './entities';
export type { DataSource, QueryRunner } from 'typeorm';
export { projectionDigest, type ProjectionDigest } from './digest';
export { OutboxRelay, type OutboxRelayOptions } from './outbox-relay';
