import type { Sql } from './sql';
import { CONFLICT_COLUMNS, type ConflictLedgerRow } from './conflict-resolution';

/** One change-log row as a device receives it (the gateway maps it to a `Change`). */
export interface ChangeLogView {
  cursor: string;
  entity_type: string;
  entity_id: string;
  version: string;
  deleted: boolean;
  view: { values: Record<string, unknown>; inConflict: string[]; job?: { state: string; attempt: number; error?: string } };
  event_id: string;
  device_id: string;
  /** Where the record sat for partial sync after this change, and the key the change moved it out of (null: none). */
  scope_key: string;
  moved_from_key: string | null;
}

/** The records a scoped read takes: exact scope keys, and whole entity types. */
export interface ScopeSelection {
  keys: readonly string[];
  types: readonly string[];
}

export interface SnapshotPage {
  /** Each entity's latest change at or before the snapshot cursor, in entity-key order, deleted ones left out. */
  rows: ChangeLogView[];
  /** True when entities after the last row may hold more. */
  hasMore: boolean;
}

/**
 * The device snapshot: the state of each entity of a workspace as of one change-log cursor, read page by
 * page in entity-key order (`type`, then `id`).
 *
 * Consistency rests on how the change log is written: a workspace's cursors become visible in cursor order
 * (merge-service and a replay swap insert them under a per-workspace lock held to commit). So once
 * {@link head} has seen cursor C, every row of the workspace at or below C is visible and no row at or
 * below C can appear later: each page, whenever it is read, sees the same rows up to C. An entity's page
 * entry is its latest row at or below C; changes after C (an entity written, created or removed while the
 * device pages) are left to `GET /v1/changes?after=C`, so nothing is missed and nothing is applied out of order.
 *
 * The entity list comes from the projection (`entities`, primary key order); an entity a replay removed after
 * C is left out, and its tombstone at a cursor above C reaches the device through the change log.
 */
export class SnapshotRepository {
  constructor(private readonly sql: Sql) {}

  /** The workspace's highest change-log cursor, `'0'` when it has none: the cursor a new snapshot is taken at. */
  async head(workspace: string): Promise<string> {
    const rows = (await this.sql.query('SELECT max(cursor)::text AS cursor FROM change_log WHERE workspace = $1', [workspace])) as { cursor: string | null }[];
    return rows[0]?.cursor ?? '0';
  }

  /**
   * Up to `limit` entities after the key `after` (exclusive; undefined: from the first) as of `cursor`; with
   * `scope`, only those in it as of `cursor` (found through `entities_scope` and the primary key: O(records in the
   * scope), whatever the workspace's size).
   */
  async page(workspace: string, cursor: string, after: { type: string; id: string } | undefined, limit: number, scope?: ScopeSelection): Promise<SnapshotPage> {
    const params = [workspace, cursor, after?.type ?? '', after?.id ?? '', limit + 1];
    const rows = (await this.sql.query(scope ? SCOPED_SNAPSHOT_PAGE_SQL : SNAPSHOT_PAGE_SQL, scope ? [...params, scope.keys, scope.types] : params)) as ChangeLogView[];
    return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /**
   * The conflicts open now on these entities (the ledger as it stands, not as of the cursor): a device that
   * bootstraps learns of the open ones; one opened or resolved after the snapshot cursor also rides on its
   * change after the cursor, so the device's view of each conflict ends where the ledger is.
   */
  async openConflicts(workspace: string, entities: readonly { type: string; id: string }[]): Promise<ConflictLedgerRow[]> {
    if (entities.length === 0) return [];
    return (await this.sql.query(
      `SELECT ${CONFLICT_COLUMNS.split(', ')
        .map((c) => `c.${c}`)
        .join(', ')} FROM conflicts c
         JOIN unnest($2::text[], $3::text[]) AS k(t, i) ON c.entity_type = k.t AND c.entity_id = k.i
        WHERE c.workspace = $1 AND c.status = 'open' ORDER BY c.opened_seq, c.conflict_id`,
      [workspace, entities.map((e) => e.type), entities.map((e) => e.id)],
    )) as ConflictLedgerRow[];
  }
}

/**
 * Entities in primary-key order from the key after `$3/$4`, each joined to its latest change-log row at or
 * below `$2` (one backward probe of `change_log_entity_cursor`); entities with no row by then (created later)
 * and those deleted then are skipped. An empty `$3` starts at the first entity (a type is never empty).
 */
const snapshotPageSql = (scoped: boolean): string => `SELECT c.cursor::text AS cursor, e.entity_type, e.entity_id, c.version, c.deleted, c.view, c.event_id, c.device_id, c.scope_key, c.moved_from_key
  FROM entities e
  CROSS JOIN LATERAL (
    SELECT l.cursor, l.version, l.deleted, l.view, l.event_id, l.device_id, l.scope_key, l.moved_from_key FROM change_log l
     WHERE l.workspace = e.workspace AND l.entity_type = e.entity_type AND l.entity_id = e.entity_id AND l.cursor <= $2::bigint
     ORDER BY l.cursor DESC LIMIT 1) c
 WHERE e.workspace = $1 AND (e.entity_type, e.entity_id) > ($3::text, $4::text) AND NOT c.deleted${
   scoped ? '\n   AND (e.scope_key = ANY($6::text[]) OR e.entity_type = ANY($7::text[])) AND (c.scope_key = ANY($6::text[]) OR e.entity_type = ANY($7::text[]))' : ''
 }
 ORDER BY e.entity_type, e.entity_id
 LIMIT $5`;

export const SNAPSHOT_PAGE_SQL = snapshotPageSql(false);
/**
 * The same, for the records in a scope as of `$2`: the entity's key now narrows the search (an index range per key),
 * and its change-log row as of the cursor decides (a record that moved in after the cursor arrives by pull).
 */
export const SCOPED_SNAPSHOT_PAGE_SQL = snapshotPageSql(true);
