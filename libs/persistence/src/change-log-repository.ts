import type { Sql } from './sql';
import { typeKeyRange } from '@tidemark/contracts';
import type { ChangeLogView, ScopeSelection } from './snapshot-repository';

const COLUMNS = 'cursor, entity_type, entity_id, version, deleted, view, event_id, device_id, scope_key, moved_from_key';

/**
 * The SQL condition (and its parameters, numbered from `first`) selecting the change-log rows of a scoped read:
 * rows in its exact keys or in a whole type's key range, and rows that moved a record out of them — each an index
 * range of `change_log_scope_cursor` or `change_log_moved_from_cursor`, so the read costs the changes in scope.
 */
export function scopeCondition(scope: ScopeSelection, first: number): { sql: string; params: unknown[] } {
  const params: unknown[] = [scope.keys];
  const terms = [`scope_key = ANY($${first}::text[])`, `moved_from_key = ANY($${first}::text[])`];
  for (const type of scope.types) {
    const { from, to } = typeKeyRange(type);
    params.push(from, to);
    const [a, b] = [first + params.length - 2, first + params.length - 1];
    terms.push(`(scope_key >= $${a} AND scope_key < $${b})`, `(moved_from_key >= $${a} AND moved_from_key < $${b})`);
  }
  return { sql: `(${terms.join(' OR ')})`, params };
}

/**
 * A workspace's change log after a cursor, in cursor order, at most `limit` rows; with `scope`, only the rows of
 * records in it or leaving it. Cursors of a workspace become visible in cursor order (merge-service writes the
 * change log last, under a per-workspace lock held to commit), so paging by the last cursor never skips a row,
 * scoped or not.
 */
export async function changeLogAfter(sql: Sql, workspace: string, after: string, limit: number, scope?: ScopeSelection): Promise<ChangeLogView[]> {
  if (scope && scope.keys.length === 0 && scope.types.length === 0) return [];
  const condition = scope ? scopeCondition(scope, 4) : undefined;
  return (await sql.query(`SELECT ${COLUMNS} FROM change_log WHERE workspace = $1 AND cursor > $2 ${condition ? `AND ${condition.sql}` : ''} ORDER BY cursor LIMIT $3`, [
    workspace,
    after,
    limit,
    ...(condition?.params ?? []),
  ])) as ChangeLogView[];
}

/** The change log (`change_log`, written by merge-service and a replay swap) as devices read it. */
export class ChangeLogRepository {
  constructor(private readonly sql: Sql) {}

  /** See {@link changeLogAfter}. */
  after(workspace: string, after: string, limit: number, scope?: ScopeSelection): Promise<ChangeLogView[]> {
    return changeLogAfter(this.sql, workspace, after, limit, scope);
  }
}
