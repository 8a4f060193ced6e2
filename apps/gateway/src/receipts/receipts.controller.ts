import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { EventIdParam, LEDGER_LIMITS, ReceiptQuery, compileValidator, type Receipt, type ReceiptList } from '@tidemark/contracts';
import { CurrentPrincipal, RequireAuth, type DevicePrincipal } from '@tidemark/auth';
import { LEDGER_DEPS, Where, decodeCursor, notFound, pageOf, parsePath, parseQuery, type LedgerDeps } from '../conflicts/ledger-http';
import { COLUMNS, cursorOf, receiptView, type ReceiptRow } from './receipt-rows';

const validateList = compileValidator(ReceiptQuery);
const validateEventId = compileValidator(EventIdParam);

/** Write receipts: each journaled event's fate as merge-service recorded it. */
@RequireAuth('device')
@Controller('v1/receipts')
export class ReceiptsController {
  constructor(
    @Inject(LEDGER_DEPS) private readonly deps: LedgerDeps,
  ) {}

  /** A device's receipts in device-sequence order; `after` is a deviceSeq or a previous page's `next`. */
  @Get()
  async list(@Query() query: Record<string, unknown>, @CurrentPrincipal() device: DevicePrincipal): Promise<ReceiptList> {
    const workspace = device.workspace;
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
  async one(@Param('eventId') eventIdText: string, @CurrentPrincipal() device: DevicePrincipal): Promise<Receipt> {
    const workspace = device.workspace;
    const eventId = parsePath(validateEventId, 'eventId', eventIdText);
    const rows: ReceiptRow[] = await this.deps.ds.query(`SELECT ${COLUMNS} FROM event_receipts WHERE event_id = $1 AND workspace = $2`, [eventId, workspace]);
    if (!rows[0]) throw notFound('receipt for event', eventId, workspace);
    return receiptView(rows[0]);
  }
}
