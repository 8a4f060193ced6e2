import { Controller, Get, Headers, Inject, Param, Query } from '@nestjs/common';
import { EventIdParam, LEDGER_LIMITS, ReceiptQuery, compileValidator, type Receipt, type ReceiptList, type ReceiptStatus } from '@tidemark/contracts';
import { DEFAULT_WORKSPACE } from '../push/push.controller';
import { WORKSPACE_HEADER, workspaceOf } from '../workspace';
import { LEDGER_DEPS, Where, decodeCursor, encodeCursor, int, iso, notFound, pageOf, parsePath, parseQuery, type LedgerDeps } from '../conflicts/ledger-http';

const validateList = compileValidator(ReceiptQuery);
const validateEventId = compileValidator(EventIdParam);

interface ReceiptRow {
  event_id: string;
  device_id: string;
  device_seq: string;
  entity_type: string;
  entity_id: string;
  status: ReceiptStatus;
  reason: string | null;
  version: string | null;
  stream_seq: string;
  accepted_at: Date;
}

const COLUMNS = 'event_id, device_id, device_seq, entity_type, entity_id, status, reason, version, stream_seq, accepted_at';
const cursorOf = (row: ReceiptRow): string => encodeCursor(row.device_seq, row.event_id);

function receiptView(row: ReceiptRow): Receipt {
  return {
    eventId: row.event_id,
    deviceId: row.device_id,
    deviceSeq: int(row.device_seq),
    entity: { type: row.entity_type, id: row.entity_id },
    status: row.status,
    reason: row.reason,
    version: row.version === null ? null : int(row.version),
    streamSeq: int(row.stream_seq),
    acceptedAt: iso(row.accepted_at),
  };
}

/** Write receipts: each journaled event's fate as merge-service recorded it. */
@Controller('v1/receipts')
export class ReceiptsController {
  constructor(
    @Inject(LEDGER_DEPS) private readonly deps: LedgerDeps,
    @Inject(DEFAULT_WORKSPACE) private readonly defaultWorkspace: string,
  ) {}

  /** A device's receipts in device-sequence order; `after` is a deviceSeq or a previous page's `next`. */
  @Get()
  async list(@Query() query: Record<string, unknown>, @Headers(WORKSPACE_HEADER) header: string | undefined): Promise<ReceiptList> {
    const workspace = workspaceOf(header, this.defaultWorkspace);
    const q = parseQuery(validateList, query);
    const limit = q.limit ?? LEDGER_LIMITS.defaultPageSize;
    const where = new Where().add('workspace = $?', workspace).add('device_id = $?', q.deviceId);
    if (q.after !== undefined) {
      const { seq, id } = decodeCursor(q.after);
      if (id === undefined) where.add('device_seq > $?::bigint', seq);
      else where.add('(device_seq, event_id) > ($?::bigint, $?::uuid)', seq, id);
    }
    const rows: ReceiptRow[] = await this.deps.ds.query(`SELECT ${COLUMNS} FROM event_receipts ${where.clause()} ORDER BY device_seq, event_id LIMIT ${where.param(limit + 1)}`, where.params);
    const { page, ...rest } = pageOf(rows, limit, cursorOf, q.after);
    return { receipts: page.map(receiptView), ...rest };
  }

  @Get(':eventId')
  async one(@Param('eventId') eventIdText: string, @Headers(WORKSPACE_HEADER) header: string | undefined): Promise<Receipt> {
    const workspace = workspaceOf(header, this.defaultWorkspace);
    const eventId = parsePath(validateEventId, 'eventId', eventIdText);
    const rows: ReceiptRow[] = await this.deps.ds.query(`SELECT ${COLUMNS} FROM event_receipts WHERE event_id = $1 AND workspace = $2`, [eventId, workspace]);
    if (!rows[0]) throw notFound('receipt for event', eventId, workspace);
    return receiptView(rows[0]);
  }
}
