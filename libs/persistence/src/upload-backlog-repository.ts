import type { UploadTotals } from '@tidemark/contracts';
import type { Sql } from './sql';

/** Uploads still receiving bytes in asset-service's ledger. */
const IN_PROGRESS = "status IN ('pending', 'uploading')";

/** Uploads in progress of one workspace and site, or workspace and file class. */
export interface UploadBacklogRow extends UploadTotals {
  workspace: string;
  /** The site, or the file class, by what was asked; a site is null for devices without one. */
  key: string | null;
  oldestCreatedAt: Date;
}

export interface UploadBacklogQuery {
  by: 'site' | 'class';
  /** null: every workspace. */
  workspace: string | null;
  now: Date;
  /** An upload without bytes for this long, and not expired, is stalled. */
  stalledAfterSeconds: number;
}

/**
 * The upload backlog of asset-service's ledger grouped by the creating device's site or by file class: uploads in
 * progress (an index range of `asset_uploads_workspace_status` per workspace), bytes declared, received and pending,
 * stalled and expired. Most bytes pending first, then most uploads, then workspace and key.
 */
export class UploadBacklogRepository {
  constructor(private readonly sql: Sql) {}

  async backlog(query: UploadBacklogQuery): Promise<UploadBacklogRow[]> {
    const column = query.by === 'site' ? 'site' : 'file_class';
    const rows = (await this.sql.query(
      `SELECT workspace, ${column} AS key, count(*) AS uploads, count(*) FILTER (WHERE size IS NULL) AS unknown_length,
              coalesce(sum(size), 0) AS bytes_declared, coalesce(sum(upload_offset), 0) AS bytes_received,
              coalesce(sum(greatest(size - upload_offset, 0)) FILTER (WHERE size IS NOT NULL), 0) AS bytes_pending,
              count(*) FILTER (WHERE updated_at <= $2::timestamptz - make_interval(secs => $3::double precision) AND expires_at > $2::timestamptz) AS stalled,
              count(*) FILTER (WHERE expires_at <= $2::timestamptz) AS expired,
              min(created_at) AS oldest_created_at
         FROM asset_uploads
        WHERE ${IN_PROGRESS} AND ($1::text IS NULL OR workspace = $1)
        GROUP BY workspace, ${column}
        ORDER BY bytes_pending DESC, uploads DESC, workspace, ${column} NULLS LAST`,
      [query.workspace, query.now, query.stalledAfterSeconds],
    )) as {
      workspace: string;
      key: string | null;
      uploads: string;
      unknown_length: string;
      bytes_declared: string;
      bytes_received: string;
      bytes_pending: string;
      stalled: string;
      expired: string;
      oldest_created_at: Date;
    }[];
    return rows.map((r) => ({
      workspace: r.workspace,
      key: r.key,
      uploads: Number(r.uploads),
      unknownLength: Number(r.unknown_length),
      bytesDeclared: Number(r.bytes_declared),
      bytesReceived: Number(r.bytes_received),
      bytesPending: Number(r.bytes_pending),
      stalled: Number(r.stalled),
      expired: Number(r.expired),
      oldestCreatedAt: r.oldest_created_at,
    }));
  }
}
