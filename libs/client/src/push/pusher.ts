import type { DeviceEvent, EventResult, Problem } from '@tidemark/contracts';
import { expectOk, problemOf, sendWithRetry, type Answer, type HttpContext } from '../http';
import type { Outbox, OutboxEntry, QuarantinedEvent } from '../outbox/outbox';
import { planBatches, type BatchLimits } from './batches';

const PUSH_PATH = '/v1/events';

/** What one `push()` did. */
export interface PushSummary {
  /** Requests that got an answer. */
  requests: number;
  accepted: number;
  duplicate: number;
  /** Events refused for good (answered `rejected`, or named by a 4xx validation problem) and quarantined. */
  quarantined: number;
  /** Events still in the outbox when the push ended (enqueued meanwhile). */
  remaining: number;
}

/** One batch's answer, after the outbox was updated. */
export interface PushedBatch {
  results: EventResult[];
  /** HTTP status of the answer (200, or 503 when the journal acknowledged only some events). */
  status: number;
}

/** Events the server refused for good; they are in quarantine. */
export interface Rejection {
  events: DeviceEvent[];
  kind: QuarantinedEvent['kind'];
  reason: string;
  status?: number;
  problem?: Problem;
}

export interface PushHooks {
  pushed(batch: PushedBatch): void;
  rejected(rejection: Rejection): void;
}

/**
 * Sends every event of the outbox, oldest first, in batches within `limits`, until the outbox is empty.
 *
 * - `200`: accepted and duplicate events leave the outbox; `rejected` ones go to quarantine.
 * - network errors, timeouts, 5xx, 408, 429: the same batch (same eventIds) is sent again after a backoff;
 *   a `503` with per-event results first removes the events the journal acknowledged.
 * - `400` naming events by pointer (`/events/<i>/…`): those events go to quarantine, the rest is sent again
 *   (the server journaled nothing of the refused request).
 * - `413`, or a `400` that names no event: the batch is split in halves until the refused event stands alone
 *   and is quarantined.
 * - `403 write-not-allowed` (the workspace's access rules do not let the device's role write them): the events
 *   it names go to quarantine as `forbidden`, the rest is sent again.
 * - any other 4xx: {@link ServerProblemError}; the events stay in the outbox.
 */
export async function pushOutbox(ctx: HttpContext, outbox: Outbox, limits: BatchLimits, hooks: PushHooks, signal: AbortSignal): Promise<PushSummary> {
  const summary: PushSummary = { requests: 0, accepted: 0, duplicate: 0, quarantined: 0, remaining: 0 };
  const current: BatchLimits = { ...limits };
  for (;;) {
    const pending = outbox.pending();
    if (pending.length === 0) break;
    const [start, end] = planBatches(
      pending.map((e) => e.bytes),
      current,
    )[0]!;
    const batch = pending.slice(start, end);
    const outcome = await pushBatch(ctx, outbox, batch, hooks, summary, signal);
    if (outcome === 'split') {
      current.maxEvents = Math.max(1, Math.ceil(batch.length / 2));
    }
  }
  summary.remaining = outbox.pending().length;
  return summary;
}

/** Sends one batch until every event in it is answered. `split`: the batch must be sent in smaller parts. */
async function pushBatch(ctx: HttpContext, outbox: Outbox, batch: OutboxEntry[], hooks: PushHooks, summary: PushSummary, signal: AbortSignal): Promise<'done' | 'split'> {
  let open = batch;
  const answer = await sendWithRetry(ctx, 'POST', PUSH_PATH, body(open), signal, async (retryable) => {
    summary.requests++;
    const results = resultsOf(retryable);
    if (!results) return undefined;
    // 503 journal-unavailable: keep what the journal acknowledged, send the rest again.
    await settle(outbox, open, results, retryable.status, hooks, summary, false, ctx.now());
    const answered = new Set(results.filter((r) => r.status !== 'rejected').map((r) => r.eventId));
    open = open.filter((entry) => !answered.has(entry.event.eventId));
    return open.length > 0 ? body(open) : null;
  });
  if (answer === null) return 'done';
  summary.requests++;
  if (answer.status === 200) {
    const results = resultsOf(answer);
    if (!results) throw new Error(`${PUSH_PATH} answered 200 without results: ${JSON.stringify(answer.body).slice(0, 200)}`);
    await settle(outbox, open, results, 200, hooks, summary, true, ctx.now());
    return 'done';
  }
  const problem = problemOf(answer);
  if (answer.status === 400 || answer.status === 413) {
    const named = answer.status === 400 ? namedEvents(problem, open.length) : new Map<number, string[]>();
    if (named.size > 0) {
      const refused = [...named.keys()].map((i) => open[i]!);
      const reasons = [...named.entries()].map(([i, details]) => `${open[i]!.event.eventId}: ${details.join('; ')}`);
      await quarantine(outbox, refused, { kind: 'invalid', reason: reasons.join(' | '), status: answer.status, ...(problem ? { problem } : {}) }, ctx.now(), hooks, summary);
      return 'done';
    }
    if (open.length > 1) return 'split';
    await quarantine(
      outbox,
      open,
      { kind: 'invalid', reason: problem?.detail ?? problem?.title ?? `refused with ${answer.status}`, status: answer.status, ...(problem ? { problem } : {}) },
      ctx.now(),
      hooks,
      summary,
    );
    return 'done';
  }
  if (answer.status === 403 && problem?.code === 'write-not-allowed') {
    // The workspace's access rules do not let this device's role write these events: nothing of the request was
    // journaled; sending them again would be refused again, so they go to quarantine and the rest is sent again.
    const named = namedEvents(problem, open.length);
    if (named.size > 0) {
      const refused = [...named.keys()].map((i) => open[i]!);
      const reasons = [...named.entries()].map(([i, details]) => `${open[i]!.event.eventId}: ${details.join('; ')}`);
      await quarantine(outbox, refused, { kind: 'forbidden', reason: reasons.join(' | '), status: 403, problem }, ctx.now(), hooks, summary);
      return 'done';
    }
  }
  expectOk(answer, PUSH_PATH);
  throw new Error(`${PUSH_PATH} answered ${answer.status}, which a push does not expect`);
}

function body(entries: readonly OutboxEntry[]): string {
  return `{"events":[${entries.map((e) => e.json).join(',')}]}`;
}

function resultsOf(answer: Answer): EventResult[] | undefined {
  const results = (answer.body as { results?: unknown } | null)?.results;
  return Array.isArray(results) ? (results as EventResult[]) : undefined;
}

/**
 * Applies per-event results: acknowledged events leave the outbox; `rejected` in a final answer goes to
 * quarantine (in a 503 it only means "not journaled yet" and the event is sent again).
 */
async function settle(outbox: Outbox, batch: OutboxEntry[], results: EventResult[], status: number, hooks: PushHooks, summary: PushSummary, final: boolean, now: number): Promise<void> {
  const byId = new Map(batch.map((entry) => [entry.event.eventId, entry]));
  const acknowledged: string[] = [];
  const rejected: { entry: OutboxEntry; reason: string }[] = [];
  for (const result of results) {
    const entry = byId.get(result.eventId);
    if (!entry) continue;
    if (result.status === 'accepted' || result.status === 'duplicate') {
      acknowledged.push(result.eventId);
      summary[result.status]++;
    } else if (final) {
      rejected.push({ entry, reason: result.reason });
    }
  }
  await outbox.acknowledge(acknowledged);
  if (final) {
    const missing = batch.filter((entry) => !results.some((r) => r.eventId === entry.event.eventId));
    if (missing.length > 0) throw new Error(`${PUSH_PATH} answered without a result for ${missing.length} event(s), e.g. ${missing[0]!.event.eventId}; they stay in the outbox`);
  }
  hooks.pushed({ results, status });
  for (const { entry, reason } of rejected) {
    await quarantine(outbox, [entry], { kind: 'rejected', reason, status }, now, hooks, summary);
  }
}

async function quarantine(outbox: Outbox, entries: OutboxEntry[], why: Omit<Rejection, 'events'>, at: number, hooks: PushHooks, summary: PushSummary): Promise<void> {
  await outbox.quarantine(
    entries.map((entry) => ({ event: entry.event, ...why })),
    at,
  );
  summary.quarantined += entries.length;
  hooks.rejected({ events: entries.map((entry) => entry.event), ...why });
}

/** Event indexes named by a validation problem's pointers (`/events/<i>` or deeper), with their details. */
function namedEvents(problem: Problem | undefined, count: number): Map<number, string[]> {
  const named = new Map<number, string[]>();
  for (const error of problem?.errors ?? []) {
    const match = /^\/events\/(\d+)(?:\/|$)/.exec(error.pointer);
    if (!match) return new Map(); // a batch-level problem: the events must be told apart by splitting
    const index = Number(match[1]);
    if (index >= count) return new Map();
    named.set(index, [...(named.get(index) ?? []), `${error.pointer} ${error.detail}`]);
  }
  return named;
}
