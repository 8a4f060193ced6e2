import { assetSubject, schemaVersionHeaders, type AssetTransition } from '@tidemark/contracts';
import {
  statusChanges,
  transitionMessage,
  transitionMessageId,
  type AssetIdentity,
  type FileClass,
  type Lifecycle,
  type LifecycleEvent,
  type LifecycleStatus,
  type CollectReason,
} from '@tidemark/assets';
import type { DataSource, QueryRunner } from '@tidemark/persistence';

/** One tus upload as the ledger keeps it. */
export interface UploadRecord {
  id: string;
  workspace: string;
  /** The site of the device that created it (its token's), null without one: backlog is shown per site. */
  site: string | null;
  sha256: string;
  size: number | undefined;
  offset: number;
  contentType: string;
  fileClass: FileClass;
  filename: string | null;
  metadata: Record<string, string | null>;
  objectKey: string;
  s3UploadId: string | null;
  partSize: number;
  partsBytes: number;
  nextPart: number;
  tailBytes: number;
  status: LifecycleStatus;
  reason: CollectReason | null;
  deduplicated: boolean;
  statusSince: Date;
  expiresAt: Date;
}

export interface PartRecord {
  partNumber: number;
  size: number;
  etag: string;
  sha256: string;
}

/** A stored asset. */
export interface AssetRecord {
  workspace: string;
  sha256: string;
  size: number;
  contentType: string;
  fileClass: FileClass;
  objectKey: string;
  status: LifecycleStatus;
  reason: CollectReason | null;
  refCount: number;
  generation: number;
  uploadId: string;
  statusSince: Date;
}

type Query = Pick<QueryRunner, 'query'> | Pick<DataSource, 'query'>;

const UPLOAD_COLUMNS = `id, workspace, site, sha256, size, upload_offset, content_type, file_class, filename, metadata, object_key, s3_upload_id,
  part_size, parts_bytes, next_part, tail_bytes, status, reason, deduplicated, status_since, expires_at`;
const ASSET_COLUMNS = 'workspace, sha256, size, content_type, file_class, object_key, status, reason, ref_count, generation, upload_id, status_since';

interface UploadRow {
  id: string;
  workspace: string;
  site: string | null;
  sha256: string;
  size: string | null;
  upload_offset: string;
  content_type: string;
  file_class: FileClass;
  filename: string | null;
  metadata: Record<string, string | null>;
  object_key: string;
  s3_upload_id: string | null;
  part_size: string;
  parts_bytes: string;
  next_part: number;
  tail_bytes: string;
  status: LifecycleStatus;
  reason: CollectReason | null;
  deduplicated: boolean;
  status_since: Date;
  expires_at: Date;
}

interface AssetRow {
  workspace: string;
  sha256: string;
  size: string;
  content_type: string;
  file_class: FileClass;
  object_key: string;
  status: LifecycleStatus;
  reason: CollectReason | null;
  ref_count: number;
  generation: number;
  upload_id: string;
  status_since: Date;
}

/** Rows of an UPDATE/DELETE … RETURNING: TypeORM answers those as `[rows, rowCount]`, SELECT and INSERT as rows. */
async function returning<T>(q: Query, sql: string, params: unknown[]): Promise<T[]> {
  const result: unknown = await q.query(sql, params);
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}

const toUpload = (r: UploadRow): UploadRecord => ({
  id: r.id,
  workspace: r.workspace,
  site: r.site,
  sha256: r.sha256,
  size: r.size === null ? undefined : Number(r.size),
  offset: Number(r.upload_offset),
  contentType: r.content_type,
  fileClass: r.file_class,
  filename: r.filename,
  metadata: r.metadata,
  objectKey: r.object_key,
  s3UploadId: r.s3_upload_id,
  partSize: Number(r.part_size),
  partsBytes: Number(r.parts_bytes),
  nextPart: r.next_part,
  tailBytes: Number(r.tail_bytes),
  status: r.status,
  reason: r.reason,
  deduplicated: r.deduplicated,
  statusSince: r.status_since,
  expiresAt: r.expires_at,
});

const toAsset = (r: AssetRow): AssetRecord => ({
  workspace: r.workspace,
  sha256: r.sha256,
  size: Number(r.size),
  contentType: r.content_type,
  fileClass: r.file_class,
  objectKey: r.object_key,
  status: r.status,
  reason: r.reason,
  refCount: r.ref_count,
  generation: r.generation,
  uploadId: r.upload_id,
  statusSince: r.status_since,
});

/** The lifecycle view of an upload or an asset (what the decider reasons about). */
export function uploadLifecycle(u: UploadRecord): Lifecycle {
  return {
    status: u.status,
    size: u.size,
    offset: u.offset,
    references: 0,
    since: u.statusSince.toISOString(),
    ...(u.reason ? { reason: u.reason } : {}),
    ...(u.deduplicated ? { deduplicated: true } : {}),
  };
}

export function assetLifecycle(a: AssetRecord): Lifecycle {
  return { status: a.status, size: a.size, offset: a.size, references: a.refCount, since: a.statusSince.toISOString(), ...(a.reason ? { reason: a.reason } : {}) };
}

/** An ASSETS outbox row: the published payload, and headers naming the workspace, the upload and the schema version. */
export interface OutboxMessage {
  subject: string;
  msgId: string;
  payload: AssetTransition;
  headers: Record<string, string>;
}

/** Outbox messages for the status changes that `events` make to an upload. */
export function uploadMessages(identity: AssetIdentity, uploadId: string, before: Lifecycle | undefined, events: readonly LifecycleEvent[]): OutboxMessage[] {
  return statusChanges(before, events).map((change) => ({
    subject: assetSubject(identity.workspace, change.to, identity.sha256),
    msgId: transitionMessageId({ uploadId }, change.to),
    payload: transitionMessage(identity, change, uploadId),
    headers: { 'tm-workspace': identity.workspace, 'tm-upload': uploadId, ...schemaVersionHeaders('assetTransition') },
  }));
}

/** Outbox messages for the status changes `events` make to a stored asset; `generation` is the asset's count before them. */
export function assetMessages(identity: AssetIdentity, generation: number, before: Lifecycle, events: readonly LifecycleEvent[]): { messages: OutboxMessage[]; generation: number } {
  let g = generation;
  const messages = statusChanges(before, events).map((change) => {
    g += 1;
    return {
      subject: assetSubject(identity.workspace, change.to, identity.sha256),
      msgId: transitionMessageId({ workspace: identity.workspace, sha256: identity.sha256, generation: g }, change.to),
      payload: transitionMessage(identity, change),
      headers: { 'tm-workspace': identity.workspace, ...schemaVersionHeaders('assetTransition') },
    };
  });
  return { messages, generation: g };
}

/**
 * The asset-service ledger in Postgres: uploads, their committed parts, stored assets, references and
 * the ASSETS outbox. Raw SQL with compare-and-set updates; every lifecycle change and its outbox
 * messages are written in one transaction.
 */
export class Ledger {
  constructor(readonly ds: DataSource) {}

  async findUpload(q: Query, workspace: string, id: string): Promise<UploadRecord | undefined> {
    const rows: UploadRow[] = await q.query(`SELECT ${UPLOAD_COLUMNS} FROM asset_uploads WHERE id = $1 AND workspace = $2`, [id, workspace]);
    return rows[0] ? toUpload(rows[0]) : undefined;
  }

  async insertUpload(q: Query, u: UploadRecord): Promise<void> {
    await q.query(
      `INSERT INTO asset_uploads (id, workspace, sha256, size, upload_offset, content_type, file_class, filename, metadata, object_key, s3_upload_id,
         part_size, parts_bytes, next_part, tail_bytes, status, reason, deduplicated, status_since, expires_at, site)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
      [
        u.id,
        u.workspace,
        u.sha256,
        u.size ?? null,
        u.offset,
        u.contentType,
        u.fileClass,
        u.filename,
        JSON.stringify(u.metadata),
        u.objectKey,
        u.s3UploadId,
        u.partSize,
        u.partsBytes,
        u.nextPart,
        u.tailBytes,
        u.status,
        u.reason,
        u.deduplicated,
        u.statusSince,
        u.expiresAt,
        u.site,
      ],
    );
  }

  /** Bytes a workspace holds or has reserved: stored assets plus the declared length of open uploads. */
  async usedBytes(q: Query, workspace: string): Promise<number> {
    const rows: { n: string }[] = await q.query(
      `SELECT (SELECT COALESCE(sum(size), 0) FROM assets WHERE workspace = $1 AND status <> 'collected')
            + (SELECT COALESCE(sum(size), 0) FROM asset_uploads WHERE workspace = $1 AND status IN ('pending', 'uploading')) AS n`,
      [workspace],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** Serialises quota checks of one workspace (transaction-scoped). */
  async lockWorkspace(q: Query, workspace: string): Promise<void> {
    await q.query(`SELECT pg_advisory_xact_lock(hashtext('tidemark.asset-quota'), hashtext($1))`, [workspace]);
  }

  /** Serialises everything that creates, completes, revives or deletes one asset (transaction-scoped). */
  async lockAsset(q: Query, workspace: string, sha256: string): Promise<void> {
    await q.query(`SELECT pg_advisory_xact_lock(hashtext('tidemark.asset'), hashtext($1))`, [`${workspace}/${sha256}`]);
  }

  /** Claims an upload for one request (or the collector); `undefined` when another holder's claim is live. */
  async claim(id: string, owner: string, ttlMs: number): Promise<UploadRecord | undefined> {
    const rows = await returning<UploadRow>(
      this.ds,
      `UPDATE asset_uploads SET lock_owner = $2, lock_expires_at = now() + make_interval(secs => $3::double precision / 1000)
        WHERE id = $1 AND (lock_owner IS NULL OR lock_owner = $2 OR lock_expires_at < now()) RETURNING ${UPLOAD_COLUMNS}`,
      [id, owner, ttlMs],
    );
    return rows[0] ? toUpload(rows[0]) : undefined;
  }

  async renew(id: string, owner: string, ttlMs: number): Promise<boolean> {
    const rows = await returning(this.ds, `UPDATE asset_uploads SET lock_expires_at = now() + make_interval(secs => $3::double precision / 1000) WHERE id = $1 AND lock_owner = $2 RETURNING id`, [
      id,
      owner,
      ttlMs,
    ]);
    return rows.length === 1;
  }

  async release(id: string, owner: string): Promise<void> {
    await this.ds.query('UPDATE asset_uploads SET lock_owner = NULL, lock_expires_at = NULL WHERE id = $1 AND lock_owner = $2', [id, owner]);
  }

  /** Whether someone else holds a live claim on the upload. */
  async isClaimed(id: string): Promise<boolean> {
    const rows: unknown[] = await this.ds.query('SELECT 1 FROM asset_uploads WHERE id = $1 AND lock_owner IS NOT NULL AND lock_expires_at >= now()', [id]);
    return rows.length > 0;
  }

  async setMultipart(id: string, owner: string, s3UploadId: string): Promise<void> {
    const rows = await returning(this.ds, 'UPDATE asset_uploads SET s3_upload_id = $3, updated_at = now() WHERE id = $1 AND lock_owner = $2 RETURNING id', [id, owner, s3UploadId]);
    if (rows.length !== 1) throw new LostClaimError(id);
  }

  async setSize(q: Query, id: string, owner: string, size: number): Promise<void> {
    const rows = await returning(q, 'UPDATE asset_uploads SET size = $3, updated_at = now() WHERE id = $1 AND lock_owner = $2 RETURNING id', [id, owner, size]);
    if (rows.length !== 1) throw new LostClaimError(id);
  }

  async parts(q: Query, uploadId: string): Promise<PartRecord[]> {
    const rows: { part_number: number; size: string; etag: string; sha256: string }[] = await q.query(
      'SELECT part_number, size, etag, sha256 FROM asset_upload_parts WHERE upload_id = $1 ORDER BY part_number',
      [uploadId],
    );
    return rows.map((r) => ({ partNumber: r.part_number, size: Number(r.size), etag: r.etag, sha256: r.sha256 }));
  }

  /**
   * Records progress of an upload the caller has claimed: new parts, the pending tail and the offset,
   * compare-and-set on the offset it started from. Throws {@link LostClaimError} when the claim is gone.
   */
  async commitProgress(
    q: Query,
    u: { id: string; owner: string; fromOffset: number },
    progress: {
      offset: number;
      partsBytes: number;
      nextPart: number;
      tailBytes: number;
      status: LifecycleStatus;
      statusSince: Date;
      expiresAt: Date;
      reason?: CollectReason | null;
      parts: PartRecord[];
    },
  ): Promise<void> {
    if (progress.parts.length > 0) {
      await q.query(
        `INSERT INTO asset_upload_parts (upload_id, part_number, size, etag, sha256)
         SELECT $1, * FROM unnest($2::int[], $3::bigint[], $4::text[], $5::text[])
         ON CONFLICT (upload_id, part_number) DO UPDATE SET size = EXCLUDED.size, etag = EXCLUDED.etag, sha256 = EXCLUDED.sha256, created_at = now()`,
        [u.id, progress.parts.map((p) => p.partNumber), progress.parts.map((p) => p.size), progress.parts.map((p) => p.etag), progress.parts.map((p) => p.sha256)],
      );
    }
    const rows = await returning(
      q,
      `UPDATE asset_uploads SET upload_offset = $4, parts_bytes = $5, next_part = $6, tail_bytes = $7, status = $8, status_since = $9, expires_at = $10,
              reason = $11, updated_at = now()
        WHERE id = $1 AND lock_owner = $2 AND upload_offset = $3 RETURNING id`,
      [u.id, u.owner, u.fromOffset, progress.offset, progress.partsBytes, progress.nextPart, progress.tailBytes, progress.status, progress.statusSince, progress.expiresAt, progress.reason ?? null],
    );
    if (rows.length !== 1) throw new LostClaimError(u.id);
  }

  /** Sets an upload's final status (verified or collected) and forgets its parts. */
  async finishUpload(q: Query, u: { id: string; owner?: string }, status: LifecycleStatus, statusSince: Date, options: { offset?: number; reason?: CollectReason | null } = {}): Promise<void> {
    const rows = await returning(
      q,
      `UPDATE asset_uploads SET status = $3, status_since = $4, reason = $5, upload_offset = COALESCE($6, upload_offset), tail_bytes = 0,
              lock_owner = NULL, lock_expires_at = NULL, updated_at = now()
        WHERE id = $1 AND ($2::text IS NULL OR lock_owner = $2) RETURNING id`,
      [u.id, u.owner ?? null, status, statusSince, options.reason ?? null, options.offset ?? null],
    );
    if (rows.length !== 1) throw new LostClaimError(u.id);
    await q.query('DELETE FROM asset_upload_parts WHERE upload_id = $1', [u.id]);
  }

  async findAsset(q: Query, workspace: string, sha256: string): Promise<AssetRecord | undefined> {
    const rows: AssetRow[] = await q.query(`SELECT ${ASSET_COLUMNS} FROM assets WHERE workspace = $1 AND sha256 = $2`, [workspace, sha256]);
    return rows[0] ? toAsset(rows[0]) : undefined;
  }

  /** A newly verified asset, or a collected one stored again (its generation goes on counting). */
  async storeAsset(q: Query, a: Omit<AssetRecord, 'refCount' | 'reason' | 'status'>): Promise<void> {
    await q.query(
      `INSERT INTO assets (workspace, sha256, size, content_type, file_class, object_key, status, reason, ref_count, generation, upload_id, status_since)
       VALUES ($1, $2, $3, $4, $5, $6, 'verified', NULL, 0, $7, $8, $9)
       ON CONFLICT (workspace, sha256) DO UPDATE SET size = EXCLUDED.size, content_type = EXCLUDED.content_type, file_class = EXCLUDED.file_class,
         object_key = EXCLUDED.object_key, status = 'verified', reason = NULL, ref_count = 0, generation = EXCLUDED.generation,
         upload_id = EXCLUDED.upload_id, status_since = EXCLUDED.status_since`,
      [a.workspace, a.sha256, a.size, a.contentType, a.fileClass, a.objectKey, a.generation, a.uploadId, a.statusSince],
    );
  }

  async updateAsset(q: Query, a: { workspace: string; sha256: string }, state: Lifecycle, generation: number): Promise<void> {
    await q.query('UPDATE assets SET status = $3, ref_count = $4, status_since = $5, reason = $6, generation = $7 WHERE workspace = $1 AND sha256 = $2', [
      a.workspace,
      a.sha256,
      state.status,
      state.references,
      state.since,
      state.reason ?? null,
      generation,
    ]);
  }

  /** Adds a reference; false when it was already there. */
  async addReference(q: Query, workspace: string, sha256: string, ref: string): Promise<boolean> {
    const rows: unknown[] = await q.query('INSERT INTO asset_references (workspace, sha256, ref) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING ref', [workspace, sha256, ref]);
    return rows.length === 1;
  }

  /** Removes a reference; false when it was not there. */
  async removeReference(q: Query, workspace: string, sha256: string, ref: string): Promise<boolean> {
    const rows = await returning(q, 'DELETE FROM asset_references WHERE workspace = $1 AND sha256 = $2 AND ref = $3 RETURNING ref', [workspace, sha256, ref]);
    return rows.length === 1;
  }

  async clearReferences(q: Query, workspace: string, sha256: string): Promise<void> {
    await q.query('DELETE FROM asset_references WHERE workspace = $1 AND sha256 = $2', [workspace, sha256]);
  }

  async insertOutbox(q: Query, messages: OutboxMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await q.query(
      `INSERT INTO asset_outbox (subject, msg_id, payload, headers)
       SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::jsonb[])`,
      [messages.map((m) => m.subject), messages.map((m) => m.msgId), messages.map((m) => JSON.stringify(m.payload)), messages.map((m) => JSON.stringify(m.headers))],
    );
  }

  /** Open uploads past their expiry that nobody holds. */
  async expiredUploads(limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.ds.query(
      `SELECT id FROM asset_uploads WHERE status IN ('pending', 'uploading') AND expires_at <= now()
          AND (lock_owner IS NULL OR lock_expires_at < now()) ORDER BY expires_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }

  /** Which of these S3 multipart upload ids an open upload holds (the rest are strays). */
  async heldMultipartIds(s3UploadIds: string[]): Promise<Set<string>> {
    if (s3UploadIds.length === 0) return new Set();
    const rows: { s3_upload_id: string }[] = await this.ds.query(`SELECT s3_upload_id FROM asset_uploads WHERE s3_upload_id = ANY($1::text[]) AND status IN ('pending', 'uploading')`, [s3UploadIds]);
    return new Set(rows.map((r) => r.s3_upload_id));
  }

  /** Assets due for a time-driven transition: unreferenced verified ones (when configured) and orphans past their grace. */
  async assetsDue(orphanUnreferencedMs: number, orphanGraceMs: number, limit: number): Promise<AssetRecord[]> {
    const rows: AssetRow[] = await this.ds.query(
      `(SELECT ${ASSET_COLUMNS} FROM assets WHERE status = 'orphaned' AND status_since <= now() - make_interval(secs => $2::double precision / 1000) ORDER BY status_since LIMIT $3)
       UNION ALL
       (SELECT ${ASSET_COLUMNS} FROM assets WHERE $1::bigint > 0 AND status = 'verified' AND ref_count = 0
           AND status_since <= now() - make_interval(secs => $1::double precision / 1000) ORDER BY status_since LIMIT $3)`,
      [orphanUnreferencedMs, orphanGraceMs, limit],
    );
    return rows.map(toAsset);
  }
}

/** The request's claim on an upload was lost (it expired and someone else took it): nothing was recorded. */
export class LostClaimError extends Error {
  constructor(readonly uploadId: string) {
    super(`upload ${uploadId}: the claim on it was lost; nothing recorded`);
    this.name = 'LostClaimError';
  }
}
