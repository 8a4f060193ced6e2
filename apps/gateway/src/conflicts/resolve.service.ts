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
  type DeviceEvent,
  type HlcStamp,
  type InvalidParam,
  type JournalRecord,
  type ResolveResponse,
} from '@tidemark/contracts';
import { STREAMS } from '@tidemark/messaging';
import { inTransaction } from '@tidemark/persistence';
import { ProblemError } from '@tidemark/platform';
import { pushBatch } from '../push/push.service';
import { findConflict, type ConflictRow } from './conflict-rows';
import { invalidBody, notFound, type LedgerDeps } from './ledger-http';

const validateRequest = compileValidator(ResolveRequest);

/** Checks a resolve body: its shape, then the rule that a value comes with pick "value" and only then. */
export function parseResolveRequest(body: unknown): ResolveRequest {
  const parsed = validateRequest(body);
  if (!parsed.ok) throw invalidBody(parsed.errors);
  const request = parsed.value;
  const hasValue = Object.prototype.hasOwnProperty.call(request, 'value');
  if (request.pick === 'value' && !hasValue) throw invalidBody([{ pointer: '/value', detail: 'is required when pick is "value"' }]);
  if (request.pick !== 'value' && hasValue) throw invalidBody([{ pointer: '/value', detail: `is only allowed when pick is "value", not "${request.pick}"` }]);
  return request;
}

/**
 * Journals the resolution of a conflict as a `resolve` device event. The gateway only builds and journals
 * it; merge-service applies it from the journal like every other event, so a resolution replays.
 *
 * The resolver is a device of its own (default `resolver`) with a gapless `deviceSeq`. Without a table
 * of its own, the next number is the largest one with a receipt plus one (read under an advisory lock),
 * or one past the last number this process journaled, whichever is greater: receipts appear only once
 * merge-service projected the event, so the process remembers what it handed out in between, and one
 * resolver's requests are serialised in this process.
 */
export class ResolveService {
  /** Per workspace and resolver: the last deviceSeq this process journaled. */
  private readonly issued = new Map<string, number>();
  /** Per workspace and resolver: the tail of the queue of requests being journaled. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: LedgerDeps) {}

  async resolve(workspace: string, conflictId: string, body: unknown): Promise<ResolveResponse> {
    const request = parseResolveRequest(body);
    const conflict = await findConflict(this.deps.ds, workspace, conflictId);
    if (!conflict) throw notFound('conflict', conflictId, workspace);
    if (conflict.kind === 'delete' && request.pick === 'value') {
      throw invalidBody([{ pointer: '/pick', detail: 'a delete conflict is resolved with "ours" (the delete stands) or "theirs" (the edit revives the entity)' }]);
    }
    if (request.eventId !== undefined) {
      const earlier = await this.earlierUse(workspace, conflict, request.eventId);
      if (earlier) return earlier;
    }
    if (conflict.status !== 'open') {
      throw new ProblemError(ledgerProblem(LedgerProblemType.conflictResolved, 409, 'Conflict already resolved', {
        detail: `conflict "${conflict.conflict_id}" was resolved by event ${conflict.resolved_event_id ?? '(unknown)'}`,
        resolvedEventId: conflict.resolved_event_id,
      }));
    }
    const eventId = request.eventId ?? randomUUID();
    const deviceId = request.deviceId ?? DEFAULT_RESOLVER;
    const [schemaVersion, baseVersion] = await Promise.all([this.schemaVersionOf(conflict), this.currentVersion(workspace, conflict)]);
    return this.inDeviceOrder(workspace, deviceId, async (deviceSeq) => {
      const event: DeviceEvent = {
        eventId,
        deviceId,
        deviceSeq,
        hlc: request.hlc ?? hlcAfter(this.deps.push.now().getTime(), [conflict.detail.ours.hlc, conflict.detail.theirs.hlc]),
        entity: { type: conflict.entity_type, id: conflict.entity_id },
        op: 'resolve',
        baseVersion,
        resolution: { conflictId: conflict.conflict_id, pick: request.pick, ...(request.pick === 'value' ? { value: request.value } : {}) },
        schemaVersion,
      };
      const checked = validatePushRequest({ events: [event] });
      if (!checked.ok) throw invalidBody(checked.errors.map(toBodyPointer));
      const { results } = await pushBatch(this.deps.push, workspace, { events: [event] });
      const result = results[0]!;
      if (result.status === 'rejected') throw new ProblemError(problem(ProblemType.journalUnavailable, 503, 'Journal unavailable', { detail: result.reason }));
      return { value: { eventId, seq: result.seq, status: result.status }, consumed: result.status === 'accepted' };
    });
  }

  /**
   * An eventId that already has a receipt: the same resolution retried after it was projected is a
   * duplicate (with its journal sequence); an eventId of anything else is refused.
   */
  private async earlierUse(workspace: string, conflict: ConflictRow, eventId: string): Promise<ResolveResponse | undefined> {
    const rows: { workspace: string; entity_type: string; entity_id: string; stream_seq: string }[] = await this.deps.ds.query(
      'SELECT workspace, entity_type, entity_id, stream_seq FROM event_receipts WHERE event_id = $1',
      [eventId],
    );
    const receipt = rows[0];
    if (!receipt) return undefined;
    if (receipt.workspace === workspace && receipt.entity_type === conflict.entity_type && receipt.entity_id === conflict.entity_id) {
      return { eventId, seq: Number(receipt.stream_seq), status: 'duplicate' };
    }
    throw new ProblemError(ledgerProblem(LedgerProblemType.eventIdInUse, 409, 'eventId already in use', {
      detail: `event ${eventId} is another event; use a new eventId for this resolution`,
      errors: [{ pointer: '/eventId', detail: 'already names another event' }],
    }));
  }

  /**
   * The schema version of the resolve event. The entity state does not record one, so it is the version
   * the conflict's opening event was written against, read from the journal by its sequence: that
   * version declares the field (policies never change across versions of a type).
   */
  private async schemaVersionOf(conflict: ConflictRow): Promise<number> {
    let record: JournalRecord | undefined;
    try {
      const message = await this.deps.journal().streams.getMessage(STREAMS.journal, { seq: Number(conflict.opened_seq) });
      record = message?.json<JournalRecord>();
    } catch (error) {
      throw new ProblemError(problem(ProblemType.journalUnavailable, 503, 'Journal unavailable', { detail: `cannot read the event that opened the conflict: ${(error as Error).message}; retry` }));
    }
    if (!record || record.event?.eventId !== conflict.opened_event_id) {
      throw new ProblemError(problem(ProblemType.internal, 500, 'Journal and conflict ledger disagree', { detail: `journal entry ${conflict.opened_seq} is not the event ${conflict.opened_event_id} that opened the conflict` }));
    }
    return record.event.schemaVersion;
  }

  private async currentVersion(workspace: string, conflict: ConflictRow): Promise<number> {
    const rows: { version: string }[] = await this.deps.ds.query(
      'SELECT version FROM entities WHERE workspace = $1 AND entity_type = $2 AND entity_id = $3',
      [workspace, conflict.entity_type, conflict.entity_id],
    );
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
    const run = previous.catch(() => undefined).then(async () => {
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

/** Maps a pointer into the built event back to the request body it came from. */
function toBodyPointer(error: InvalidParam): InvalidParam {
  const inEvent = error.pointer.replace(/^\/events\/0/, '');
  const pointer = inEvent.startsWith('/resolution/value') ? inEvent.replace('/resolution', '') : inEvent === '' ? '/' : inEvent;
  return { ...error, pointer };
}
