import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { CurrentPrincipal, RequireAuth, recordAudit, type OperatorPrincipal } from '@tidemark/auth';
import {
  ProblemType,
  REPLAY_LIMITS,
  RedeliveryRequest,
  ReplayCancelRequest,
  ReplayDiffQuery,
  ReplayListQuery,
  ReplayProblemType,
  ReplayRequest,
  ReplaySwapRequest,
  compileValidator,
  problem,
  replayProblem,
  type ReplayDiffPage,
  type ReplayJobList,
  type ReplayJobView,
  type ReplaySwapResult,
  type Validated,
} from '@tidemark/contracts';
import { ProblemError } from '@tidemark/platform';
import { checkReplayRequest } from '@tidemark/replay';
import { OPS_DEPS, type OpsDeps } from '../streams/streams.controller';
import { ReplayStore, jobView } from './replay-store';
import { rewindConsumer } from './redelivery';
import { swapReplay } from './swap';

const validators = {
  request: compileValidator(ReplayRequest),
  swap: compileValidator(ReplaySwapRequest),
  cancel: compileValidator(ReplayCancelRequest),
  list: compileValidator(ReplayListQuery),
  diff: compileValidator(ReplayDiffQuery),
  redelivery: compileValidator(RedeliveryRequest),
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function valid<T>(result: Validated<T>, where = ''): T {
  if (!result.ok) throw ProblemError.validation(result.errors.map((e) => ({ ...e, pointer: `${where}${where ? e.pointer.replace(/^\//, '') : e.pointer}` })));
  return result.value;
}

function replayId(id: string): string {
  if (!UUID.test(id)) throw ProblemError.validation([{ pointer: 'path:id', detail: 'must be a replay id (a UUID)' }]);
  return id;
}

const notFound = (id: string): ProblemError => new ProblemError(problem(ProblemType.notFound, 404, 'Not found', { detail: `there is no replay ${id}` }));
const wrongState = (id: string, status: string, wanted: string): ProblemError =>
  new ProblemError(replayProblem(ReplayProblemType.wrongState, 409, 'Replay is in the wrong state', { detail: `replay ${id} is ${status}; ${wanted}`, replayStatus: status }));

/**
 * Scoped, safe replay. A request is recorded (audited) and run by merge-service's replay worker: it plans
 * (events and entities in scope, an estimate; a plan-only request ends there), rebuilds the entities into a
 * shadow schema with the real projector, and diffs shadow against live. Nothing live changes until an
 * operator swaps it, confirming with the digest of the diff they read. See apps/ops-api/README.md, "Replay
 * and re-delivery".
 */
@Controller('v1/replays')
@RequireAuth('operator')
export class ReplaysController {
  private readonly store: ReplayStore;

  constructor(@Inject(OPS_DEPS) private readonly deps: OpsDeps) {
    this.store = new ReplayStore(deps.ds);
  }

  @Post()
  @HttpCode(202)
  async create(@Body() body: unknown, @CurrentPrincipal() actor: OperatorPrincipal): Promise<ReplayJobView> {
    const input = valid(validators.request(body));
    if (input.dryRun === false) {
      throw ProblemError.validation([{ pointer: '/dryRun', detail: 'a replay never changes live by itself: it builds a shadow and a diff, and POST /v1/replays/{id}/swap applies it' }]);
    }
    const policyRevisions = input.policyRevisions ?? {};
    const errors = checkReplayRequest(input.scope, Object.keys(policyRevisions));
    if (errors.length > 0) throw ProblemError.validation(errors, 'the replay request is not consistent; nothing was recorded');
    const request = { scope: input.scope, policyRevisions, reason: input.reason, eventsPerSecond: input.eventsPerSecond ?? REPLAY_LIMITS.defaultEventsPerSecond, planOnly: input.planOnly === true };
    const outcome = await this.store.create(request, actor);
    if (outcome.kind === 'invalid') throw ProblemError.validation(outcome.errors, 'a named policy revision is not published; nothing was recorded');
    return jobView(outcome.job, Date.now());
  }

  @Get()
  async list(@Query() query: Record<string, string>): Promise<ReplayJobList> {
    const q = valid(validators.list(query), 'query:');
    const rows = await this.store.list(q.status, Math.min(Number(q.limit ?? 50), 200));
    const now = Date.now();
    return { replays: rows.map((r) => jobView(r, now)) };
  }

  @Get(':id')
  async one(@Param('id') id: string): Promise<ReplayJobView> {
    const row = await this.store.get(replayId(id));
    if (!row) throw notFound(id);
    return jobView(row, Date.now());
  }

  /** The diff, entity by entity (changed, added and removed by default), with the summary and the digest to confirm. */
  @Get(':id/diff')
  async diff(@Param('id') id: string, @Query() query: Record<string, string>): Promise<ReplayDiffPage> {
    const q = valid(validators.diff(query), 'query:');
    const row = await this.store.get(replayId(id));
    if (!row) throw notFound(id);
    if (!row.diffDigest) throw wrongState(id, row.status, 'its diff is ready once it is built');
    let after: [string, string, string] | undefined;
    if (q.after) {
      try {
        const parsed = JSON.parse(Buffer.from(q.after, 'base64url').toString('utf8')) as unknown;
        if (!Array.isArray(parsed) || parsed.length !== 3 || !parsed.every((p) => typeof p === 'string')) throw new Error('shape');
        after = parsed as [string, string, string];
      } catch {
        throw ProblemError.validation([{ pointer: 'query:after', detail: 'must be the `next` of a previous page' }]);
      }
    }
    const limit = Math.min(Number(q.limit ?? REPLAY_LIMITS.defaultPageSize), REPLAY_LIMITS.maxPageSize);
    const page = await this.store.diffPage(row.id, q.change ?? 'differs', limit, after);
    return { id: row.id, status: row.status, digest: row.diffDigest, summary: row.diffSummary, ...page };
  }

  @Post(':id/swap')
  @HttpCode(200)
  async swap(@Param('id') id: string, @Body() body: unknown, @CurrentPrincipal() actor: OperatorPrincipal): Promise<ReplaySwapResult> {
    const input = valid(validators.swap(body));
    const outcome = await swapReplay(this.deps.ds, this.store.jobs, this.store.swaps, replayId(id), { confirm: input.confirm, reason: input.reason, actor });
    switch (outcome.kind) {
      case 'swapped':
        return { id, status: 'swapped', swap: outcome.summary };
      case 'not-found':
        throw notFound(id);
      case 'wrong-state':
        throw wrongState(id, outcome.status, 'only a built replay can be swapped');
      case 'confirm-mismatch':
        throw new ProblemError(
          replayProblem(ReplayProblemType.confirmMismatch, 409, 'Confirmation does not match the diff', {
            detail: `confirm must be the digest of replay ${id}'s diff (GET /v1/replays/${id}/diff): the swap applies exactly the diff that was read`,
            errors: [{ pointer: '/confirm', detail: 'is not the diff digest' }],
          }),
        );
      case 'live-changed':
        throw new ProblemError(
          replayProblem(ReplayProblemType.liveChanged, 409, 'Live changed since the replay was built', {
            detail: `live changed for ${outcome.count} of replay ${id}'s entities or revisions since it was planned, so its diff no longer says what a swap would do; nothing was swapped and the replay is stale: run it again`,
            changes: outcome.changes,
            count: outcome.count,
          }),
        );
    }
  }

  @Post(':id/cancel')
  @HttpCode(200)
  async cancel(@Param('id') id: string, @Body() body: unknown, @CurrentPrincipal() actor: OperatorPrincipal): Promise<ReplayJobView> {
    const input = valid(validators.cancel(body));
    const outcome = await this.store.cancel(replayId(id), input.reason, actor);
    switch (outcome.kind) {
      case 'cancelled':
        return jobView(outcome.job, Date.now());
      case 'not-found':
        throw notFound(id);
      case 'wrong-state':
        throw wrongState(id, outcome.status, 'it has already ended');
    }
  }
}

/** Re-delivery of a stream range to an integrator's durable consumer (a rewind; see `rewindConsumer`). */
@Controller('v1/redeliveries')
@RequireAuth('operator')
export class RedeliveriesController {
  constructor(@Inject(OPS_DEPS) private readonly deps: OpsDeps) {}

  @Post()
  @HttpCode(200)
  async redeliver(@Body() body: unknown, @CurrentPrincipal() actor: OperatorPrincipal): Promise<unknown> {
    const input = valid(validators.redelivery(body));
    const target = { stream: input.stream, consumer: input.consumer };
    let outcome;
    try {
      outcome = await rewindConsumer(this.deps.connection().jsm, input);
    } catch (error) {
      await recordAudit(this.deps.ds, {
        actor,
        action: 'redelivery.rewind',
        target,
        reason: input.reason,
        detail: { fromSeq: input.fromSeq, toSeq: input.toSeq },
        outcome: `failed: ${(error as Error).message}`,
      });
      throw error;
    }
    switch (outcome.kind) {
      case 'rewound':
        await recordAudit(this.deps.ds, {
          actor,
          action: 'redelivery.rewind',
          target,
          reason: input.reason,
          detail: {
            fromSeq: input.fromSeq,
            toSeq: input.toSeq,
            previous: outcome.previous,
            beyondRange: outcome.beyondRange,
            skipUnacknowledged: input.skipUnacknowledged === true,
            skippedUnacknowledged: outcome.skippedUnacknowledged,
          },
        });
        return outcome;
      case 'not-found':
        throw new ProblemError(replayProblem(ReplayProblemType.redeliveryRefused, 404, 'No such consumer', { detail: outcome.detail }));
      case 'refused':
        throw new ProblemError(replayProblem(ReplayProblemType.redeliveryRefused, 409, 'Cannot re-deliver to this consumer', { detail: outcome.detail }));
      case 'out-of-range':
        throw ProblemError.validation([{ pointer: outcome.pointer, detail: outcome.detail }], 'the range is not in the stream; nothing was re-delivered');
    }
  }
}
