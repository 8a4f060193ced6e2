import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { LEDGER_LIMITS, LedgerId, RepairListQuery, compileValidator, type RepairList, type RepairView } from '@tidemark/contracts';
import { CurrentPrincipal, RequireAuth, type DevicePrincipal } from '@tidemark/auth';
import { repairCursor, repairView } from '@tidemark/persistence';
import { LEDGER_DEPS, decodeCursor, notFound, pageOf, parsePath, parseQuery, type LedgerDeps } from './ledger-http';

const validateList = compileValidator(RepairListQuery);
const validateId = compileValidator(LedgerId);

/** Impossible job transitions merge parked for an operator, with both facts side by side. */
@RequireAuth('device')
@Controller('v1/repairs')
export class RepairsController {
  constructor(@Inject(LEDGER_DEPS) private readonly deps: LedgerDeps) {}

  /** Repairs ordered by the journal sequence of the reported transition, then id; `status` defaults to open. */
  @Get()
  async list(@Query() query: Record<string, unknown>, @CurrentPrincipal() device: DevicePrincipal): Promise<RepairList> {
    const workspace = device.workspace;
    const q = parseQuery(validateList, query);
    const limit = q.limit ?? LEDGER_LIMITS.defaultPageSize;
    const rows = await this.deps.repairs.list({
      workspace,
      status: q.status ?? 'open',
      entityType: q.entityType,
      entityId: q.entityId,
      after: q.after === undefined ? undefined : decodeCursor(q.after),
      limit: limit + 1,
      scope: await this.deps.readScope(workspace, device.deviceId),
    });
    const { page, ...rest } = pageOf(rows, limit, repairCursor, q.after);
    return { repairs: page.map(repairView), ...rest };
  }

  @Get(':id')
  async one(@Param('id') idText: string, @CurrentPrincipal() device: DevicePrincipal): Promise<RepairView> {
    const workspace = device.workspace;
    const id = parsePath(validateId, 'id', idText);
    const repair = await this.deps.repairs.one(workspace, id);
    // A repair of a record outside the device's read scopes is not there for it.
    if (!repair || !(await this.deps.inScope(workspace, repair.entity.type, repair.entity.id, await this.deps.readScope(workspace, device.deviceId)))) throw notFound('repair', id, workspace);
    return repair;
  }
}
