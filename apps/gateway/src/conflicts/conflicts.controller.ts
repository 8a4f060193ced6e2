import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import {
  ConflictListQuery,
  HotspotQuery,
  LEDGER_LIMITS,
  LedgerId,
  compileValidator,
  type ConflictList,
  type ConflictView,
  type HotspotList,
  type ResolveResponse,
} from '@tidemark/contracts';
import { ProblemError } from '@tidemark/platform';
import { DEFAULT_WORKSPACE } from '../push/push.controller';
import { WORKSPACE_HEADER, workspaceOf } from '../workspace';
import { CONFLICT_COLUMNS, conflictCursor, conflictView, findConflict, type ConflictRow } from './conflict-rows';
import { LEDGER_DEPS, Where, decodeCursor, iso, notFound, pageOf, parsePath, parseQuery, type LedgerDeps } from './ledger-http';
import { ResolveService } from './resolve.service';

const validateList = compileValidator(ConflictListQuery);
const validateHotspots = compileValidator(HotspotQuery);
const validateId = compileValidator(LedgerId);

/** The conflict ledger of a workspace: listing, hotspots, one conflict, and its resolution. */
@Controller('v1/conflicts')
export class ConflictsController {
  private readonly resolver: ResolveService;

  constructor(
    @Inject(LEDGER_DEPS) private readonly deps: LedgerDeps,
    @Inject(DEFAULT_WORKSPACE) private readonly defaultWorkspace: string,
  ) {
    this.resolver = new ResolveService(deps);
  }

  /** Conflicts ordered by the journal sequence of their opening event, then id; `status` defaults to open. */
  @Get()
  async list(@Query() query: Record<string, unknown>, @Headers(WORKSPACE_HEADER) header: string | undefined): Promise<ConflictList> {
    const workspace = workspaceOf(header, this.defaultWorkspace);
    const q = parseQuery(validateList, query);
    const limit = q.limit ?? LEDGER_LIMITS.defaultPageSize;
    const where = new Where().add('workspace = $?', workspace);
    const status = q.status ?? 'open';
    if (status !== 'all') where.add('status = $?', status);
    if (q.entityType !== undefined) where.add('entity_type = $?', q.entityType);
    if (q.field !== undefined) where.add('field = $?', q.field);
    if (q.entityId !== undefined) where.add('entity_id = $?', q.entityId);
    if (q.after !== undefined) {
      const { seq, id } = decodeCursor(q.after);
      where.add('(opened_seq, conflict_id) > ($?::bigint, $?::text)', seq, id ?? '');
    }
    const rows: ConflictRow[] = await this.deps.ds.query(`SELECT ${CONFLICT_COLUMNS} FROM conflicts ${where.clause()} ORDER BY opened_seq, conflict_id LIMIT ${where.param(limit + 1)}`, where.params);
    const { page, ...rest } = pageOf(rows, limit, conflictCursor, q.after);
    return { conflicts: page.map(conflictView), ...rest };
  }

  /** Open conflicts counted by entity type and field, most first, with the oldest opening time. */
  @Get('hotspots')
  async hotspots(@Query() query: Record<string, unknown>, @Headers(WORKSPACE_HEADER) header: string | undefined): Promise<HotspotList> {
    const workspace = workspaceOf(header, this.defaultWorkspace);
    const q = parseQuery(validateHotspots, query);
    const where = new Where().add('workspace = $?', workspace).add("status = 'open'");
    if (q.entityType !== undefined) where.add('entity_type = $?', q.entityType);
    const rows: { entity_type: string; field: string; open: string; oldest: Date }[] = await this.deps.ds.query(
      `SELECT entity_type, field, count(*) AS open, min(opened_accepted_at) AS oldest FROM conflicts ${where.clause()}
        GROUP BY entity_type, field ORDER BY count(*) DESC, entity_type, field LIMIT ${where.param(q.limit ?? LEDGER_LIMITS.defaultPageSize)}`,
      where.params,
    );
    return { hotspots: rows.map((r) => ({ entityType: r.entity_type, field: r.field, open: Number(r.open), oldestOpenedAt: iso(r.oldest) })) };
  }

  @Get(':id')
  async one(@Param('id') idText: string, @Headers(WORKSPACE_HEADER) header: string | undefined): Promise<ConflictView> {
    const workspace = workspaceOf(header, this.defaultWorkspace);
    const id = parsePath(validateId, 'id', idText);
    const row = await findConflict(this.deps.ds, workspace, id);
    if (!row) throw notFound('conflict', id, workspace);
    return conflictView(row);
  }

  /**
   * Journals a resolve event for an open conflict and answers once JetStream acknowledged it (202: the
   * resolution takes effect when merge-service applies it; the conflict then shows `resolved`).
   */
  @Post(':id/resolve')
  @HttpCode(202)
  async resolve(
    @Param('id') idText: string,
    @Body() body: unknown,
    @Headers(WORKSPACE_HEADER) header: string | undefined,
    @Headers('content-type') contentType: string | undefined,
  ): Promise<ResolveResponse> {
    if (!contentType || !/^application\/json\b/i.test(contentType)) throw ProblemError.unsupportedMediaType(contentType);
    const workspace = workspaceOf(header, this.defaultWorkspace);
    const id = parsePath(validateId, 'id', idText);
    return this.resolver.resolve(workspace, id, body);
  }
}
