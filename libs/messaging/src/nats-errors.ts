import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';

// What a NATS or JetStream failure means, decided by the client's error classes and JetStream's API codes
// (nats.js `core/src/errors.ts`, `jetstream/src/jserrors.ts`), never by the wording of a message.

/** The JetStream API answered that the stream or the consumer asked for does not exist. */
export function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && (error.code === JetStreamApiCodes.StreamNotFound || error.code === JetStreamApiCodes.ConsumerNotFound);
}

/**
 * Nothing was subscribed to the request's subject: JetStream is not serving it (yet), as while a server
 * restarts or a stream elects a leader. The client raises it as a `NoRespondersError` inside a
 * `RequestError`, and a JetStream publish wraps that once more (as "jetstream is not enabled"), so the
 * whole `cause` chain is looked through.
 */
export function isNoResponders(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof errors.NoRespondersError || (e instanceof errors.RequestError && e.isNoResponders())) return true;
  }
  return false;
}

/** The JetStream API answered 503: it is up but cannot serve the request right now (no quorum, catching up). */
function isJetStreamBusy(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.status === 503;
}

/**
 * Whether a failure says that NATS is down, restarting, unreachable or not answering, so the same request may
 * succeed later: the client's timeout, connection, closed or draining connection and request errors, no
 * responders, and a JetStream API 503.
 */
export function isNatsUnavailable(error: unknown): boolean {
  return (
    error instanceof errors.TimeoutError ||
    error instanceof errors.ConnectionError ||
    error instanceof errors.ClosedConnectionError ||
    error instanceof errors.DrainingConnectionError ||
    error instanceof errors.RequestError ||
    isNoResponders(error) ||
    isJetStreamBusy(error)
  );
}

/**
 * Whether a JetStream publish that failed is worth sending again, with the same message id, on the same
 * connection: its acknowledgement timed out (the outcome is unknown; the stream's dedupe window makes a second
 * copy a duplicate), nothing answered on its subject yet, or JetStream answered 503. A closed or draining
 * connection is not: every attempt on it fails at once.
 */
export function isPublishRetryable(error: unknown): boolean {
  return error instanceof errors.TimeoutError || isNoResponders(error) || isJetStreamBusy(error);
}
