import type { Sql } from './sql';

/**
 * Where the bytes of a referenced asset stand, as a device showing "waiting for upload" needs it:
 * - `verified`: stored and checked in the workspace (the ledger's `verified`, `referenced` or `orphaned`);
 * - `uploading`: an upload of that sha256 is open in the workspace (`pending` or `uploading`);
 * - `missing`: neither (never uploaded, or collected).
 */
export type AssetStatus = 'verified' | 'uploading' | 'missing';

/** The status of one sha256 in a workspace, as SQL over `$ws` and a sha256 expression. */
const STATUS_SQL = (workspace: string, sha256: string) => `CASE
  WHEN EXISTS (SELECT 1 FROM assets a WHERE a.workspace = ${workspace} AND a.sha256 = ${sha256} AND a.status IN ('verified', 'referenced', 'orphaned')) THEN 'verified'
  WHEN EXISTS (SELECT 1 FROM asset_uploads u WHERE u.workspace = ${workspace} AND u.sha256 = ${sha256} AND u.status IN ('pending', 'uploading')) THEN 'uploading'
  ELSE 'missing' END`;

/**
 * The status of each sha256 in `workspace`'s asset ledger (assets are content-addressed per workspace).
 * Every sha256 asked about has an answer; one query whatever the count.
 */
export async function assetStatusOf(sql: Sql, workspace: string, sha256s: readonly string[]): Promise<Map<string, AssetStatus>> {
  const unique = [...new Set(sha256s)];
  const answer = new Map<string, AssetStatus>();
  if (unique.length === 0) return answer;
  const rows = (await sql.query(`SELECT k.sha256, ${STATUS_SQL('$1', 'k.sha256')} AS status FROM unnest($2::text[]) AS k(sha256)`, [workspace, unique])) as { sha256: string; status: AssetStatus }[];
  for (const row of rows) answer.set(row.sha256, row.status);
  return answer;
}

/** One entity field whose referenced asset is not verified yet. */
export interface WaitingAssetRef {
  workspace: string;
  entityType: string;
  entityId: string;
  field: string;
  sha256: string;
  status: Exclude<AssetStatus, 'verified'>;
}

export interface WaitingAssetQuery {
  workspace?: string;
  status?: Exclude<AssetStatus, 'verified'>;
  entityType?: string;
  limit: number;
  /** Keyset: the last row of the previous page. */
  after?: { workspace: string; entityType: string; entityId: string; field: string; sha256: string };
}

/**
 * Records whose referenced asset is not verified: the entity, the field and the asset's status, in a
 * stable order (workspace, entity type, entity id, field, sha256) for keyset paging.
 */
export async function waitingAssetRefs(sql: Sql, query: WaitingAssetQuery): Promise<WaitingAssetRef[]> {
  const after = query.after;
  const rows = (await sql.query(
    `SELECT * FROM (
       SELECT r.workspace, r.entity_type, r.entity_id, r.field, r.sha256, ${STATUS_SQL('r.workspace', 'r.sha256')} AS status
         FROM entity_assets r
        WHERE ($1::text IS NULL OR r.workspace = $1) AND ($2::text IS NULL OR r.entity_type = $2)
          AND ($4::text IS NULL OR (r.workspace, r.entity_type, r.entity_id, r.field, r.sha256) > ($4, $5, $6, $7, $8))
     ) w
     WHERE w.status <> 'verified' AND ($3::text IS NULL OR w.status = $3)
     ORDER BY w.workspace, w.entity_type, w.entity_id, w.field, w.sha256
     LIMIT $9`,
    [
      query.workspace ?? null,
      query.entityType ?? null,
      query.status ?? null,
      after?.workspace ?? null,
      after?.entityType ?? null,
      after?.entityId ?? null,
      after?.field ?? null,
      after?.sha256 ?? null,
      query.limit,
    ],
  )) as { workspace: string; entity_type: string; entity_id: string; field: string; sha256: string; status: Exclude<AssetStatus, 'verified'> }[];
  return rows.map((r) => ({ workspace: r.workspace, entityType: r.entity_type, entityId: r.entity_id, field: r.field, sha256: r.sha256, status: r.status }));
}
