import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { EventIdParam, LEDGER_LIMITS, ReceiptQuery, compileValidator, type Receipt, type ReceiptList } from '@tidemark/contracts';
import { CurrentPrincipal, RequireAuth, type DevicePrincipal } from '@tidemark/auth';
import { receiptCursor, receiptView } from '@tidemark/persistence';
import { LEDGER_DEPS, decodeCursor, notFound, pageOf, parsePath, parseQuery, type LedgerDeps } from '../conflicts/ledger-http';

const validateList = compileValidator(ReceiptQuery);
const validateEventId = compileValidator(EventIdParam);

/** Write receipts: each journaled event's fate as merge-service recorded it. */
@RequireAuth('device')
@Controller('v1/receipts')
export class ReceiptsController {
  constructor(@Inject(LEDGER_DEPS) private readonly deps: LedgerDeps) {}

  /** A device's receipts in device-sequence order; `after` is a deviceSeq or a previous page's `next`. */
  @Get()
  async list(@Query() query: Record<string, unknown>, @CurrentPrincipal() device: DevicePrincipal): Promise<ReceiptList> {
    const workspace = device.workspace;
    const q = parseQuery(validateList, query);
    const limit = q.limit ?? LEDGER_LIMITS.defaultPageSize;
    const rows = await this.deps.receipts.list({ workspace, deviceId: q.deviceId, after: q.after === undefined ? undefined : decodeCursor(q.after), limit: limit + 1 });
    const { page, ...rest } = pageOf(rows, limit, receiptCursor, q.after);
    return { receipts: page.map(receiptView), ...rest };
  }

  @Get(':eventId')
  async one(@Param('eventId') eventIdText: string, @CurrentPrincipal() device: DevicePrincipal): Promise<Receipt> {
    const workspace = device.workspace;
    const eventId = parsePath(validateEventId, 'eventId', eventIdText);
    const receipt = await this.deps.receipts.one(workspace, eventId);
    if (!receipt) throw notFound('receipt for event', eventId, workspace);
    return receipt;
  }
}
