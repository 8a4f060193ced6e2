import { assetStatusOf, type AssetStatus } from './asset-status';
import type { Sql } from './sql';

/** One asset a projected entity's field references (`entity_assets`, written by merge-service from the schema's asset fields). */
export interface EntityAssetRef {
  entityType: string;
  entityId: string;
  field: string;
  sha256: string;
}

interface RefRow {
  entity_type: string;
  entity_id: string;
  field: string;
  sha256: string;
}

/** The projection's asset references, and where their bytes stand in the workspace's asset ledger. */
export class EntityAssetsRepository {
  constructor(private readonly sql: Sql) {}

  /** The references these entities hold, by entity type, id, field and sha256: one round trip. */
  async refsOf(workspace: string, entities: readonly { type: string; id: string }[]): Promise<EntityAssetRef[]> {
    if (entities.length === 0) return [];
    const rows = (await this.sql.query(
      `SELECT r.entity_type, r.entity_id, r.field, r.sha256 FROM entity_assets r
       JOIN unnest($2::text[], $3::text[]) AS k(t, i) ON r.entity_type = k.t AND r.entity_id = k.i
      WHERE r.workspace = $1 ORDER BY r.entity_type, r.entity_id, r.field, r.sha256`,
      [workspace, entities.map((e) => e.type), entities.map((e) => e.id)],
    )) as RefRow[];
    return rows.map((r) => ({ entityType: r.entity_type, entityId: r.entity_id, field: r.field, sha256: r.sha256 }));
  }

  /** The status of each sha256 (`assetStatusOf`): every one asked about has an answer. */
  statusOf(workspace: string, sha256s: readonly string[]): Promise<Map<string, AssetStatus>> {
    return assetStatusOf(this.sql, workspace, sha256s);
  }
}
