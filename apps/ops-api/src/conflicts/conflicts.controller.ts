import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { CurrentPrincipal, RequireAuth, recordAudit, type OperatorPrincipal } from '@tidemark/auth';
import {
  ConflictField,
  IdToken,
  LedgerId,
  TypeName,
  compileValidator,
  journalMessageId,
  journalSubject,
  problem,
  ProblemType,
  type ConflictHotspotsView,
  type JournalRecord,
  type OpsBulkResolveResult,
  type OpsConflictList,
  type OpsConflictView,
  type OpsResolveResult,
  OPS_BULK_LIMITS,
} from '@tidemark/contracts';
import { STREAMS, publishIdempotent } from '@tidemark/messaging';
import { ageSeconds } from '@tidemark/ops';
import { ConflictResolver, conflictCursor, conflictView, conflictsWithId, listConflicts, resolutionProblem, type ConflictLedgerRow, type JournalResult } from '@tidemark/persistence';
import { ProblemError } from '@tidemark/platform';
import { OPS_VIEWS, type OpsViews } from '../streams/views';
import { iso, notFound, parsePath, parseQuery } from '../streams/query';

const Workspace = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
const Limit = Type.Integer({ minimum: 1, maximum: 500 });
export const ListQuery = Type.Object(
  {
    workspace: Type.Optional(Workspace),
    status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved'), Type.Literal('all')])),
    entityType: Type.Optional(TypeName),
    field: Type.Optional(ConflictField),
    entityId: Type.Optional(IdToken),
    limit: Type.Optional(Limit),
    after: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}:[A-Za-z0-9_:$-]{1,128}$', description: '`next` of the previous page' })),
  },
  { additionalProperties: false },
);
export const HotspotsQuery = Type.Object({ workspace: Type.Optional(Workspace), entityType: Type.Optional(TypeName), limit: Type.Optional(Limit) }, { additionalProperties: false });
export const Reason = Type.String({ minLength: 1, maxLength: 1000, pattern: '\\S', description: 'why, as the operator states it (audited)' });
const validateList = compileValidator(ListQuery);
/** Many open conflicts resolved by one rule (keep ours, or keep theirs), with one reason; at most `OPS_BULK_LIMITS.maxItems`. */
export const BulkResolveRequest = Type.Object(
  {
    conflicts: Type.Array(Type.Object({ conflictId: LedgerId, workspace: Workspace }, { additionalProperties: false }), {
      minItems: 1,
      maxItems: OPS_BULK_LIMITS.maxItems,
      description: `the conflicts, 1–${OPS_BULK_LIMITS.maxItems}`,
    }),
    pick: Type.Union([Type.Literal('ours'), Type.Literal('theirs')], { description: 'the rule every one of them is resolved by' }),
    reason: Type.String({ minLength: 1, maxLength: 1000, pattern: '\\S', description: 'why, as the operator states it (audited with each conflict)' }),
  },
  { additionalProperties: false },
);
const validateBulk = compileValidator(BulkResolveRequest);
/** A conflict's id is derived from an eventId, which is per workspace: `?workspace=` picks one when several hold it. */
export const OneQuery = Type.Object({ workspace: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })) }, { additionalProperties: false });
const validateOneQuery = compileValidator(OneQuery);
const validateHotspots = compileValidator(HotspotsQuery);
const validateId = compileValidator(LedgerId);
const validateReason = compileValidator(Reason);

/** The resolver device of operator resolutions (the gateway's is `resolver`): each process resolving has its own. */
export const OPS_RESOLVER = 'ops-resolver';

/**
 * The conflict ledger across workspaces for operators: listing and hotspots by workspace, entity type and
 * field with the oldest open age; resolution through the journal exactly as a device's (one resolve
 * event, applied by merge-service), with the operator's reason in the audit log.
 */
@RequireAuth('operator')
@Controller('v1/conflicts')
export class ConflictsController {
  private readonly resolver: ConflictResolver;

  constructor(@Inject(OPS_VIEWS) private readonly views: OpsViews) {
    this.resolver = new ConflictResolver({
      ds: views.ds,
      now: views.now,
      defaultResolver: OPS_RESOLVER,
      readJournal: async (seq) => (await views.connection().jsm.streams.getMessage(STREAMS.journal, { seq }))?.json<JournalRecord>(),
      journal: (workspace, deviceId, event) => journalResolve(views, workspace, deviceId, event),
    });
  }

  /** Conflicts of every workspace (or one), ordered by the journal sequence that opened them; `status` defaults to open. */
  @Get()
  async list(@Query() query: Record<string, unknown>): Promise<OpsConflictList> {
    const q = parseQuery(validateList, query, ['limit']);
    const limit = q.limit ?? 100;
    const status = q.status ?? 'open';
    const { rows: page, hasMore } = await listConflicts(
      this.views.ds,
      { ...(status === 'all' ? {} : { status }), workspace: q.workspace, entityType: q.entityType, field: q.field, entityId: q.entityId },
      limit,
      q.after,
    );
    const next = page.length > 0 ? conflictCursor(page[page.length - 1]!) : q.after;
    return { conflicts: page.map((r) => this.view(r)), ...(next !== undefined ? { next } : {}), hasMore };
  }

  /**
   * Open conflicts counted by workspace, entity type and field (most first) with the oldest opening time
   * and its age, and the open count per workspace.
   */
  @Get('hotspots')
  async hotspots(@Query() query: Record<string, unknown>): Promise<ConflictHotspotsView> {
    const q = parseQuery(validateHotspots, query, ['limit']);
    const params = [q.workspace ?? null, q.entityType ?? null];
    const filter = "status = 'open' AND ($1::text IS NULL OR workspace = $1) AND ($2::text IS NULL OR entity_type = $2)";
    const [hotspots, workspaces] = await Promise.all([
      this.views.ds.query(
        `SELECT workspace, entity_type, field, count(*) AS open, min(opened_accepted_at) AS oldest FROM conflicts WHERE ${filter}
          GROUP BY workspace, entity_type, field ORDER BY count(*) DESC, workspace, entity_type, field LIMIT ${q.limit ?? 100}`,
        params,
      ) as Promise<{ workspace: string; entity_type: string; field: string; open: string; oldest: Date }[]>,
      this.views.ds.query(`SELECT workspace, count(*) AS open, min(opened_accepted_at) AS oldest FROM conflicts WHERE ${filter} GROUP BY workspace ORDER BY workspace`, params) as Promise<
        { workspace: string; open: string; oldest: Date }[]
      >,
    ]);
    const now = this.views.now();
    return {
      at: now.toISOString(),
      open: workspaces.reduce((n, w) => n + Number(w.open), 0),
      workspaces: workspaces.map((w) => ({ workspace: w.workspace, open: Number(w.open), oldestOpenedAt: iso(w.oldest), oldestOpenSeconds: ageSeconds(now, w.oldest) })),
      hotspots: hotspots.map((h) => ({
        workspace: h.workspace,
        entityType: h.entity_type,
        field: h.field,
        open: Number(h.open),
        oldestOpenedAt: iso(h.oldest),
        oldestOpenSeconds: ageSeconds(now, h.oldest),
      })),
    };
  }

  @Get(':conflictId')
  async one(@Param('conflictId') idText: string, @Query() query: Record<string, unknown>): Promise<OpsConflictView> {
    const row = await this.find(parsePath(validateId, 'conflictId', idText), parseQuery(validateOneQuery, query).workspace);
    return this.view(row);
  }

  /**
   * Journals a resolve event for an open conflict (202 once JetStream acknowledged it; the conflict shows
   * `resolved` when merge-service applied it). Body: `{ pick: ours|theirs|value, value?, reason, eventId?, hlc? }`.
   * Every attempt that names an existing conflict is audited (`conflict.resolve`) with its outcome.
   */
  @Post(':conflictId/resolve')
  @HttpCode(202)
  async resolve(
    @Param('conflictId') idText: string,
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @CurrentPrincipal() operator: OperatorPrincipal,
    @Query() query: Record<string, unknown>,
  ): Promise<OpsResolveResult> {
    const { workspace } = parseQuery(validateOneQuery, query);
    if (!contentType || !/^application\/json\b/i.test(contentType)) throw ProblemError.unsupportedMediaType(contentType);
    const conflictId = parsePath(validateId, 'conflictId', idText);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw ProblemError.validation([{ pointer: '/', detail: 'must be an object' }], 'nothing of this request was journaled');
    const { reason, ...request } = body as Record<string, unknown>;
    const checkedReason = validateReason(reason);
    if (!checkedReason.ok)
      throw ProblemError.validation(
        [{ pointer: '/reason', detail: reason === undefined ? 'is required: say why (it is audited)' : checkedReason.errors[0]!.detail }],
        'nothing of this request was journaled',
      );
    const conflict = await this.find(conflictId, workspace);
    const outcome = await this.resolver.resolve(conflict.workspace, conflictId, request);
    const target = { workspace: conflict.workspace, conflictId };
    if (!outcome.ok) {
      if (outcome.failure.code !== 'invalid') {
        await recordAudit(this.views.ds, {
          actor: operator,
          action: 'conflict.resolve',
          target,
          reason: checkedReason.value,
          detail: { request, failure: outcome.failure },
          outcome: outcome.failure.code,
        });
      }
      throw new ProblemError(resolutionProblem(outcome.failure));
    }
    // The resolution's effect is a journal entry, not a Postgres row: the audit entry follows the journal's acknowledgement.
    await recordAudit(this.views.ds, {
      actor: operator,
      action: 'conflict.resolve',
      target,
      reason: checkedReason.value,
      detail: { pick: request.pick, ...('value' in request ? { value: request.value } : {}), ...outcome.value },
    });
    return { ...outcome.value, workspace: conflict.workspace, conflictId };
  }

  /**
   * Resolves many open conflicts by one rule (`pick`: ours or theirs) with one reason, one resolve event each,
   * in the order given (at most `OPS_BULK_LIMITS.maxItems`). Each is audited (`conflict.resolve`, with the
   * size of the batch) with its own outcome; one refused (resolved meanwhile, unknown) does not stop the rest.
   */
  @Post('resolve')
  @HttpCode(202)
  async resolveMany(@Body() body: unknown, @Headers('content-type') contentType: string | undefined, @CurrentPrincipal() operator: OperatorPrincipal): Promise<OpsBulkResolveResult> {
    if (!contentType || !/^application\/json\b/i.test(contentType)) throw ProblemError.unsupportedMediaType(contentType);
    const parsed = validateBulk(body);
    if (!parsed.ok) {
      const errors = parsed.errors.map((e) => (e.pointer === '/reason' && e.detail === 'is required' ? { ...e, detail: 'is required: say why (it is audited)' } : e));
      throw ProblemError.validation(errors, 'nothing of this request was journaled');
    }
    const { conflicts, pick, reason } = parsed.value;
    const seen = new Set<string>();
    const duplicates = conflicts.flatMap((c, i) =>
      seen.has(`${c.workspace}/${c.conflictId}`) ? [{ pointer: `/conflicts/${i}`, detail: 'names a conflict listed before' }] : (seen.add(`${c.workspace}/${c.conflictId}`), []),
    );
    if (duplicates.length > 0) throw ProblemError.validation(duplicates, 'nothing of this request was journaled');
    const results: OpsBulkResolveResult['results'] = [];
    for (const { workspace, conflictId } of conflicts) {
      const outcome = await this.resolver.resolve(workspace, conflictId, { pick });
      const target = { workspace, conflictId };
      if (outcome.ok) {
        await recordAudit(this.views.ds, { actor: operator, action: 'conflict.resolve', target, reason, detail: { pick, bulk: conflicts.length, ...outcome.value } });
        results.push({ workspace, conflictId, status: outcome.value.status, eventId: outcome.value.eventId, seq: outcome.value.seq });
      } else {
        if (outcome.failure.code !== 'not-found')
          await recordAudit(this.views.ds, {
            actor: operator,
            action: 'conflict.resolve',
            target,
            reason,
            detail: { pick, bulk: conflicts.length, failure: outcome.failure },
            outcome: outcome.failure.code,
          });
        results.push({ workspace, conflictId, status: 'refused', problem: resolutionProblem(outcome.failure) });
      }
    }
    return { pick, journaled: results.filter((r) => r.status !== 'refused').length, refused: results.filter((r) => r.status === 'refused').length, results };
  }

  /** The conflict with this id (in `workspace` when named); an id several workspaces hold is refused (409) until one is named. */
  private async find(conflictId: string, workspace?: string): Promise<ConflictLedgerRow> {
    const rows = await conflictsWithId(this.views.ds, conflictId, workspace);
    if (!rows[0]) throw notFound(`no conflict "${conflictId}" in ${workspace ? `workspace ${workspace}` : 'any workspace'}`);
    if (rows.length > 1) {
      throw new ProblemError(
        problem(ProblemType.conflict, 409, 'Conflict', {
          detail: `conflict ${conflictId} exists in ${rows.length} workspaces (${rows.map((r) => r.workspace).join(', ')}): name one with ?workspace=`,
          errors: [{ pointer: 'query:workspace', detail: 'required: the conflict id is used in several workspaces' }],
        }),
      );
    }
    return rows[0];
  }

  private view(row: ConflictLedgerRow): OpsConflictView {
    return { workspace: row.workspace, ...conflictView(row), openSeconds: row.status === 'open' ? ageSeconds(this.views.now(), row.opened_accepted_at) : null };
  }
}

/** Journals a resolve event like a device push: the journal record, its subject, `msgID = <workspace>:<eventId>`. */
async function journalResolve(views: OpsViews, workspace: string, deviceId: string, event: JournalRecord['event']): Promise<JournalResult> {
  const record: JournalRecord = { v: 1, workspace, acceptedAt: views.now().toISOString(), event };
  try {
    const ack = await publishIdempotent(views.connection().js, {
      subject: journalSubject(workspace, event.entity, views.partitions),
      data: JSON.stringify(record),
      msgID: journalMessageId(workspace, event.eventId),
      headers: { 'tm-workspace': workspace, 'tm-device': deviceId },
    });
    return { status: ack.duplicate ? 'duplicate' : 'accepted', seq: ack.seq };
  } catch (error) {
    return { status: 'rejected', reason: `journal unavailable: ${(error as Error).message}; retry with the same eventId` };
  }
}
