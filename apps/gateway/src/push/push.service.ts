import { journalSubject, ProblemType, problem, validatePushRequest, type EventResult, type JournalRecord, type PushResponse } from '@tidemark/contracts';
import { publishIdempotent, type JetStreamClient } from '@tidemark/messaging';
import { ProblemError } from '@tidemark/platform';
import { counter, histogram, type Logger } from '@tidemark/telemetry';

const pushed = counter('tidemark_push_events_total', 'pushed events by result', ['status']);
const pushSeconds = histogram('tidemark_push_journal_seconds', 'time from validated batch to all JetStream acks', [], [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5]);

export interface PushDeps {
  js: () => JetStreamClient;
  partitions: number;
  publishTimeoutMs: number;
  logger: Logger;
  /** The time the gateway accepts the batch: an input to the journal record, never read in merge. */
  now: () => Date;
}

/**
 * Validates a batch whole (one bad event refuses the batch, so nothing of a bad request is journaled),
 * then journals every event with `msgID = eventId` and answers each one after JetStream acknowledged it.
 */
export async function pushBatch(deps: PushDeps, workspace: string, body: unknown): Promise<PushResponse> {
  const validated = validatePushRequest(body);
  if (!validated.ok) throw ProblemError.validation(validated.errors, 'nothing of this request was journaled');
  const acceptedAt = deps.now().toISOString();
  const end = pushSeconds.startTimer();
  const settled = await Promise.allSettled(
    validated.value.events.map((event) => {
      const record: JournalRecord = { v: 1, workspace, acceptedAt, event };
      return publishIdempotent(deps.js(), {
        subject: journalSubject(workspace, event.entity, deps.partitions),
        data: JSON.stringify(record),
        msgID: event.eventId,
        headers: { 'tm-workspace': workspace, 'tm-device': event.deviceId },
        timeoutMs: deps.publishTimeoutMs,
      });
    }),
  );
  end();
  const results: EventResult[] = settled.map((outcome, i) => {
    const eventId = validated.value.events[i]!.eventId;
    if (outcome.status === 'fulfilled') return { eventId, status: outcome.value.duplicate ? 'duplicate' : 'accepted', seq: outcome.value.seq };
    return { eventId, status: 'rejected', reason: `journal unavailable: ${(outcome.reason as Error).message}; retry with the same eventId` };
  });
  for (const r of results) pushed.inc({ status: r.status });
  const failed = settled.filter((s) => s.status === 'rejected').length;
  if (failed > 0) {
    deps.logger.warn({ failed, total: results.length }, 'journal did not acknowledge every event');
    throw new ProblemError(problem(ProblemType.journalUnavailable, 503, 'Journal unavailable', {
      detail: `${failed} of ${results.length} events were not acknowledged by the journal; retry them with the same eventIds (acknowledged ones will answer "duplicate")`,
      results,
    }));
  }
  return { results };
}
