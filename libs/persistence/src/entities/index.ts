import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { DeviceSequenceRow } from './device-sequence';
import { EntitySchemaRow } from './entity-schema';

export { DeviceSequenceRow, EntitySchemaRow };

/** The projection: one row per entity, its merge state and the view devices pull. */
@Entity({ name: 'entities' })
@Index('entities_scope', ['workspace', 'scopeKey', 'entityType', 'entityId'])
@Index('entities_job_queue', ['workspace', 'jobQueue', 'jobState', 'jobSince', 'jobAttempt'], { where: "job_state IN ('queued', 'running', 'retrying', 'failed')" })
export class EntityRow {
  @PrimaryColumn({ type: 'text' }) workspace!: string;
  @PrimaryColumn({ name: 'entity_type', type: 'text' }) entityType!: string;
  @PrimaryColumn({ name: 'entity_id', type: 'text' }) entityId!: string;
  @Column({ type: 'bigint' }) version!: string;
  @Column({ type: 'boolean', default: false }) deleted!: boolean;
  @Column({ type: 'jsonb' }) state!: unknown;
  @Column({ type: 'jsonb' }) view!: unknown;
  /** Where the record sits for partial sync (`scopeKey` of @tidemark/contracts). */
  @Column({ name: 'scope_key', type: 'text' }) scopeKey!: string;
  @Column({ name: 'last_event_id', type: 'uuid' }) lastEventId!: string;
  @Column({ name: 'last_stream_seq', type: 'bigint' }) lastStreamSeq!: string;
  /** A live job's queue (its type's `queueBy` field), state, attempt and when it entered that state; null otherwise. */
  @Column({ name: 'job_queue', type: 'text', nullable: true }) jobQueue!: string | null;
  @Column({ name: 'job_state', type: 'text', nullable: true }) jobState!: string | null;
  @Column({ name: 'job_attempt', type: 'integer', nullable: true }) jobAttempt!: number | null;
  @Column({ name: 'job_since', type: 'timestamptz', nullable: true }) jobSince!: Date | null;
}

/** Change log for device pull: the cursor orders commits within a workspace. */
@Entity({ name: 'change_log' })
@Index('change_log_workspace_cursor', ['workspace', 'cursor'])
@Index('change_log_entity_version', ['workspace', 'entityType', 'entityId', 'version'])
@Index('change_log_entity_cursor', ['workspace', 'entityType', 'entityId', 'cursor'])
@Index('change_log_scope_cursor', ['workspace', 'scopeKey', 'cursor'])
@Index('change_log_moved_from_cursor', ['workspace', 'movedFromKey', 'cursor'], { where: 'moved_from_key IS NOT NULL' })
export class ChangeLogRow {
  @PrimaryGeneratedColumn({ type: 'bigint' }) cursor!: string;
  @Column({ type: 'text' }) workspace!: string;
  @Column({ name: 'entity_type', type: 'text' }) entityType!: string;
  @Column({ name: 'entity_id', type: 'text' }) entityId!: string;
  @Column({ type: 'bigint' }) version!: string;
  @Column({ type: 'boolean' }) deleted!: boolean;
  @Column({ type: 'jsonb' }) view!: unknown;
  /** The record's scope key after the change. */
  @Column({ name: 'scope_key', type: 'text' }) scopeKey!: string;
  /** The key the change moved the record out of (null: it did not move). */
  @Column({ name: 'moved_from_key', type: 'text', nullable: true }) movedFromKey!: string | null;
  @Column({ name: 'event_id', type: 'uuid' }) eventId!: string;
  @Column({ name: 'device_id', type: 'text' }) deviceId!: string;
  @Column({ name: 'stream_seq', type: 'bigint' }) streamSeq!: string;
}

/** Each event's fate, keyed by (eventId, workspace): the lasting idempotency guarantee, per workspace. */
@Entity({ name: 'event_receipts' })
@Index('event_receipts_device', ['workspace', 'deviceId', 'deviceSeq'])
@Index('event_receipts_entity', ['workspace', 'entityType', 'entityId', 'streamSeq'])
export class EventReceiptRow {
  @PrimaryColumn({ name: 'event_id', type: 'uuid' }) eventId!: string;
  @PrimaryColumn({ type: 'text' }) workspace!: string;
  @Column({ name: 'device_id', type: 'text' }) deviceId!: string;
  @Column({ name: 'device_seq', type: 'bigint' }) deviceSeq!: string;
  @Column({ name: 'entity_type', type: 'text' }) entityType!: string;
  @Column({ name: 'entity_id', type: 'text' }) entityId!: string;
  @Column({ type: 'text' }) status!: string;
  @Column({ type: 'text', nullable: true }) reason!: string | null;
  @Column({ name: 'stream_seq', type: 'bigint' }) streamSeq!: string;
  @Column({ type: 'bigint', nullable: true }) version!: string | null;
  @Column({ name: 'accepted_at', type: 'timestamptz' }) acceptedAt!: Date;
}

/** A journal entry whose eventId had already been applied (a retry from beyond the dedupe window). */
@Entity({ name: 'journal_duplicates' })
export class JournalDuplicateRow {
  @PrimaryColumn({ name: 'stream_seq', type: 'bigint' }) streamSeq!: string;
  @Column({ name: 'event_id', type: 'uuid' }) eventId!: string;
  @Column({ type: 'text' }) workspace!: string;
  @Column({ name: 'device_id', type: 'text' }) deviceId!: string;
}

/** Last journal sequence committed per consumer; only ever moves forward. */
@Entity({ name: 'consumer_checkpoints' })
export class ConsumerCheckpointRow {
  @PrimaryColumn({ type: 'text' }) consumer!: string;
  @Column({ name: 'stream_seq', type: 'bigint' }) streamSeq!: string;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;
}

/** Messages to publish after commit (MERGED, REVIEW); the id is the JetStream message id. */
@Entity({ name: 'outbox' })
@Index('outbox_unpublished', ['id'], { where: 'published_at IS NULL' })
export class OutboxRow {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column({ type: 'text' }) subject!: string;
  /** The JetStream message id, derived from what the message reports (stable across rebuilds). */
  @Column({ name: 'msg_id', type: 'text' }) msgId!: string;
  @Column({ type: 'jsonb' }) payload!: unknown;
  @Column({ type: 'jsonb' }) headers!: Record<string, string>;
  @Column({ name: 'published_at', type: 'timestamptz', nullable: true }) publishedAt!: Date | null;
}

/**
 * Journal messages set aside for an operator, never dropped: an event naming a schema the registry lacks,
 * a message that is not a journal record, or one that kept failing. `status` is `parked` until a later
 * journal copy of the event is applied or parked again (`redriven`) or an operator skips it (`skipped`);
 * `resolved_seq` is the journal sequence of that copy or skip marker; `resolution` says which (`redrive`, `edit`, `retry`, `skip`).
 */
@Entity({ name: 'parked_events' })
@Index('parked_events_status', ['status', 'workspace'])
@Index('parked_events_event', ['eventId'])
export class ParkedEventRow {
  @PrimaryColumn({ type: 'text' }) consumer!: string;
  @PrimaryColumn({ name: 'stream_seq', type: 'bigint' }) streamSeq!: string;
  @Column({ name: 'event_id', type: 'uuid', nullable: true }) eventId!: string | null;
  @Column({ type: 'text', nullable: true }) workspace!: string | null;
  @Column({ type: 'text' }) subject!: string;
  @Column({ type: 'text' }) reason!: string;
  @Column({ type: 'integer' }) attempts!: number;
  @Column({ type: 'text' }) payload!: string;
  @Column({ type: 'text', default: 'parked' }) status!: string;
  @Column({ name: 'parked_at', type: 'timestamptz', default: () => 'now()' }) parkedAt!: Date;
  /** Why, as a code: `unknown-entity-type`, `unknown-schema-version`, `undecodable`, `failing`. */
  @Column({ type: 'text', nullable: true }) code!: string | null;
  /** The journal sequence of the copy (re-drive, edit, retry) or skip marker that resolved it. */
  @Column({ name: 'resolved_seq', type: 'bigint', nullable: true }) resolvedSeq!: string | null;
  @Column({ type: 'text', nullable: true }) resolution!: string | null;
  /** The operator's reason for the re-drive, edit or skip that resolved it. */
  @Column({ type: 'text', nullable: true }) note!: string | null;
}

/** The asset references an entity holds now (one row per field and sha256), replaced on each change. */
@Entity({ name: 'entity_assets' })
@Index('entity_assets_sha256', ['workspace', 'sha256'])
export class EntityAssetRow {
  @PrimaryColumn({ type: 'text' }) workspace!: string;
  @PrimaryColumn({ name: 'entity_type', type: 'text' }) entityType!: string;
  @PrimaryColumn({ name: 'entity_id', type: 'text' }) entityId!: string;
  @PrimaryColumn({ type: 'text' }) field!: string;
  @PrimaryColumn({ type: 'text' }) sha256!: string;
}

/**
 * Merge decisions, one row per event: its field decisions (policy, inputs, outcome, the rule that fired) as
 * one jsonb array of positional tuples, in decision order (`StoredDecision` in `@tidemark/merge`).
 */
@Entity({ name: 'merge_decisions' })
@Index('merge_decisions_entity', ['workspace', 'entityType', 'entityId'])
export class MergeDecisionRow {
  @PrimaryColumn({ name: 'event_id', type: 'uuid' }) eventId!: string;
  @PrimaryColumn({ type: 'text' }) workspace!: string;
  @Column({ name: 'entity_type', type: 'text' }) entityType!: string;
  @Column({ name: 'entity_id', type: 'text' }) entityId!: string;
  @Column({ name: 'stream_seq', type: 'bigint' }) streamSeq!: string;
  @Column({ type: 'jsonb' }) decisions!: unknown[];
}

/** The conflict ledger: what two devices disagreed on, with both sides and their causal stamps. */
@Entity({ name: 'conflicts' })
@Index('conflicts_open', ['workspace', 'status', 'entityType', 'field'])
@Index('conflicts_opened_event', ['openedEventId'])
@Index('conflicts_listing', ['status', 'openedSeq', 'conflictId'])
export class ConflictRow {
  @PrimaryColumn({ name: 'conflict_id', type: 'text' }) conflictId!: string;
  @PrimaryColumn({ type: 'text' }) workspace!: string;
  @Column({ name: 'entity_type', type: 'text' }) entityType!: string;
  @Column({ name: 'entity_id', type: 'text' }) entityId!: string;
  @Column({ type: 'text' }) field!: string;
  @Column({ type: 'text' }) kind!: string;
  @Column({ type: 'text' }) rule!: string;
  @Column({ type: 'text' }) status!: string;
  @Column({ type: 'jsonb' }) detail!: unknown;
  @Column({ name: 'opened_event_id', type: 'uuid' }) openedEventId!: string;
  @Column({ name: 'opened_seq', type: 'bigint' }) openedSeq!: string;
  @Column({ name: 'opened_accepted_at', type: 'timestamptz' }) openedAcceptedAt!: Date;
  @Column({ name: 'resolved_event_id', type: 'uuid', nullable: true }) resolvedEventId!: string | null;
  @Column({ name: 'resolved_seq', type: 'bigint', nullable: true }) resolvedSeq!: string | null;
}

/** Impossible job transitions, kept with both facts for an operator; never an overwrite. */
@Entity({ name: 'repairs' })
@Index('repairs_open', ['workspace', 'status'])
export class RepairRow {
  @PrimaryColumn({ name: 'repair_id', type: 'text' }) repairId!: string;
  @PrimaryColumn({ type: 'text' }) workspace!: string;
  @Column({ name: 'entity_type', type: 'text' }) entityType!: string;
  @Column({ name: 'entity_id', type: 'text' }) entityId!: string;
  @Column({ type: 'text' }) code!: string;
  @Column({ type: 'text' }) reason!: string;
  @Column({ type: 'jsonb' }) detail!: unknown;
  @Column({ name: 'event_id', type: 'uuid' }) eventId!: string;
  @Column({ name: 'stream_seq', type: 'bigint' }) streamSeq!: string;
  @Column({ type: 'text', default: 'open' }) status!: string;
}
/** tus uploads (asset-service ledger): where each upload stands, so resume never lists parts from the store. */
@Entity({ name: 'asset_uploads' })
@Index('asset_uploads_status_expires', ['status', 'expiresAt'])
@Index('asset_uploads_workspace_status', ['workspace', 'status'])
export class AssetUploadRow {
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ type: 'text' }) workspace!: string;
  /** The site of the device that created the upload (its token's), null without one. */
  @Column({ type: 'text', nullable: true }) site!: string | null;
  /** The whole-file sha256 the client declared (hex). */
  @Column({ type: 'text' }) sha256!: string;
  /** Declared length; null while deferred. */
  @Column({ type: 'bigint', nullable: true }) size!: string | null;
  @Column({ name: 'upload_offset', type: 'bigint', default: 0 }) uploadOffset!: string;
  @Column({ name: 'content_type', type: 'text' }) contentType!: string;
  @Column({ name: 'file_class', type: 'text' }) fileClass!: string;
  @Column({ type: 'text', nullable: true }) filename!: string | null;
  @Column({ type: 'jsonb' }) metadata!: Record<string, string | null>;
  @Column({ name: 'object_key', type: 'text' }) objectKey!: string;
  @Column({ name: 's3_upload_id', type: 'text', nullable: true }) s3UploadId!: string | null;
  @Column({ name: 'part_size', type: 'bigint' }) partSize!: string;
  /** Bytes in committed parts; the rest of the offset is the pending tail object. */
  @Column({ name: 'parts_bytes', type: 'bigint', default: 0 }) partsBytes!: string;
  @Column({ name: 'next_part', type: 'integer', default: 1 }) nextPart!: number;
  @Column({ name: 'tail_bytes', type: 'bigint', default: 0 }) tailBytes!: string;
  @Column({ type: 'text' }) status!: string;
  @Column({ type: 'text', nullable: true }) reason!: string | null;
  @Column({ type: 'boolean', default: false }) deduplicated!: boolean;
  @Column({ name: 'lock_owner', type: 'text', nullable: true }) lockOwner!: string | null;
  @Column({ name: 'lock_expires_at', type: 'timestamptz', nullable: true }) lockExpiresAt!: Date | null;
  @Column({ name: 'status_since', type: 'timestamptz' }) statusSince!: Date;
  @Column({ name: 'expires_at', type: 'timestamptz' }) expiresAt!: Date;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;
}

/** Committed S3 parts of an upload: number, size, ETag and the part's own sha256. */
@Entity({ name: 'asset_upload_parts' })
export class AssetUploadPartRow {
  @PrimaryColumn({ name: 'upload_id', type: 'uuid' }) uploadId!: string;
  @PrimaryColumn({ name: 'part_number', type: 'integer' }) partNumber!: number;
  @Column({ type: 'bigint' }) size!: string;
  @Column({ type: 'text' }) etag!: string;
  @Column({ type: 'text' }) sha256!: string;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
}

/** Stored assets, content-addressed within a workspace, with their lifecycle status. */
@Entity({ name: 'assets' })
@Index('assets_status_since', ['status', 'statusSince'])
@Index('assets_workspace_status', ['workspace', 'status'])
export class AssetRow {
  @PrimaryColumn({ type: 'text' }) workspace!: string;
  @PrimaryColumn({ type: 'text' }) sha256!: string;
  @Column({ type: 'bigint' }) size!: string;
  @Column({ name: 'content_type', type: 'text' }) contentType!: string;
  @Column({ name: 'file_class', type: 'text' }) fileClass!: string;
  @Column({ name: 'object_key', type: 'text' }) objectKey!: string;
  @Column({ type: 'text' }) status!: string;
  @Column({ type: 'text', nullable: true }) reason!: string | null;
  @Column({ name: 'ref_count', type: 'integer', default: 0 }) refCount!: number;
  /** Status changes so far: part of the message id of asset transitions that can repeat. */
  @Column({ type: 'integer', default: 0 }) generation!: number;
  @Column({ name: 'upload_id', type: 'uuid' }) uploadId!: string;
  @Column({ name: 'status_since', type: 'timestamptz' }) statusSince!: Date;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
}

/** Who points at an asset (a record reference, e.g. `annotation:img-42`). */
@Entity({ name: 'asset_references' })
export class AssetReferenceRow {
  @PrimaryColumn({ type: 'text' }) workspace!: string;
  @PrimaryColumn({ type: 'text' }) sha256!: string;
  @PrimaryColumn({ type: 'text' }) ref!: string;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
}

/** Asset lifecycle messages for the ASSETS stream, written in the ledger's transaction, relayed after commit. */
@Entity({ name: 'asset_outbox' })
@Index('asset_outbox_unpublished', ['id'], { where: 'published_at IS NULL' })
export class AssetOutboxRow {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column({ type: 'text' }) subject!: string;
  @Column({ name: 'msg_id', type: 'text' }) msgId!: string;
  @Column({ type: 'jsonb' }) payload!: unknown;
  @Column({ type: 'jsonb' }) headers!: Record<string, string>;
  @Column({ name: 'published_at', type: 'timestamptz', nullable: true }) publishedAt!: Date | null;
}
export const ENTITIES = [
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
];
