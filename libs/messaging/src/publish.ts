import { backoffDelay } from '@tidemark/contracts';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { SpanKind, SpanStatusCode, injectTraceContext, withSpan, type HeaderCarrier } from '@tidemark/telemetry';
import { isPublishRetryable } from './nats-errors';

export interface IdempotentPublish {
  subject: string;
  data: Uint8Array | string;
  /** The JetStream message id (`Nats-Msg-Id`): the same id on every retry, so a retry is never a second copy. */
  msgID: string;
  headers?: Record<string, string>;
  /** Attempts in all; a timeout means "unknown", so the next attempt reuses the id. */
  attempts?: number;
  timeoutMs?: number;
}

/** Wraps NATS headers as a trace-context carrier. */
export function natsCarrier(h: MsgHdrs): HeaderCarrier {
  return { get: (key) => (h.has(key) ? h.get(key) : undefined), set: (key, value) => h.set(key, value) };
}

export function buildHeaders(extra: Record<string, string> = {}): MsgHdrs {
  const h = natsHeaders();
  for (const [k, v] of Object.entries(extra)) h.set(k, v);
  injectTraceContext(natsCarrier(h));
  return h;
}

/**
 * Publishes to JetStream and waits for its acknowledgement. A timeout does not mean the message was
 * lost; retrying with the same `msgID` lets the stream's dedupe window turn a second copy into
 * `duplicate: true` with the original sequence.
 */
export function publishIdempotent(js: JetStreamClient, message: IdempotentPublish): Promise<PubAck> {
  return withSpan(
    `publish ${message.subject.split('.').slice(0, 2).join('.')}`,
    { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': message.subject, 'messaging.message.id': message.msgID } },
    async (span) => {
      const ack = await publishWithRetries(js, message);
      span.setAttribute('messaging.nats.stream_sequence', ack.seq);
      if (ack.duplicate) span.setAttribute('messaging.nats.duplicate', true);
      return ack;
    },
  );
}

/** How a batch is published (`publishBatch`). */
export interface BatchPublishOptions {
  /** Attempts per message, in all; a timeout means "unknown", so the next attempt reuses the id. */
  attempts?: number;
  timeoutMs?: number;
  /**
   * Milliseconds of building and starting publishes after which the batch gives the event loop a turn (all of
   * its publishes are in flight together all the same): starting hundreds in one go holds the loop, and every
   * other request of the process waits behind them. By time rather than by count, so a slow or busy machine
   * yields as often as a fast one.
   */
  turnMs?: number;
}

/**
 * Publishes a batch to JetStream pipelined: each message is built (`build`, so the work of building is
 * sliced too) and sent without waiting for the one before, and the batch waits once, for every
 * acknowledgement. Each message keeps its own `msgID` and its own retries, and its outcome is returned in
 * order, never thrown (a failure of one says nothing of the others). One PRODUCER span covers the batch
 * (`messaging.batch.message_count`, as OpenTelemetry's messaging conventions do for a batch), and its trace
 * context, read once, goes into every message's headers, so a consumer continues the trace of the request
 * that published.
 */
export async function publishBatch<T>(js: JetStreamClient, items: readonly T[], build: (item: T) => IdempotentPublish, options: BatchPublishOptions = {}): Promise<PromiseSettledResult<PubAck>[]> {
  if (items.length === 0) return [];
  const first = build(items[0]!);
  const destination = first.subject.split('.').slice(0, 2).join('.');
  const attributes = { 'messaging.system': 'nats', 'messaging.operation.type': 'publish', 'messaging.destination.name': destination, 'messaging.batch.message_count': items.length };
  return withSpan(`publish ${destination}`, { kind: SpanKind.PRODUCER, attributes }, async (span) => {
    const trace: [string, string][] = [];
    injectTraceContext({ get: () => undefined, set: (key, value) => void trace.push([key, value]) });
    const turnMs = options.turnMs ?? Infinity;
    const settled: PromiseSettledResult<PubAck>[] = new Array<PromiseSettledResult<PubAck>>(items.length);
    const pending: Promise<void>[] = [];
    let turn = performance.now();
    for (let i = 0; i < items.length; i++) {
      if (i > 0 && performance.now() - turn >= turnMs) {
        await new Promise((resolve) => setImmediate(resolve));
        turn = performance.now();
      }
      const message = i === 0 ? first : build(items[i]!);
      const headers = natsHeaders();
      for (const key in message.headers) headers.set(key, message.headers[key]!);
      for (const [key, value] of trace) headers.set(key, value);
      // Settled as it is created: a publish failing while a later one waits for its turn is never unhandled.
      pending.push(
        publishWithRetries(js, { attempts: options.attempts, timeoutMs: options.timeoutMs, ...message }, headers).then(
          (ack) => void (settled[i] = { status: 'fulfilled', value: ack }),
          (reason: unknown) => void (settled[i] = { status: 'rejected', reason }),
        ),
      );
    }
    await Promise.all(pending);
    let failed = 0;
    let duplicates = 0;
    for (const outcome of settled) {
      if (outcome.status === 'rejected') failed++;
      else if (outcome.value.duplicate) duplicates++;
    }
    if (duplicates > 0) span.setAttribute('messaging.nats.duplicates', duplicates);
    if (failed > 0) {
      span.setAttribute('messaging.nats.failed', failed);
      span.setStatus({ code: SpanStatusCode.ERROR, message: `${failed} of ${items.length} publishes were not acknowledged` });
    }
    return settled;
  });
}

/** Between attempts of one publish (a timeout or a lost connection): short, the ack usually comes at once. */
const PUBLISH_BACKOFF = { baseMs: 100, maxMs: 1000 };

async function publishWithRetries(js: JetStreamClient, message: IdempotentPublish, headers: MsgHdrs = buildHeaders(message.headers)): Promise<PubAck> {
  const attempts = message.attempts ?? 3;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await js.publish(message.subject, message.data, { msgID: message.msgID, headers, timeout: message.timeoutMs ?? 5000 });
    } catch (error) {
      lastError = error;
      if (!isPublishRetryable(error) || attempt === attempts) break;
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, PUBLISH_BACKOFF)));
    }
  }
  throw lastError;
}
