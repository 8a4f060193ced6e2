import type { RepairView } from '@tidemark/contracts';
import { Where, inReadScope, seqCursor, type SeqPosition, type Sql } from './sql';
import type { ScopeSelection } from './snapshot-repository';

/** An impossible job transition merge-service parked for an operator (`repairs`). */
export interface RepairLedgerRow {
  repair_id: string;
  entity_type: string;
  entity_id: string;
  code: string;
  reason: string;
  status: string;
  detail: { current: RepairView['current']; reported: RepairView['reported'] };
  event_id: string;
  stream_seq: string;
}

const COLUMNS = 'repair_id, entity_type, entity_id, code, reason, status, detail, event_id, stream_seq';

/** A repair's position: `<stream_seq>:<repair_id>`. */
export const repairCursor = (row: RepairLedgerRow): string => seqCursor(row.stream_seq, row.repair_id);

export function repairView(row: RepairLedgerRow): RepairView {
  return {
    id: row.repair_id,
    entity: { type: row.entity_type, id: row.entity_id },
    code: row.code,
    reason: row.reason,
    status: row.status,
    eventId: row.event_id,
    streamSeq: Number(row.stream_seq),
    current: row.detail.current,
    reported: row.detail.reported,
    cursor: repairCursor(row),
  };
}

/** Repairs are listed by the journal sequence of the reported transition, then id. */
export interface RepairListQuery {
  workspace: string;
  /** `open`, `closed` (any status but open) or `all`. */
  status: 'open' | 'closed' | 'all';
  entityType?: string | undefined;
  entityId?: string | undefined;
  after?: SeqPosition | undefined;
  limit: number;
  /** Only repairs of records in these read scopes (a scoped device's listing); undefined: all. */
  scope?: ScopeSelection | undefined;
}

/** The repair ledger (`repairs`, written by merge-service). */
export class RepairsRepository {
  constructor(private readonly sql: Sql) {}

  /** At most `limit` repairs after `after`, in (stream_seq, repair_id) order. */
  async list(query: RepairListQuery): Promise<RepairLedgerRow[]> {
    const where = new Where().add('workspace = $?', query.workspace);
    if (query.status === 'open') where.add("status = 'open'");
    if (query.status === 'closed') where.add("status <> 'open'");
    if (query.entityType !== undefined) where.add('entity_type = $?', query.entityType);
    if (query.entityId !== undefined) where.add('entity_id = $?', query.entityId);
    if (query.after !== undefined) where.add('(stream_seq, repair_id) > ($?::bigint, $?::text)', query.after.seq, query.after.id ?? '');
    inReadScope(where, 'repairs', query.scope);
    return (await this.sql.query(`SELECT ${COLUMNS} FROM repairs ${where.clause()} ORDER BY stream_seq, repair_id LIMIT ${where.param(query.limit)}`, where.params)) as RepairLedgerRow[];
  }

  /** One repair of a workspace (undefined: unknown here, also when it is another workspace's). */
  async one(workspace: string, id: string): Promise<RepairView | undefined> {
    const rows = (await this.sql.query(`SELECT ${COLUMNS} FROM repairs WHERE repair_id = $1 AND workspace = $2`, [id, workspace])) as RepairLedgerRow[];
    return rows[0] && repairView(rows[0]);
  }
}
