import type { ConflictView, HotspotList } from '@tidemark/contracts';
import { CONFLICT_COLUMNS, conflictView, findConflict, type ConflictLedgerRow } from './conflict-resolution';
import { Where, inReadScope, type SeqPosition, type Sql } from './sql';
import type { ScopeSelection } from './snapshot-repository';

/** Conflicts are listed by the journal sequence of their opening event, then id. */
export interface ConflictListQuery {
  workspace: string;
  /** undefined: every status. */
  status?: string | undefined;
  entityType?: string | undefined;
  field?: string | undefined;
  entityId?: string | undefined;
  after?: SeqPosition | undefined;
  limit: number;
  /** Only conflicts on records in these read scopes (a scoped device's listing); undefined: all. */
  scope?: ScopeSelection | undefined;
}

export type Hotspot = HotspotList['hotspots'][number];

/** The conflict ledger (`conflicts`, opened and resolved by merge-service) as devices and operators read it. */
export class ConflictsRepository {
  constructor(private readonly sql: Sql) {}

  /** At most `limit` conflicts after `after`, in (opened_seq, conflict_id) order. */
  async list(query: ConflictListQuery): Promise<ConflictLedgerRow[]> {
    const where = new Where().add('workspace = $?', query.workspace);
    if (query.status !== undefined) where.add('status = $?', query.status);
    if (query.entityType !== undefined) where.add('entity_type = $?', query.entityType);
    if (query.field !== undefined) where.add('field = $?', query.field);
    if (query.entityId !== undefined) where.add('entity_id = $?', query.entityId);
    if (query.after !== undefined) where.add('(opened_seq, conflict_id) > ($?::bigint, $?::text)', query.after.seq, query.after.id ?? '');
    inReadScope(where, 'conflicts', query.scope);
    return (await this.sql.query(
      `SELECT ${CONFLICT_COLUMNS} FROM conflicts ${where.clause()} ORDER BY opened_seq, conflict_id LIMIT ${where.param(query.limit)}`,
      where.params,
    )) as ConflictLedgerRow[];
  }

  /** Open conflicts counted by entity type and field, most first, with the oldest opening time. */
  async hotspots(query: { workspace: string; entityType?: string | undefined; limit: number; scope?: ScopeSelection | undefined }): Promise<Hotspot[]> {
    const where = new Where().add('workspace = $?', query.workspace).add("status = 'open'");
    if (query.entityType !== undefined) where.add('entity_type = $?', query.entityType);
    inReadScope(where, 'conflicts', query.scope);
    const rows = (await this.sql.query(
      `SELECT entity_type, field, count(*) AS open, min(opened_accepted_at) AS oldest FROM conflicts ${where.clause()}
        GROUP BY entity_type, field ORDER BY count(*) DESC, entity_type, field LIMIT ${where.param(query.limit)}`,
      where.params,
    )) as { entity_type: string; field: string; open: string; oldest: Date }[];
    return rows.map((r) => ({ entityType: r.entity_type, field: r.field, open: Number(r.open), oldestOpenedAt: (r.oldest instanceof Date ? r.oldest : new Date(r.oldest)).toISOString() }));
  }

  /** One conflict of a workspace (undefined: unknown here, also when it is another workspace's). */
  find(workspace: string, id: string): Promise<ConflictLedgerRow | undefined> {
    return findConflict(this.sql as Parameters<typeof findConflict>[0], workspace, id);
  }

  /** The conflicts these events opened or resolved, by opening sequence: they ride on the events' changes in a pull. */
  async ofEvents(workspace: string, eventIds: readonly string[]): Promise<ConflictView[]> {
    if (eventIds.length === 0) return [];
    const rows = (await this.sql.query(
      `SELECT ${CONFLICT_COLUMNS} FROM conflicts
      WHERE workspace = $1 AND (opened_event_id = ANY($2::uuid[]) OR resolved_event_id = ANY($2::uuid[]))
      ORDER BY opened_seq, conflict_id`,
      [workspace, eventIds],
    )) as ConflictLedgerRow[];
    return rows.map(conflictView);
  }
}
