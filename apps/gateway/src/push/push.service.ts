import { checkBatchWrite, describeRole, type Access } from '@tidemark/access';
import { journalMessageId, journalSubject, ProblemType, problem, validatePushRequest, type EventResult, type JournalRecord, type PushRequest, type PushResponse } from '@tidemark/contracts';
import { confirmStanding, type DeviceAuthority, type UnconfirmedDevice } from '@tidemark/auth';
import { publishBatch, type IdempotentPublish, type JetStreamClient } from '@tidemark/messaging';
import { ProblemError } from '@tidemark/platform';
import type { RefusalDetail } from '@tidemark/persistence';
import { counter, histogram, type Logger } from '@tidemark/telemetry';

/**
 * Milliseconds a push builds and starts publishes before it gives the event loop a turn (see journal): all of a
 * batch's publishes are still in flight together, but starting 500 of them in one go held the loop long enough
 * for another device's one-event push, or /healthz, to wait behind it.
 */
const PUBLISH_TURN_MS = 2;

const pushed = counter('tidemark_push_events_total', 'pushed events by result', ['status']);
const refusedWrites = counter('tidemark_push_writes_refused_total', 'events refused by the workspace access rules, by denial code and role', ['code', 'role']);
const pushSeconds = histogram('tidemark_push_journal_seconds', 'time from validated batch to all JetStream acks', [], [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5]);

/** Who pushes: the device of the token; the workspace and site come from the token alone. */
export interface Pusher {
  workspace: string;
  deviceId: string;
  site: string | null;
}

export interface PushDeps {
  js: () => JetStreamClient;
  /**
   * The device's standing and what its role may write, from the gateway's `StandingCache` (a Postgres read when it is
   * not cached; forgotten at once on the notice of a revoke, re-enrolment, role change or access-rules publish).
   */
  authority: (workspace: string, deviceId: string) => Promise<DeviceAuthority>;
  /** The batch's events that already have a receipt, with their journal sequence (`ReceiptsRepository.receipted`): one round trip. */
  receipts: (workspace: string, eventIds: string[]) => Promise<Map<string, number>>;
  /** Notes the device's highest pushed sequence once the journal acknowledged it (written in the background). */
  recordPush: (pusher: Pusher, maxSeq: number, at: Date) => void;
  /** Notes a push refused by the device's access rules, for operators (written in the background). */
  recordRefusal?: (pusher: Pusher, events: number, at: Date, detail: RefusalDetail) => void;
  partitions: number;
  publishTimeoutMs: number;
  logger: Logger;
  /** The time the gateway accepts the batch: an input to the journal record, never read in merge. */
  now: () => Date;
}

/**
 * `POST /v1/events` from a device whose token verified: its standing (active, of the token's generation) and access
 * come from the standing cache while the batch's receipts are read, so the push costs one round trip to Postgres
 * (none more when the device is cached). The answers are the guard's and the batch's, in the guard's order: a
 * revoked device hears 401 whatever it sent, then a body that is not JSON is 415, a bad batch 400, another device's
 * events 403.
 */
export async function pushFromDevice(deps: PushDeps, device: UnconfirmedDevice, contentType: string | undefined, body: unknown): Promise<PushResponse> {
  const { workspace, deviceId, site } = device.unconfirmed;
  const pusher: Pusher = { workspace, deviceId, site };
  let batch: PushRequest;
  try {
    if (!contentType || !/^application\/json\b/i.test(contentType)) throw ProblemError.unsupportedMediaType(contentType);
    batch = checkBatch(pusher, body);
  } catch (refusal) {
    confirmStanding(device, (await deps.authority(workspace, deviceId)).standing);
    throw refusal;
  }
  const [authority, receipted] = await Promise.all([
    deps.authority(workspace, deviceId),
    deps.receipts(
      workspace,
      batch.events.map((e) => e.eventId),
    ),
  ]);
  confirmStanding(device, authority.standing);
  refuseDenied(batch, authority.access, receipted, (denials, events) => {
    const detail: RefusalDetail = {
      role: authority.access.kind === 'unrestricted' ? null : authority.access.role,
      accessRulesVersion: authority.access.kind === 'unrestricted' ? null : authority.access.version,
      denials: denials.slice(0, 20),
    };
    deps.logger.warn({ workspace, deviceId, ...detail }, 'push refused by access rules');
    deps.recordRefusal?.(pusher, events, deps.now(), detail);
  });
  return journal(deps, pusher, batch, receipted);
}

/**
 * Refuses the whole batch, before anything of it is journaled, when the device's role may not write one of its
 * events: 403 naming each denial by pointer (`/events/3/fields/label`). Events already journaled are answered
 * duplicate and never journaled again, so they are not checked: a rule changed since does not refuse a retry.
 */
function refuseDenied(batch: PushRequest, access: Access, receipted: Map<string, number>, report: (denials: { pointer: string; code: string; detail: string }[], events: number) => void): void {
  const denials = checkBatchWrite(access, batch.events, (event) => receipted.has(event.eventId));
  if (denials.length === 0) return;
  // Operators see each refusal with the rule that refused it: counted by code and role, logged with the pointers.
  for (const d of denials) refusedWrites.inc({ code: d.code, role: access.kind === 'unrestricted' ? '' : (access.role ?? '(none)') });
  const events = new Set(denials.map((d) => /^\/events\/\d+/.exec(d.pointer)![0])).size;
  report(denials, events);
  const who = access.kind === 'unrestricted' ? 'the device' : `the device's ${describeRole(access)}`;
  throw new ProblemError(
    problem(ProblemType.forbidden, 403, 'Forbidden', {
      detail: `${who} may not write ${events} of the ${batch.events.length} events; nothing of this request was journaled`,
      code: 'write-not-allowed',
      ...(access.kind === 'unrestricted' ? {} : { role: access.role, accessRulesVersion: access.version }),
      errors: denials.map((d) => ({ pointer: d.pointer, detail: d.detail, code: d.code })),
    }),
  );
}

/**
 * Journals a batch for a device whose standing is already confirmed (a conflict resolution is journaled
 * exactly like a device push): see `journal`.
 */
export async function pushBatch(deps: PushDeps, pusher: Pusher, body: unknown): Promise<PushResponse> {
  const batch = checkBatch(pusher, body);
  const receipted = await deps.receipts(
    pusher.workspace,
    batch.events.map((e) => e.eventId),
  );
  return journal(deps, pusher, batch, receipted);
}

/** Validates a batch whole (one bad event refuses the batch, so nothing of a bad request is journaled); the pusher's own events only. */
function checkBatch(pusher: Pusher, body: unknown): PushRequest {
  const validated = validatePushRequest(body);
  if (!validated.ok) throw ProblemError.validation(validated.errors, 'nothing of this request was journaled');
  const foreign = validated.value.events.flatMap((event, i) =>
    event.deviceId === pusher.deviceId ? [] : [{ pointer: `/events/${i}/deviceId`, detail: `must be "${pusher.deviceId}", the device of the token` }],
  );
  if (foreign.length > 0) {
    throw new ProblemError(
      problem(ProblemType.forbidden, 403, 'Forbidden', { detail: 'a device pushes its own events only; nothing of this request was journaled', errors: foreign, code: 'foreign-device' }),
    );
  }
  return validated.value;
}

/**
 * Journals every event of a valid batch with `msgID = <workspace>:<eventId>` (`journalMessageId`) and answers
 * each one after JetStream acknowledged it. An event that already has a receipt is answered `duplicate` without
 * journaling it again, however long ago it was first pushed; one still inside the journal's dedupe window is
 * answered `duplicate` by JetStream. The publishes are pipelined (`publishBatch`): all in flight together, one
 * wait for every acknowledgement.
 */
async function journal(deps: PushDeps, pusher: Pusher, batch: PushRequest, receipted: Map<string, number>): Promise<PushResponse> {
  const { workspace } = pusher;
  const acceptedAt = deps.now().toISOString();
  const end = pushSeconds.startTimer();
  const { events } = batch;
  const results: EventResult[] = new Array<EventResult>(events.length);
  const journaled: number[] = [];
  for (let i = 0; i < events.length; i++) {
    const earlier = receipted.get(events[i]!.eventId);
    if (earlier === undefined) journaled.push(i);
    else results[i] = { eventId: events[i]!.eventId, status: 'duplicate', seq: earlier };
  }
  const site = pusher.site ? { site: pusher.site } : {};
  const message = (i: number): IdempotentPublish => {
    const event = events[i]!;
    const record: JournalRecord = { v: 1, workspace, acceptedAt, ...site, event };
    return {
      subject: journalSubject(workspace, event.entity, deps.partitions),
      data: JSON.stringify(record),
      msgID: journalMessageId(workspace, event.eventId),
      headers: { 'tm-workspace': workspace, 'tm-device': event.deviceId },
    };
  };
  const settled = await publishBatch(deps.js(), journaled, message, { timeoutMs: deps.publishTimeoutMs, turnMs: PUBLISH_TURN_MS });
  end();
  let failed = 0;
  let maxSeq = 0;
  settled.forEach((outcome, k) => {
    const i = journaled[k]!;
    const event = events[i]!;
    if (outcome.status === 'fulfilled') {
      results[i] = { eventId: event.eventId, status: outcome.value.duplicate ? 'duplicate' : 'accepted', seq: outcome.value.seq };
    } else {
      failed++;
      results[i] = { eventId: event.eventId, status: 'rejected', reason: `journal unavailable: ${(outcome.reason as Error).message}; retry with the same eventId` };
    }
  });
  for (let i = 0; i < events.length; i++) if (results[i]!.status !== 'rejected') maxSeq = Math.max(maxSeq, events[i]!.deviceSeq);
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  for (const [status, n] of counts) pushed.inc({ status }, n);
  if (maxSeq > 0) deps.recordPush(pusher, maxSeq, new Date(acceptedAt));
  if (failed > 0) {
    deps.logger.warn({ failed, total: results.length }, 'journal did not acknowledge every event');
    throw new ProblemError(
      problem(ProblemType.journalUnavailable, 503, 'Journal unavailable', {
        detail: `${failed} of ${results.length} events were not acknowledged by the journal; retry them with the same eventIds (acknowledged ones will answer "duplicate")`,
        results,
      }),
    );
  }
  return { results };
}
