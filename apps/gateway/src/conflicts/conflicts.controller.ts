import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import {
  ConflictListQuery,
  HotspotQuery,
  LEDGER_LIMITS,
  LedgerId,
  ProblemType,
  compileValidator,
  problem,
  type ConflictList,
  type ConflictView,
  type HotspotList,
  type ResolveResponse,
} from '@tidemark/contracts';
import { checkResolve } from '@tidemark/access';
import { ProblemError } from '@tidemark/platform';
import { CurrentPrincipal, RequireAuth, type DevicePrincipal } from '@tidemark/auth';
import { conflictCursor, conflictView, resolutionProblem, type ConflictLedgerRow } from '@tidemark/persistence';
import { LEDGER_DEPS, decodeCursor, notFound, pageOf, parsePath, parseQuery, type LedgerDeps } from './ledger-http';

const validateList = compileValidator(ConflictListQuery);
const validateHotspots = compileValidator(HotspotQuery);
const validateId = compileValidator(LedgerId);

/** The conflict ledger of a workspace: listing, hotspots, one conflict, and its resolution. */
@RequireAuth('device')
@Controller('v1/conflicts')
export class ConflictsController {
  constructor(@Inject(LEDGER_DEPS) private readonly deps: LedgerDeps) {}

  /** Conflicts ordered by the journal sequence of their opening event, then id; `status` defaults to open. */
  @Get()
  async list(@Query() query: Record<string, unknown>, @CurrentPrincipal() device: DevicePrincipal): Promise<ConflictList> {
    const workspace = device.workspace;
    const q = parseQuery(validateList, query);
    const limit = q.limit ?? LEDGER_LIMITS.defaultPageSize;
    const status = q.status ?? 'open';
    const rows = await this.deps.conflicts.list({
      workspace,
      status: status === 'all' ? undefined : status,
      entityType: q.entityType,
      field: q.field,
      entityId: q.entityId,
      after: q.after === undefined ? undefined : decodeCursor(q.after),
      limit: limit + 1,
      scope: await this.deps.readScope(workspace, device.deviceId),
    });
    const { page, ...rest } = pageOf(rows, limit, conflictCursor, q.after);
    return { conflicts: page.map(conflictView), ...rest };
  }

  /** Open conflicts counted by entity type and field, most first, with the oldest opening time. */
  @Get('hotspots')
  async hotspots(@Query() query: Record<string, unknown>, @CurrentPrincipal() device: DevicePrincipal): Promise<HotspotList> {
    const workspace = device.workspace;
    const q = parseQuery(validateHotspots, query);
    return {
      hotspots: await this.deps.conflicts.hotspots({
        workspace,
        entityType: q.entityType,
        limit: q.limit ?? LEDGER_LIMITS.defaultPageSize,
        scope: await this.deps.readScope(workspace, device.deviceId),
      }),
    };
  }

  @Get(':id')
  async one(@Param('id') idText: string, @CurrentPrincipal() device: DevicePrincipal): Promise<ConflictView> {
    const workspace = device.workspace;
    const id = parsePath(validateId, 'id', idText);
    const row = await this.visible(workspace, device.deviceId, id);
    if (!row) throw notFound('conflict', id, workspace);
    return conflictView(row);
  }

  /**
   * Journals a resolve event for an open conflict and answers once JetStream acknowledged it (202: the
   * resolution takes effect when merge-service applies it; the conflict then shows `resolved`).
   */
  @Post(':id/resolve')
  @HttpCode(202)
  async resolve(@Param('id') idText: string, @Body() body: unknown, @CurrentPrincipal() device: DevicePrincipal, @Headers('content-type') contentType: string | undefined): Promise<ResolveResponse> {
    if (!contentType || !/^application\/json\b/i.test(contentType)) throw ProblemError.unsupportedMediaType(contentType);
    const workspace = device.workspace;
    const id = parsePath(validateId, 'id', idText);
    // A conflict on a record outside the device's read scopes is not there for it: 404, as an unknown id.
    if ((await this.deps.readScope(workspace, device.deviceId)) !== undefined && !(await this.visible(workspace, device.deviceId, id))) throw notFound('conflict', id, workspace);
    await this.mayResolve(workspace, device.deviceId, id);
    // A device resolves as its own resolver device, `resolver:<deviceId>`: never in another device's name,
    // and without taking numbers from its own deviceSeq (the resolver's sequence is the server's to keep).
    const isObject = body !== null && typeof body === 'object' && !Array.isArray(body);
    if (isObject && Object.prototype.hasOwnProperty.call(body, 'deviceId')) {
      throw ProblemError.validation([{ pointer: '/deviceId', detail: `a device resolves as "resolver:${device.deviceId}" (from its token); omit deviceId` }], 'nothing of this request was journaled');
    }
    const outcome = await this.deps.resolver.resolve(workspace, id, isObject ? { ...body, deviceId: `resolver:${device.deviceId}` } : body);
    if (!outcome.ok) throw new ProblemError(resolutionProblem(outcome.failure));
    return outcome.value;
  }

  /** A conflict of the workspace on a record the device reads (undefined: unknown, or outside its read scopes). */
  private async visible(workspace: string, deviceId: string, id: string): Promise<ConflictLedgerRow | undefined> {
    const row = await this.deps.conflicts.find(workspace, id);
    if (!row) return undefined;
    return (await this.deps.inScope(workspace, row.entity_type, row.entity_id, await this.deps.readScope(workspace, deviceId))) ? row : undefined;
  }

  /**
   * Resolving is a permission of the device's role (`resolve` in the workspace's access rules): 403 when the role
   * resolves nothing, or not conflicts of this one's entity type. A role that resolves some types only has the
   * conflict looked up for its type; an unknown conflict is left to the resolver's 404.
   */
  private async mayResolve(workspace: string, deviceId: string, id: string): Promise<void> {
    const access = await this.deps.access(workspace, deviceId);
    let verdict = checkResolve(access);
    if (verdict.ok && access.kind === 'role' && access.rules.resolve !== true) {
      const conflict = await this.deps.conflicts.find(workspace, id);
      if (conflict) verdict = checkResolve(access, conflict.entity_type);
    }
    if (!verdict.ok) {
      throw new ProblemError(
        problem(ProblemType.forbidden, 403, 'Forbidden', {
          detail: `${verdict.detail}; nothing was journaled`,
          code: verdict.code,
          ...(access.kind === 'unrestricted' ? {} : { role: access.role, accessRulesVersion: access.version }),
        }),
      );
    }
  }
}
