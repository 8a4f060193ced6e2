import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { LEDGER_LIMITS, LedgerId, RepairListQuery, compileValidator, type RepairList, type RepairView } from '@tidemark/contracts';
import { CurrentPrincipal, RequireAuth, type DevicePrincipal } from '@tidemark/auth';
import { LEDGER_DEPS, Where, decodeCursor, encodeCursor, int, notFound, pageOf, parsePath, parseQuery, type LedgerDeps } from './ledger-http';

const validateList = compileValidator(RepairListQuery);
const validateId = compileValidator(LedgerId);

interface RepairRow {
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
const cursorOf = (row: RepairRow): string => encodeCursor(row.stream_seq, row.repair_id);

function repairView(row: RepairRow): RepairView {
  return {
    id: row.repair_id,
    entity: { type: row.entity_type, id: row.entity_id },
    code: row.code,
    reason: row.reason,
    status: row.status,
    eventId: row.event_id,
    streamSeq: int(row.stream_seq),
    current: row.detail.current,
    reported: row.detail.reported,
    cursor: cursorOf(row),
  };
}

/** Impossible job transitions merge parked for an operator, with both facts side by side. */
@RequireAuth('device')
@Controller('v1/repairs')
export class RepairsController {
  constructor(
    @Inject(LEDGER_DEPS) private readonly deps: LedgerDeps,
  ) {}

  /** Repairs ordered by the journal sequence of the reported transition, then id; `status` defaults to open. */
  @Get()
  async list(@Query() query: Record<string, unknown>, @CurrentPrincipal() device: DevicePrincipal): Promise<RepairList> {
    const workspace = device.workspace;
    const q = parseQuery(validateList, query);
    const limit = q.limit ?? LEDGER_LIMITS.defaultPageSize;
    const where = new Where().add('workspace = $?', workspace);
    const status = q.status ?? 'open';
    if (status === 'open') where.add("status = 'open'");
    if (status === 'closed') where.add("status <> 'open'");
    if (q.entityType !== undefined) where.add('entity_type = $?', q.entityType);
    if (q.entityId !== undefined) where.add('entity_id = $?', q.entityId);
    if (q.after !== undefined) {
      const { seq, id } = decodeCursor(q.after);
      where.add('(stream_seq, repair_id) > ($?::bigint, $?::text)', seq, id ?? '');
    }
    const rows: RepairRow[] = await this.deps.ds.query(`SELECT ${COLUMNS} FROM repairs ${where.clause()} ORDER BY stream_seq, repair_id LIMIT ${where.param(limit + 1)}`, where.params);
    const { page, ...rest } = pageOf(rows, limit, cursorOf, q.after);
    return { repairs: page.map(repairView), ...rest };
  }

  @Get(':id')
  async one(@Param('id') idText: string, @CurrentPrincipal() device: DevicePrincipal): Promise<RepairView> {
    const workspace = device.workspace;
    const id = parsePath(validateId, 'id', idText);
    const rows: RepairRow[] = await this.deps.ds.query(`SELECT ${COLUMNS} FROM repairs WHERE repair_id = $1 AND workspace = $2`, [id, workspace]);
    if (!rows[0]) throw notFound('repair', id, workspace);
    return repairView(rows[0]);
  }
}
