import { RequireAuth } from '@tidemark/auth';
import { Controller, Get, Inject, Query } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { UPLOAD_BACKLOG_GROUPINGS, compileValidator, type UploadBacklogView, type UploadGroupView, type UploadTotals, type UploadView, type UploadsView } from '@tidemark/contracts';
import { UploadBacklogRepository } from '@tidemark/persistence';
import { ageSeconds } from '@tidemark/ops';
import { OPS_VIEWS, type OpsViews } from '../streams/views';
import { UPLOADS_IN_PROGRESS } from '../lag/gauges';
import { iso, parseQuery } from '../streams/query';

export const AssetsQuery = Type.Object(
  {
    workspace: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
    stalledAfterSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86_400 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: 'most stalled and expired uploads listed (default 50)' })),
  },
  { additionalProperties: false },
);
const validate = compileValidator(AssetsQuery);

export const BacklogQuery = Type.Object(
  {
    by: Type.Optional(
      Type.Union(
        UPLOAD_BACKLOG_GROUPINGS.map((g) => Type.Literal(g)),
        { description: '`site` (of the device that created the upload; default) or `class` (file class)' },
      ),
    ),
    workspace: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
    stalledAfterSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86_400 })),
  },
  { additionalProperties: false },
);
const validateBacklog = compileValidator(BacklogQuery);

/** How `GET /v1/assets` groups uploads; `GET /v1/assets/backlog` groups them by site or by file class. */
export const ASSET_GROUPING = 'workspace and file class (content types within); by site: GET /v1/assets/backlog?by=site';

interface GroupRow {
  workspace: string;
  file_class: string;
  content_type: string;
  uploads: string;
  unknown_length: string;
  bytes_declared: string;
  bytes_received: string;
  bytes_pending: string;
  stalled: string;
  expired: string;
  oldest_created_at: Date;
}

interface UploadRow {
  id: string;
  workspace: string;
  site: string | null;
  file_class: string;
  content_type: string;
  size: string | null;
  upload_offset: string;
  status: string;
  created_at: Date;
  updated_at: Date;
  expires_at: Date;
}

/**
 * Asset transfers in progress from asset-service's ledger: uploads not yet complete with their pending
 * bytes (declared length − offset) by workspace, file class and content type; stalled uploads (no bytes
 * for `stalledAfterSeconds`); and expired uploads the collector has not aborted yet.
 */
@RequireAuth('operator')
@Controller('v1')
export class AssetsController {
  constructor(@Inject(OPS_VIEWS) private readonly views: OpsViews) {}

  @Get('assets')
  async assets(@Query() query: Record<string, unknown>): Promise<UploadsView> {
    const q = parseQuery(validate, query, ['stalledAfterSeconds', 'limit']);
    const stalledAfterSeconds = q.stalledAfterSeconds ?? this.views.stalledAfterSeconds;
    const limit = q.limit ?? 50;
    const now = this.views.now();
    const params = [q.workspace ?? null, now, stalledAfterSeconds];
    const where = `${UPLOADS_IN_PROGRESS} AND ($1::text IS NULL OR workspace = $1)`;
    // Stalled: no bytes for stalledAfterSeconds and not yet expired (expired ones are listed as such).
    const stalledIf = `updated_at <= $2::timestamptz - make_interval(secs => $3::double precision) AND expires_at > $2::timestamptz`;
    const [groups, stalled, expired] = await Promise.all([
      this.views.ds.query(
        `SELECT workspace, file_class, content_type, count(*) AS uploads, count(*) FILTER (WHERE size IS NULL) AS unknown_length,
                coalesce(sum(size), 0) AS bytes_declared, coalesce(sum(upload_offset), 0) AS bytes_received,
                coalesce(sum(greatest(size - upload_offset, 0)) FILTER (WHERE size IS NOT NULL), 0) AS bytes_pending,
                count(*) FILTER (WHERE ${stalledIf}) AS stalled, count(*) FILTER (WHERE expires_at <= $2::timestamptz) AS expired,
                min(created_at) AS oldest_created_at
           FROM asset_uploads WHERE ${where}
          GROUP BY workspace, file_class, content_type ORDER BY workspace, file_class, content_type`,
        params,
      ) as Promise<GroupRow[]>,
      this.views.ds.query(
        `SELECT id, workspace, site, file_class, content_type, size, upload_offset, status, created_at, updated_at, expires_at
           FROM asset_uploads WHERE ${where} AND ${stalledIf} ORDER BY updated_at, id LIMIT ${limit}`,
        params,
      ) as Promise<UploadRow[]>,
      this.views.ds.query(
        `SELECT id, workspace, site, file_class, content_type, size, upload_offset, status, created_at, updated_at, expires_at
           FROM asset_uploads WHERE ${where} AND expires_at <= $2::timestamptz ORDER BY expires_at, id LIMIT ${limit}`,
        params.slice(0, 2),
      ) as Promise<UploadRow[]>,
    ]);

    const totals = emptyTotals();
    const byClass = new Map<string, UploadGroupView>();
    for (const g of groups) {
      const t = totalsOf(g);
      add(totals, t);
      const key = `${g.workspace}\u0000${g.file_class}`;
      let c = byClass.get(key);
      if (!c) {
        c = { workspace: g.workspace, fileClass: g.file_class, ...emptyTotals(), oldestCreatedAt: iso(g.oldest_created_at)!, contentTypes: [] };
        byClass.set(key, c);
      }
      add(c, t);
      if (iso(g.oldest_created_at)! < c.oldestCreatedAt) c.oldestCreatedAt = iso(g.oldest_created_at)!;
      c.contentTypes.push({ contentType: g.content_type, ...t });
    }
    const upload = (r: UploadRow): UploadView => ({
      id: r.id,
      workspace: r.workspace,
      site: r.site,
      fileClass: r.file_class,
      contentType: r.content_type,
      status: r.status,
      size: r.size === null ? null : Number(r.size),
      offset: Number(r.upload_offset),
      bytesPending: r.size === null ? null : Math.max(0, Number(r.size) - Number(r.upload_offset)),
      createdAt: iso(r.created_at)!,
      lastProgressAt: iso(r.updated_at)!,
      silentSeconds: ageSeconds(now, r.updated_at),
      expiresAt: iso(r.expires_at)!,
    });
    return {
      at: now.toISOString(),
      stalledAfterSeconds,
      grouping: ASSET_GROUPING,
      inProgress: totals,
      groups: [...byClass.values()],
      stalled: stalled.map(upload),
      expired: expired.map(upload),
    };
  }
}

/**
 * Uploads in progress by the site of the device that created them (`site: null`: a device without one, or an
 * upload created before sites were recorded) or by file class, per workspace; most bytes pending first.
 */
@RequireAuth('operator')
@Controller('v1')
export class AssetBacklogController {
  constructor(@Inject(OPS_VIEWS) private readonly views: OpsViews) {}

  @Get('assets/backlog')
  async backlog(@Query() query: Record<string, unknown>): Promise<UploadBacklogView> {
    const q = parseQuery(validateBacklog, query, ['stalledAfterSeconds']);
    const by = q.by ?? 'site';
    const stalledAfterSeconds = q.stalledAfterSeconds ?? this.views.stalledAfterSeconds;
    const now = this.views.now();
    const rows = await new UploadBacklogRepository(this.views.ds).backlog({ by, workspace: q.workspace ?? null, now, stalledAfterSeconds });
    const inProgress = emptyTotals();
    const groups = rows.map((r) => {
      const { workspace, key, oldestCreatedAt, ...totals } = r;
      add(inProgress, totals);
      return { workspace, ...(by === 'site' ? { site: key } : { fileClass: key ?? '' }), ...totals, oldestCreatedAt: iso(oldestCreatedAt)!, oldestSeconds: ageSeconds(now, oldestCreatedAt) };
    });
    return { at: now.toISOString(), by, stalledAfterSeconds, inProgress, groups };
  }
}

function emptyTotals(): UploadTotals {
  return { uploads: 0, unknownLength: 0, bytesDeclared: 0, bytesReceived: 0, bytesPending: 0, stalled: 0, expired: 0 };
}

function totalsOf(g: GroupRow): UploadTotals {
  return {
    uploads: Number(g.uploads),
    unknownLength: Number(g.unknown_length),
    bytesDeclared: Number(g.bytes_declared),
    bytesReceived: Number(g.bytes_received),
    bytesPending: Number(g.bytes_pending),
    stalled: Number(g.stalled),
    expired: Number(g.expired),
  };
}

function add(into: UploadTotals, t: UploadTotals): void {
  for (const k of Object.keys(t) as (keyof UploadTotals)[]) into[k] += t[k];
}
