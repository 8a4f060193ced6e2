import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { SpanKind, injectTraceContext, withSpan, type HeaderCarrier } from '@tidemark/telemetry';

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

function isRetryable(error: unknown): boolean {
  const e = error as { name?: string; code?: string; message?: string };
  return e?.name === 'TimeoutError' || /timeout|no responders|503|disconnect|reconnect/i.test(`${e?.code ?? ''} ${e?.message ?? ''}`);
}

/**
 * Publishes to JetStream and waits for its acknowledgement. A timeout does not mean the message was
 * lost; retrying with the same `msgID` lets the stream's dedupe window turn a second copy into
 * `duplicate: true` with the original sequence.
 */
export function publishIdempotent(js: JetStreamClient, message: IdempotentPublish): Promise<PubAck> {
  return withSpan(`publish ${message.subject.split('.').slice(0, 2).join('.')}`, { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': message.subject, 'messaging.message.id': message.msgID } }, async (span) => {
    const ack = await publishWithRetries(js, message);
    span.setAttribute('messaging.nats.stream_sequence', ack.seq);
    if (ack.duplicate) span.setAttribute('messaging.nats.duplicate', true);
    return ack;
  });
}

async function publishWithRetries(js: JetStreamClient, message: IdempotentPublish): Promise<PubAck> {
  const attempts = message.attempts ?? 3;
  const headers = buildHeaders(message.headers);
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await js.publish(message.subject, message.data, { msgID: message.msgID, headers, timeout: message.timeoutMs ?? 5000 });
    } catch (error) {
      lastError = error;
      if (!isRetryable(error) || attempt === attempts) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
    }
  }
  throw lastError;
}
