import type { ConflictSide, ConflictView } from '@tidemark/contracts';
import { encodeCursor, int, iso, type Sql } from './ledger-http';

/** A row of the conflict ledger as merge-service writes it. */
export interface ConflictRow {
  conflict_id: string;
  entity_type: string;
  entity_id: string;
  field: string;
  kind: 'field' | 'delete';
  rule: string;
  status: 'open' | 'resolved';
  /** The merge conflict minus id, kind, rule and field: base?, ours, theirs, openedAt (version), entity, workspace, acceptedAt, streamSeq. */
  detail: { base?: ConflictView['base']; ours: ConflictSide; theirs: ConflictSide; openedAt: number };
  opened_event_id: string;
  opened_seq: string;
  opened_accepted_at: Date;
  resolved_event_id: string | null;
  resolved_seq: string | null;
}

export const CONFLICT_COLUMNS =
  'conflict_id, entity_type, entity_id, field, kind, rule, status, detail, opened_event_id, opened_seq, opened_accepted_at, resolved_event_id, resolved_seq';

export const conflictCursor = (row: Pick<ConflictRow, 'opened_seq' | 'conflict_id'>): string => encodeCursor(row.opened_seq, row.conflict_id);

export function conflictView(row: ConflictRow): ConflictView {
  const { base, ours, theirs, openedAt } = row.detail;
  return {
    id: row.conflict_id,
    entity: { type: row.entity_type, id: row.entity_id },
    field: row.field,
    kind: row.kind,
    rule: row.rule,
    status: row.status,
    ...(base !== undefined ? { base } : {}),
    ours,
    theirs,
    opened: { eventId: row.opened_event_id, seq: int(row.opened_seq), version: openedAt, acceptedAt: iso(row.opened_accepted_at) },
    ...(row.resolved_event_id !== null ? { resolved: { eventId: row.resolved_event_id, seq: int(row.resolved_seq ?? 0) } } : {}),
    cursor: conflictCursor(row),
  };
}

/** One conflict of a workspace, or undefined (also for the id of another workspace's conflict). */
export async function findConflict(sql: Sql, workspace: string, id: string): Promise<ConflictRow | undefined> {
  const rows: ConflictRow[] = await sql.query(`SELECT ${CONFLICT_COLUMNS} FROM conflicts WHERE conflict_id = $1 AND workspace = $2`, [id, workspace]);
  return rows[0];
}
