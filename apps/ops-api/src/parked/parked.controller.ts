import { createHash } from 'node:crypto';
import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { CurrentPrincipal, RequireAuth, recordAudit, type OperatorPrincipal } from '@tidemark/auth';
import {
  PARKED_HEADERS,
  PARKED_LIMITS,
  ParkedActionRequest,
  ParkedEditRequest,
  ParkedListQuery,
  ParkedProblemType,
  ProblemType,
  OPS_BULK_LIMITS,
  canonicalJson,
  compileValidator,
  parkedProblem,
  problem,
  validatePushRequest,
  type DeviceEvent,
  type InvalidParam,
  type JournalRecord,
  type ParkCode,
  type ParkedAction,
  type ParkedActionResult,
  type ParkedBulkResult,
  type ParkedDetailView,
  type ParkedEntryView,
  type ParkedPage,
  type ParkedStatus,
} from '@tidemark/contracts';
import { checkEditedEvent, checkOperatorAction } from '@tidemark/merge';
import { STREAMS, publishIdempotent } from '@tidemark/messaging';
import { findParked, inTransaction, listAudit, listParked, type ParkedLedgerRow } from '@tidemark/persistence';
import { ProblemError } from '@tidemark/platform';
import { OPS_DEPS, type OpsDeps } from '../streams/streams.controller';

const validateList = compileValidator(ParkedListQuery);
const validateAction = compileValidator(ParkedActionRequest);
const validateEdit = compileValidator(ParkedEditRequest);
const CONSUMER = /^[A-Za-z0-9_-]{1,64}$/;
const SEQ = /^[1-9][0-9]{0,17}$/;

/** A `parked_events` row with its status and code as the contracts name them. */
type ParkedRow = ParkedLedgerRow & { status: ParkedStatus; code: ParkCode | null };

/** Many parked entries re-driven with one reason; at most `OPS_BULK_LIMITS.maxItems`. */
export const ParkedBulkRedriveRequest = Type.Object(
  {
    entries: Type.Array(
      Type.Object(
        { consumer: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }), seq: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'the journal sequence of the parked message' }) },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: OPS_BULK_LIMITS.maxItems, description: `the entries, 1–${OPS_BULK_LIMITS.maxItems}` },
    ),
    reason: Type.String({ minLength: 1, maxLength: PARKED_LIMITS.maxReasonLength, pattern: '\\S', description: 'why, in the operator’s words (audited with each entry)' }),
  },
  { additionalProperties: false },
);
const validateBulk = compileValidator(ParkedBulkRedriveRequest);

/** The journal record a parked payload holds, if it is one. */
function recordOf(payload: string): JournalRecord | undefined {
  try {
    const record = JSON.parse(payload) as JournalRecord;
    return record && record.v === 1 && typeof record.workspace === 'string' && record.event && typeof record.event.eventId === 'string' ? record : undefined;
  } catch {
    return undefined;
  }
}

function entryView(row: ParkedRow): ParkedEntryView {
  const record = recordOf(row.payload);
  return {
    consumer: row.consumer,
    seq: Number(row.stream_seq),
    eventId: row.event_id,
    workspace: row.workspace,
    subject: row.subject,
    code: row.code,
    reason: row.reason,
    attempts: row.attempts,
    status: row.status,
    parkedAt: row.parked_at.toISOString(),
    resolution: row.resolution,
    resolvedSeq: row.resolved_seq === null ? null : Number(row.resolved_seq),
    note: row.note,
    event: record ? { entity: record.event.entity, deviceId: record.event.deviceId, deviceSeq: record.event.deviceSeq, op: record.event.op, schemaVersion: record.event.schemaVersion } : null,
  };
}

function requireJson(contentType: string | undefined): void {
  if (!contentType || !/^application\/json\b/i.test(contentType)) throw ProblemError.unsupportedMediaType(contentType);
}

/** Validates a body; a missing reason says why it is needed. Nothing is journaled when it fails. */
function parseBody<T extends { reason: string }>(validate: (input: unknown) => { ok: true; value: T } | { ok: false; errors: InvalidParam[] }, body: unknown): T {
  const parsed = validate(body);
  if (parsed.ok) return parsed.value;
  const errors = parsed.errors.map((e) => (e.pointer === '/reason' && e.detail === 'is required' ? { ...e, detail: 'is required: say why (it is audited)' } : e));
  throw ProblemError.validation(errors, 'nothing of this request was journaled');
}

/**
 * Parked work for operators: journal messages merge-service set aside (an unknown entity type or schema
 * version, a message that is not a journal record, one that kept failing), and the ways out. A re-drive,
 * an edit-and-re-drive or a skip is a message on the parked message's own journal subject
 * (`PARKED_HEADERS` name the entry and the action), so merge-service applies it exactly once, in journal
 * order, and a rebuild from the journal reaches the same place. Each call is audited in the transaction
 * that holds the entry while the message is journaled; the entry turns `redriven` or `skipped` when
 * merge-service has applied the message.
 */
@RequireAuth('operator')
@Controller('v1/parked')
export class ParkedController {
  constructor(@Inject(OPS_DEPS) private readonly deps: OpsDeps) {}

  /** Parked entries, oldest first (`status` defaults to `parked`; `all` for every status), paged by `next`. */
  @Get()
  async list(@Query() query: Record<string, unknown>): Promise<ParkedPage> {
    const parsed = validateList(query);
    if (!parsed.ok)
      throw ProblemError.validation(
        parsed.errors.map((e) => ({ pointer: `query:${e.pointer.replace(/^\//, '').split('/')[0]}`, detail: e.detail === 'unknown field' ? 'unknown parameter' : e.detail })),
      );
    const q = parsed.value;
    const limit = q.limit === undefined ? PARKED_LIMITS.defaultPageSize : Number(q.limit);
    if (limit < 1 || limit > PARKED_LIMITS.maxPageSize) throw ProblemError.validation([{ pointer: 'query:limit', detail: `must be from 1 to ${PARKED_LIMITS.maxPageSize}` }]);
    const status = q.status ?? 'parked';
    const { rows, hasMore } = await listParked(this.deps.ds, { workspace: q.workspace, consumer: q.consumer, status: status === 'all' ? undefined : status, code: q.code }, limit, q.after);
    return { parked: (rows as ParkedRow[]).map(entryView), hasMore, ...(hasMore ? { next: rows.at(-1)!.stream_seq } : {}) };
  }

  /** One entry with its journal record (as parked, and as the journal holds it), its event's receipt and its audit trail. */
  @Get(':consumer/:seq')
  async one(@Param('consumer') consumer: string, @Param('seq') seqText: string): Promise<ParkedDetailView> {
    const seq = parseTarget(consumer, seqText);
    const row = await this.find(this.deps.ds, consumer, seq);
    const stored = await this.deps.connection().jsm.streams.getMessage(STREAMS.journal, { seq }); // null: the journal no longer holds it
    const receipt: { status: string; reason: string | null; stream_seq: string; version: string | null }[] = row.event_id
      ? await this.deps.ds.query('SELECT status, reason, stream_seq, version FROM event_receipts WHERE event_id = $1 AND workspace = $2', [row.event_id, row.workspace])
      : [];
    // The whole trail of one entry (oldest first): a few actions at most, as each leaves the entry parked only when refused.
    const audit = (await listAudit(this.deps.ds, { action: 'parked.*', target: { consumer, seq: String(seq) } }, 500)).rows.reverse();
    return {
      ...entryView(row),
      record: recordOf(row.payload) ?? null,
      payload: row.payload,
      journal: stored ? { seq: stored.seq, subject: stored.subject, time: stored.time.toISOString(), headers: headersOf(stored.header), data: stored.string() } : null,
      receipt: receipt[0]
        ? { status: receipt[0].status, reason: receipt[0].reason, seq: Number(receipt[0].stream_seq), version: receipt[0].version === null ? null : Number(receipt[0].version) }
        : null,
      audit: audit.map((a) => ({ at: a.at.toISOString(), actor: a.actor, action: a.action, reason: a.reason, detail: a.detail, outcome: a.outcome })),
    };
  }

  /**
   * Re-drives many parked entries as they are, with one reason, in the order given (at most
   * `OPS_BULK_LIMITS.maxItems`): each exactly as a single re-drive, audited (`parked.redrive`) in its own
   * transaction with its outcome; one refused (not parked any more, unknown) does not stop the rest.
   */
  @Post('redrive')
  @HttpCode(202)
  async redriveMany(@Body() body: unknown, @Headers('content-type') contentType: string | undefined, @CurrentPrincipal() operator: OperatorPrincipal): Promise<ParkedBulkResult> {
    requireJson(contentType);
    const { entries, reason } = parseBody(validateBulk, body);
    const seen = new Set<string>();
    const duplicates = entries.flatMap((e, i) =>
      seen.has(`${e.consumer}/${e.seq}`) ? [{ pointer: `/entries/${i}`, detail: 'names an entry listed before' }] : (seen.add(`${e.consumer}/${e.seq}`), []),
    );
    if (duplicates.length > 0) throw ProblemError.validation(duplicates, 'nothing of this request was journaled');
    const results: ParkedBulkResult['results'] = [];
    for (const { consumer, seq } of entries) {
      try {
        const done = await this.act(operator, 'redrive', consumer, seq, reason, (row) => ({ data: row.payload, msgID: `parked-redrive-${consumer}-${seq}`, detail: { bulk: entries.length } }));
        results.push({ consumer, seq, status: 'journaled', journalSeq: done.journalSeq, duplicate: done.duplicate });
      } catch (error) {
        if (!(error instanceof ProblemError)) throw error;
        results.push({ consumer, seq, status: 'refused', problem: error.problem });
      }
    }
    return { journaled: results.filter((r) => r.status === 'journaled').length, refused: results.filter((r) => r.status === 'refused').length, results };
  }

  /** Re-drives the parked journal record as it is: `202` once the journal holds it (a repeated call is deduplicated). */
  @Post(':consumer/:seq/redrive')
  @HttpCode(202)
  async redrive(
    @Param('consumer') consumer: string,
    @Param('seq') seqText: string,
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @CurrentPrincipal() operator: OperatorPrincipal,
  ): Promise<ParkedActionResult> {
    requireJson(contentType);
    const seq = parseTarget(consumer, seqText);
    const { reason } = parseBody(validateAction, body);
    return this.act(operator, 'redrive', consumer, seq, reason, (row) => ({ data: row.payload, msgID: `parked-redrive-${consumer}-${seq}` }));
  }

  /**
   * Re-drives a corrected event in place of the parked one. The event is checked like a push, and must stay
   * the same event (eventId, deviceId, deviceSeq, entity: `422` otherwise); the original stays in the entry.
   */
  @Post(':consumer/:seq/edit')
  @HttpCode(202)
  async edit(
    @Param('consumer') consumer: string,
    @Param('seq') seqText: string,
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @CurrentPrincipal() operator: OperatorPrincipal,
  ): Promise<ParkedActionResult> {
    requireJson(contentType);
    const seq = parseTarget(consumer, seqText);
    const request = parseBody(validateEdit, body);
    const checked = validatePushRequest({ events: [request.event] });
    if (!checked.ok) {
      throw ProblemError.validation(
        checked.errors.map((e) => ({ pointer: e.pointer.replace(/^\/events\/0(?=\/|$)/, '/event').replace(/^\/events$/, '/event'), detail: e.detail })),
        'the corrected event is not a valid device event; nothing was journaled',
      );
    }
    const event: DeviceEvent = checked.value.events[0]!;
    const digest = createHash('sha256').update(canonicalJson(event)).digest('hex').slice(0, 16);
    return this.act(operator, 'edit', consumer, seq, request.reason, (row, original) => {
      const problems = checkEditedEvent(original!.event, event);
      if (problems.length > 0) {
        throw new ProblemError(
          parkedProblem(ParkedProblemType.editChangesIdentity, 422, 'Edited event is another event', {
            detail: 'an edit corrects the parked event; its eventId, deviceId, deviceSeq and entity must stay those of the original. Nothing was journaled',
            errors: problems,
          }),
        );
      }
      const record: JournalRecord = { ...original!, event };
      return { data: JSON.stringify(record), msgID: `parked-edit-${consumer}-${seq}-${digest}`, detail: { event } };
    });
  }

  /** Skips the parked entry: nothing is applied; the entry and its event's receipt become `skipped` with the reason. */
  @Post(':consumer/:seq/skip')
  @HttpCode(202)
  async skip(
    @Param('consumer') consumer: string,
    @Param('seq') seqText: string,
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @CurrentPrincipal() operator: OperatorPrincipal,
  ): Promise<ParkedActionResult> {
    requireJson(contentType);
    const seq = parseTarget(consumer, seqText);
    const { reason } = parseBody(validateAction, body);
    return this.act(operator, 'skip', consumer, seq, reason, () => ({ data: JSON.stringify({ v: 1, parked: { consumer, seq }, action: 'skip', reason }), msgID: `parked-skip-${consumer}-${seq}` }));
  }

  /**
   * Holds the entry (row lock) while it checks the action is allowed, journals the message on the entry's
   * subject and records the audit entry, all in one transaction: a refused or failed call changes nothing
   * but is audited with its outcome; concurrent calls on one entry run one after the other.
   */
  private async act(
    operator: OperatorPrincipal,
    action: ParkedAction,
    consumer: string,
    seq: number,
    reason: string,
    message: (row: ParkedRow, record: JournalRecord | undefined) => { data: string; msgID: string; detail?: Record<string, unknown> },
  ): Promise<ParkedActionResult> {
    const target = { consumer, seq };
    let failure: { outcome: string; error: ProblemError; detail?: Record<string, unknown> } | undefined;
    const answer = await inTransaction(this.deps.ds, async (q) => {
      const row = await this.find(q, consumer, seq, true);
      const record = recordOf(row.payload);
      const refusal = checkOperatorAction({ status: row.status, hasRecord: record !== undefined }, action);
      if (refusal) {
        const type = refusal.code === 'not-a-record' ? ParkedProblemType.notARecord : ParkedProblemType.notParked;
        failure = {
          outcome: refusal.code,
          error: new ProblemError(parkedProblem(type, 409, refusal.code === 'not-a-record' ? 'Not a journal record' : 'Not parked', { detail: refusal.detail, entryStatus: row.status })),
        };
        return undefined;
      }
      let built: ReturnType<typeof message>;
      try {
        built = message(row, record);
      } catch (error) {
        if (!(error instanceof ProblemError)) throw error;
        failure = { outcome: 'invalid-edit', error, detail: { errors: error.problem.errors } };
        return undefined;
      }
      let ack;
      try {
        ack = await publishIdempotent(this.deps.connection().js, {
          subject: row.subject,
          data: built.data,
          msgID: built.msgID,
          headers: {
            [PARKED_HEADERS.action]: action,
            [PARKED_HEADERS.consumer]: consumer,
            [PARKED_HEADERS.seq]: String(seq),
            [PARKED_HEADERS.reason]: encodeURIComponent(reason),
            ...(row.workspace ? { 'tm-workspace': row.workspace } : {}),
          },
        });
      } catch (error) {
        failure = {
          outcome: 'journal-unavailable',
          error: new ProblemError(
            problem(ProblemType.journalUnavailable, 503, 'Journal unavailable', {
              detail: `the journal did not acknowledge the ${action}: ${(error as Error).message}; retry (a repeated ${action} is deduplicated)`,
            }),
          ),
        };
        return undefined;
      }
      const result: ParkedActionResult = { consumer, seq, action, eventId: row.event_id, journalSeq: ack.seq, duplicate: ack.duplicate, status: row.status };
      await recordAudit(q, { actor: operator, action: `parked.${action}`, target, reason, detail: { eventId: row.event_id, journalSeq: ack.seq, duplicate: ack.duplicate, ...(built.detail ?? {}) } });
      return result;
    });
    if (failure) {
      await recordAudit(this.deps.ds, { actor: operator, action: `parked.${action}`, target, reason, detail: failure.detail, outcome: failure.outcome });
      throw failure.error;
    }
    // Without a failure, the transaction answered the result.
    return answer!;
  }

  private async find(q: { query(sql: string, params?: unknown[]): Promise<unknown> }, consumer: string, seq: number, lock = false): Promise<ParkedRow> {
    const row = (await findParked(q, consumer, seq, lock)) as ParkedRow | undefined;
    if (!row) throw new ProblemError(problem(ProblemType.notFound, 404, 'Not found', { detail: `no parked entry of consumer "${consumer}" at journal sequence ${seq}` }));
    return row;
  }
}

function parseTarget(consumer: string, seqText: string): number {
  const errors: InvalidParam[] = [];
  if (!CONSUMER.test(consumer)) errors.push({ pointer: 'path:consumer', detail: 'must be a consumer name (letters, digits, _ or -, 1–64)' });
  if (!SEQ.test(seqText) || !Number.isSafeInteger(Number(seqText))) errors.push({ pointer: 'path:seq', detail: 'must be a journal sequence (a positive integer)' });
  if (errors.length > 0) throw ProblemError.validation(errors);
  return Number(seqText);
}

function headersOf(h: { keys(): string[]; get(k: string): string } | undefined): Record<string, string> {
  if (!h) return {};
  return Object.fromEntries(
    h
      .keys()
      .sort()
      .map((k) => [k, h.get(k)]),
  );
}
