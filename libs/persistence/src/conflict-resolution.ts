import { randomUUID } from 'node:crypto';
import {
  DEFAULT_RESOLVER,
  LedgerProblemType,
  ProblemType,
  ResolveRequest,
  compileValidator,
  ledgerProblem,
  problem,
  validatePushRequest,
  type ConflictSide,
  type ConflictView,
  type DeviceEvent,
  type HlcStamp,
  type InvalidParam,
  type JournalRecord,
  type Problem,
  type ResolveResponse,
} from '@tidemark/contracts';
import type { DataSource } from 'typeorm';
import { inTransaction } from './data-source';

/**
 * Resolving a conflict of the ledger, without any transport: finding the conflict, the rules a resolution
 * obeys, the resolve event it journals and its device sequence. The gateway (a device resolving) and
 * ops-api (an operator resolving) both go through here, so a resolution is the same event whoever asks.
 * Expected failures are values (`ResolutionFailure`); each transport maps them with `resolutionProblem`.
 */

/** A row of the conflict ledger as merge-service writes it. */
export interface ConflictLedgerRow {
  conflict_id: string;
  workspace: string;
  entity_type: string;
  entity_id: string;
  field: string;
  kind: 'field' | 'delete';
  rule: string;
  status: 'open' | 'resolved';
  /** The merge conflict minus id, kind, rule and field: base?, ours, theirs, openedAt (version), entity, workspace, acceptedAt, streamSeq. */
  detail: { base?: ConflictView['base']; ours: ConflictSide; theirs: ConflictSide; openedAt: number };
  opened_event_id: string;
  opened_seq: string;
  opened_accepted_at: Date;
  resolved_event_id: string | null;
  resolved_seq: string | null;
}

export const CONFLICT_COLUMNS = 'conflict_id, workspace, entity_type, entity_id, field, kind, rule, status, detail, opened_event_id, opened_seq, opened_accepted_at, resolved_event_id, resolved_seq';

/** A listing cursor `<opened seq>:<conflict id>` (conflicts are listed by the journal sequence that opened them). */
export const conflictCursor = (row: Pick<ConflictLedgerRow, 'opened_seq' | 'conflict_id'>): string => `${row.opened_seq}:${row.conflict_id}`;

export function conflictView(row: ConflictLedgerRow): ConflictView {
  const { base, ours, theirs, openedAt } = row.detail;
  return {
    id: row.conflict_id,
    entity: { type: row.entity_type, id: row.entity_id },
    field: row.field,
    kind: row.kind,
    rule: row.rule,
    status: row.status,
    ...(base !== undefined ? { base } : {}),
    ours,
    theirs,
    opened: { eventId: row.opened_event_id, seq: Number(row.opened_seq), version: openedAt, acceptedAt: new Date(row.opened_accepted_at).toISOString() },
    ...(row.resolved_event_id !== null ? { resolved: { eventId: row.resolved_event_id, seq: Number(row.resolved_seq ?? 0) } } : {}),
    cursor: conflictCursor(row),
  };
}

type Sql = Pick<DataSource, 'query'>;

/** One conflict of a workspace, or undefined (also for the id of another workspace's conflict). */
export async function findConflict(sql: Sql, workspace: string, id: string): Promise<ConflictLedgerRow | undefined> {
  const rows: ConflictLedgerRow[] = await sql.query(`SELECT ${CONFLICT_COLUMNS} FROM conflicts WHERE conflict_id = $1 AND workspace = $2`, [id, workspace]);
  return rows[0];
}

/** Why a resolution was not journaled. */
export type ResolutionFailure =
  | { code: 'invalid'; errors: InvalidParam[] }
  | { code: 'not-found'; conflictId: string; workspace: string }
  | { code: 'already-resolved'; conflictId: string; resolvedEventId: string | null }
  | { code: 'event-id-in-use'; eventId: string }
  | { code: 'journal-unavailable'; detail: string }
  | { code: 'ledger-mismatch'; detail: string };

export type ResolutionOutcome = { ok: true; value: ResolveResponse; conflict: ConflictLedgerRow } | { ok: false; failure: ResolutionFailure };

/** The problem+json of a failure, as both transports answer it. */
export function resolutionProblem(failure: ResolutionFailure): Problem {
  switch (failure.code) {
    case 'invalid':
      return problem(ProblemType.validation, 400, 'Validation failed', { detail: 'nothing of this request was journaled', errors: failure.errors });
    case 'not-found':
      return problem(ProblemType.notFound, 404, 'Not found', { detail: `no conflict "${failure.conflictId}" in workspace "${failure.workspace}"` });
    case 'already-resolved':
      return ledgerProblem(LedgerProblemType.conflictResolved, 409, 'Conflict already resolved', {
        detail: `conflict "${failure.conflictId}" was resolved by event ${failure.resolvedEventId ?? '(unknown)'}`,
        resolvedEventId: failure.resolvedEventId,
      });
    case 'event-id-in-use':
      return ledgerProblem(LedgerProblemType.eventIdInUse, 409, 'eventId already in use', {
        detail: `event ${failure.eventId} is another event; use a new eventId for this resolution`,
        errors: [{ pointer: '/eventId', detail: 'already names another event' }],
      });
    case 'journal-unavailable':
      return problem(ProblemType.journalUnavailable, 503, 'Journal unavailable', { detail: failure.detail });
    case 'ledger-mismatch':
      return problem(ProblemType.internal, 500, 'Journal and conflict ledger disagree', { detail: failure.detail });
    default:
      return failure satisfies never;
  }
}

const validateRequest = compileValidator(ResolveRequest);

/** Checks a resolve body: its shape, then the rule that a value comes with pick "value" and only then. */
export function checkResolveRequest(body: unknown): { ok: true; value: ResolveRequest } | { ok: false; errors: InvalidParam[] } {
  const parsed = validateRequest(body);
  if (!parsed.ok) return parsed;
  const request = parsed.value;
  const hasValue = Object.prototype.hasOwnProperty.call(request, 'value');
  if (request.pick === 'value' && !hasValue) return { ok: false, errors: [{ pointer: '/value', detail: 'is required when pick is "value"' }] };
  if (request.pick !== 'value' && hasValue) return { ok: false, errors: [{ pointer: '/value', detail: `is only allowed when pick is "value", not "${request.pick}"` }] };
  return { ok: true, value: request };
}

const HLC_MAX_COUNTER = 65_535;

/**
 * The resolver's clock stamp: the wall clock, but never before the stamps of what it resolves (the HLC
 * receive rule), so the resolution is ordered after both sides even when a device's clock ran ahead.
 */
export function hlcAfter(now: number, seen: readonly HlcStamp[]): HlcStamp {
  let latest: HlcStamp | undefined;
  for (const stamp of seen) {
    if (!latest || stamp.wall > latest.wall || (stamp.wall === latest.wall && stamp.counter > latest.counter)) latest = stamp;
  }
  if (!latest || now > latest.wall) return { wall: now, counter: 0 };
  return latest.counter < HLC_MAX_COUNTER ? { wall: latest.wall, counter: latest.counter + 1 } : { wall: latest.wall + 1, counter: 0 };
}

/** How a resolve event reaches the journal (the transport's own publish path). */
export type JournalResult = { status: 'accepted' | 'duplicate'; seq: number } | { status: 'rejected'; reason: string };

export interface ResolutionDeps {
  ds: DataSource;
  /** One journal entry by stream sequence (the event that opened a conflict); throws when the journal does not answer. */
  readJournal: (seq: number) => Promise<JournalRecord | undefined>;
  /** Journals one resolve event as `deviceId` of `workspace`. */
  journal: (workspace: string, deviceId: string, event: DeviceEvent) => Promise<JournalResult>;
  now: () => Date;
  /** The resolver device when the request names none (default `resolver`). */
  defaultResolver?: string;
}

/**
 * Journals the resolution of a conflict as a `resolve` event; merge-service applies it from the journal
 * like every other event, so a resolution replays.
 *
 * The resolver is a device of its own with a gapless `deviceSeq`. Without a table of its own, the next
 * number is the largest one with a receipt plus one (read under an advisory lock), or one past the last
 * number this process journaled, whichever is greater: receipts appear only once merge-service projected
 * the event, so the process remembers what it handed out in between, and one resolver's requests are
 * serialised in this process (two processes resolving as the same resolver device could hand out one
 * number twice before the first is projected; each transport uses its own resolver device).
 */
export class ConflictResolver {
  /** Per workspace and resolver: the last deviceSeq this process journaled. */
  private readonly issued = new Map<string, number>();
  /** Per workspace and resolver: the tail of the queue of requests being journaled. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: ResolutionDeps) {}

  async resolve(workspace: string, conflictId: string, body: unknown): Promise<ResolutionOutcome> {
    const checked = checkResolveRequest(body);
    if (!checked.ok) return { ok: false, failure: { code: 'invalid', errors: checked.errors } };
    const request = checked.value;
    const conflict = await findConflict(this.deps.ds, workspace, conflictId);
    if (!conflict) return { ok: false, failure: { code: 'not-found', conflictId, workspace } };
    if (conflict.kind === 'delete' && request.pick === 'value') {
      return {
        ok: false,
        failure: { code: 'invalid', errors: [{ pointer: '/pick', detail: 'a delete conflict is resolved with "ours" (the delete stands) or "theirs" (the edit revives the entity)' }] },
      };
    }
    if (request.eventId !== undefined) {
      const earlier = await this.earlierUse(workspace, conflict, request.eventId);
      if (earlier) return earlier.ok ? { ...earlier, conflict } : earlier;
    }
    if (conflict.status !== 'open') return { ok: false, failure: { code: 'already-resolved', conflictId: conflict.conflict_id, resolvedEventId: conflict.resolved_event_id } };
    const eventId = request.eventId ?? randomUUID();
    const deviceId = request.deviceId ?? this.deps.defaultResolver ?? DEFAULT_RESOLVER;
    const schemaVersion = await this.schemaVersionOf(conflict);
    if (typeof schemaVersion !== 'number') return { ok: false, failure: schemaVersion };
    const baseVersion = await this.currentVersion(workspace, conflict);
    return this.inDeviceOrder(workspace, deviceId, async (deviceSeq): Promise<{ value: ResolutionOutcome; consumed: boolean }> => {
      const event: DeviceEvent = {
        eventId,
        deviceId,
        deviceSeq,
        hlc: request.hlc ?? hlcAfter(this.deps.now().getTime(), [conflict.detail.ours.hlc, conflict.detail.theirs.hlc]),
        entity: { type: conflict.entity_type, id: conflict.entity_id },
        op: 'resolve',
        baseVersion,
        resolution: { conflictId: conflict.conflict_id, pick: request.pick, ...(request.pick === 'value' ? { value: request.value } : {}) },
        schemaVersion,
      };
      const valid = validatePushRequest({ events: [event] });
      if (!valid.ok) return { value: { ok: false, failure: { code: 'invalid', errors: valid.errors.map(toBodyPointer) } }, consumed: false };
      const result = await this.deps.journal(workspace, deviceId, event);
      if (result.status === 'rejected') return { value: { ok: false, failure: { code: 'journal-unavailable', detail: result.reason } }, consumed: false };
      return { value: { ok: true, value: { eventId, seq: result.seq, status: result.status }, conflict }, consumed: result.status === 'accepted' };
    });
  }

  /**
   * An eventId that already has a receipt: the same resolution retried after it was projected is a
   * duplicate (with its journal sequence); an eventId of anything else is refused.
   */
  private async earlierUse(workspace: string, conflict: ConflictLedgerRow, eventId: string): Promise<{ ok: true; value: ResolveResponse } | { ok: false; failure: ResolutionFailure } | undefined> {
    const rows: { workspace: string; entity_type: string; entity_id: string; stream_seq: string }[] = await this.deps.ds.query(
      'SELECT workspace, entity_type, entity_id, stream_seq FROM event_receipts WHERE event_id = $1 AND workspace = $2',
      [eventId, workspace],
    );
    const receipt = rows[0];
    if (!receipt) return undefined;
    if (receipt.workspace === workspace && receipt.entity_type === conflict.entity_type && receipt.entity_id === conflict.entity_id) {
      return { ok: true, value: { eventId, seq: Number(receipt.stream_seq), status: 'duplicate' } };
    }
    return { ok: false, failure: { code: 'event-id-in-use', eventId } };
  }

  /**
   * The schema version of the resolve event. The entity state does not record one, so it is the version
   * the conflict's opening event was written against, read from the journal by its sequence: that
   * version declares the field (policies never change across versions of a type).
   */
  private async schemaVersionOf(conflict: ConflictLedgerRow): Promise<number | ResolutionFailure> {
    let record: JournalRecord | undefined;
    try {
      record = await this.deps.readJournal(Number(conflict.opened_seq));
    } catch (error) {
      return { code: 'journal-unavailable', detail: `cannot read the event that opened the conflict: ${(error as Error).message}; retry` };
    }
    if (!record || record.event?.eventId !== conflict.opened_event_id) {
      return { code: 'ledger-mismatch', detail: `journal entry ${conflict.opened_seq} is not the event ${conflict.opened_event_id} that opened the conflict` };
    }
    return record.event.schemaVersion;
  }

  private async currentVersion(workspace: string, conflict: ConflictLedgerRow): Promise<number> {
    const rows: { version: string }[] = await this.deps.ds.query('SELECT version FROM entities WHERE workspace = $1 AND entity_type = $2 AND entity_id = $3', [
      workspace,
      conflict.entity_type,
      conflict.entity_id,
    ]);
    return rows[0] ? Number(rows[0].version) : 0;
  }

  /**
   * Runs `journal` with the resolver's next deviceSeq, one request of a resolver at a time. A number is
   * remembered as used only when its event was journaled (`consumed`): a failed publish hands the same
   * number to the next request rather than leave a gap in the device's sequence.
   */
  private async inDeviceOrder<T>(workspace: string, deviceId: string, journal: (deviceSeq: number) => Promise<{ value: T; consumed: boolean }>): Promise<T> {
    const key = `${workspace}\u0000${deviceId}`;
    const previous = this.queues.get(key) ?? Promise.resolve();
    const run = previous
      .catch(() => undefined)
      .then(async () => {
        const fromReceipts = await inTransaction(this.deps.ds, async (q) => {
          await q.query("SELECT pg_advisory_xact_lock(hashtext('tidemark.resolver_seq'), hashtext($1 || '/' || $2))", [workspace, deviceId]);
          const rows: { next: string }[] = await q.query('SELECT coalesce(max(device_seq), 0) + 1 AS next FROM event_receipts WHERE workspace = $1 AND device_id = $2', [workspace, deviceId]);
          return Number(rows[0]!.next);
        });
        const deviceSeq = Math.max(fromReceipts, (this.issued.get(key) ?? 0) + 1);
        const outcome = await journal(deviceSeq);
        if (outcome.consumed) this.issued.set(key, Math.max(this.issued.get(key) ?? 0, deviceSeq));
        return outcome.value;
      });
    this.queues.set(key, run);
    try {
      return await run;
    } finally {
      if (this.queues.get(key) === run) this.queues.delete(key);
    }
  }
}

/** Maps a pointer into the built event back to the request body it came from. */
function toBodyPointer(error: InvalidParam): InvalidParam {
  const inEvent = error.pointer.replace(/^\/events\/0/, '');
  const pointer = inEvent.startsWith('/resolution/value') ? inEvent.replace('/resolution', '') : inEvent === '' ? '/' : inEvent;
  return { ...error, pointer };
}
