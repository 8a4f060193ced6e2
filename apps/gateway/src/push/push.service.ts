import { journalMessageId, journalSubject, ProblemType, problem, validatePushRequest, type EventResult, type JournalRecord, type PushResponse } from '@tidemark/contracts';
import { publishIdempotent, type JetStreamClient } from '@tidemark/messaging';
import { ProblemError } from '@tidemark/platform';
import { counter, histogram, type Logger } from '@tidemark/telemetry';

/** Publishes started per turn of the event loop (see pushBatch). */
const PUBLISH_SLICE = 16;

const pushed = counter('tidemark_push_events_total', 'pushed events by result', ['status']);
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
   * Events of this workspace that already have a (not parked) receipt, with their journal sequence: duplicates
   * beyond the journal's dedupe window. Another workspace's receipts are never consulted: an event is
   * (workspace, eventId).
   */
  receipted: (workspace: string, eventIds: string[]) => Promise<Map<string, number>>;
  /** Notes the device's highest pushed sequence once the journal acknowledged it (written in the background). */
  recordPush: (pusher: Pusher, maxSeq: number, at: Date) => void;
  partitions: number;
  publishTimeoutMs: number;
  logger: Logger;
  /** The time the gateway accepts the batch: an input to the journal record, never read in merge. */
  now: () => Date;
}

/**
 * Validates a batch whole (one bad event refuses the batch, so nothing of a bad request is journaled),
 * then journals every event with `msgID = <workspace>:<eventId>` (`journalMessageId`) and answers each one after JetStream acknowledged it.
 * An event that already has a receipt is answered `duplicate` without journaling it again, however long
 * ago it was first pushed; one still inside the journal's dedupe window is answered `duplicate` by JetStream.
 */
export async function pushBatch(deps: PushDeps, pusher: Pusher, body: unknown): Promise<PushResponse> {
  const { workspace } = pusher;
  const validated = validatePushRequest(body);
  if (!validated.ok) throw ProblemError.validation(validated.errors, 'nothing of this request was journaled');
  const foreign = validated.value.events.flatMap((event, i) => (event.deviceId === pusher.deviceId ? [] : [{ pointer: `/events/${i}/deviceId`, detail: `must be "${pusher.deviceId}", the device of the token` }]));
  if (foreign.length > 0) {
    throw new ProblemError(problem(ProblemType.forbidden, 403, 'Forbidden', { detail: 'a device pushes its own events only; nothing of this request was journaled', errors: foreign, code: 'foreign-device' }));
  }
  const receipted = await deps.receipted(workspace, validated.value.events.map((e) => e.eventId));
  const acceptedAt = deps.now().toISOString();
  const end = pushSeconds.startTimer();
  // Published in slices with a turn of the event loop between them: all of a batch's publishes are still in
  // flight together, but starting 500 of them in one go held the loop for 100–400 ms on a busy machine, and
  // every other request (another device's one-event push, /healthz) waited behind it.
  const settled: PromiseSettledResult<{ duplicate: boolean; seq: number }>[] = [];
  const pending: Promise<void>[] = [];
  for (const [i, event] of validated.value.events.entries()) {
    if (i > 0 && i % PUBLISH_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    const earlier = receipted.get(event.eventId);
    if (earlier !== undefined) {
      settled[i] = { status: 'fulfilled', value: { duplicate: true, seq: earlier } };
      continue;
    }
    const record: JournalRecord = { v: 1, workspace, acceptedAt, ...(pusher.site ? { site: pusher.site } : {}), event };
    // Settled as it is created: a publish failing while a later slice waits for its turn is never unhandled.
    pending.push(
      publishIdempotent(deps.js(), {
        subject: journalSubject(workspace, event.entity, deps.partitions),
        data: JSON.stringify(record),
        msgID: journalMessageId(workspace, event.eventId),
        headers: { 'tm-workspace': workspace, 'tm-device': event.deviceId },
        timeoutMs: deps.publishTimeoutMs,
      }).then(
        (ack) => void (settled[i] = { status: 'fulfilled', value: ack }),
        (reason: unknown) => void (settled[i] = { status: 'rejected', reason }),
      ),
    );
  }
  await Promise.all(pending);
  end();
  const results: EventResult[] = settled.map((outcome, i) => {
    const eventId = validated.value.events[i]!.eventId;
    if (outcome.status === 'fulfilled') return { eventId, status: outcome.value.duplicate ? 'duplicate' : 'accepted', seq: outcome.value.seq };
    return { eventId, status: 'rejected', reason: `journal unavailable: ${(outcome.reason as Error).message}; retry with the same eventId` };
  });
  for (const r of results) pushed.inc({ status: r.status });
  const failed = settled.filter((s) => s.status === 'rejected').length;
  const pushedSeqs = validated.value.events.filter((_, i) => settled[i]!.status === 'fulfilled').map((e) => e.deviceSeq);
  if (pushedSeqs.length > 0) deps.recordPush(pusher, Math.max(...pushedSeqs), new Date(acceptedAt));
  if (failed > 0) {
    deps.logger.warn({ failed, total: results.length }, 'journal did not acknowledge every event');
    throw new ProblemError(problem(ProblemType.journalUnavailable, 503, 'Journal unavailable', {
      detail: `${failed} of ${results.length} events were not acknowledged by the journal; retry them with the same eventIds (acknowledged ones will answer "duplicate")`,
      results,
    }));
  }
  return { results };
}
