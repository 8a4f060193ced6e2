import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, ProblemType, problem } from '@tidemark/contracts';
import { verifyRequestToken, type TokenService } from '@tidemark/auth';
import { counter, gauge } from '@tidemark/telemetry';

/** Admission limits of `POST /v1/events` (config `PUSH_*`). */
export interface AdmissionLimits {
  /** Pushes one device may have in flight at once (`PUSH_MAX_IN_FLIGHT_PER_DEVICE`): more are 429. */
  perDevice: number;
  /** Request bytes, by Content-Length, all pushes in flight may hold (`PUSH_IN_FLIGHT_BYTES`): more is 503. */
  bytes: number;
  /** Events all pushes in flight may hold, counted once a body is parsed (`PUSH_IN_FLIGHT_EVENTS`): more is 503. */
  events: number;
  /** The largest push body (`PUSH_BODY_LIMIT_BYTES`): a push without a Content-Length is counted as this. */
  bodyLimit: number;
  /** `Retry-After` of a refusal, in seconds. */
  retryAfterSeconds: number;
  /**
   * Request bytes one device may push per second, sustained (`PUSH_DEVICE_BYTES_PER_SECOND`): a push beyond
   * the device's allowance is 429 with the wait in `Retry-After`. The allowance refills continuously up to
   * `deviceBurstBytes` (`PUSH_DEVICE_BURST_BYTES`, at least one largest push), so a device back from a long time
   * offline drains its outbox at this rate while every other device keeps its share of the pipeline.
   */
  deviceBytesPerSecond: number;
  deviceBurstBytes: number;
}

/** Pushes of at most this many bytes are small: the headroom above the byte budget is theirs alone. */
export const SMALL_PUSH_BYTES = 64 * 1024;

export type Refusal = {
  status: 429 | 503;
  limit: 'PUSH_MAX_IN_FLIGHT_PER_DEVICE' | 'PUSH_DEVICE_BYTES_PER_SECOND' | 'PUSH_IN_FLIGHT_BYTES' | 'PUSH_IN_FLIGHT_EVENTS';
  detail: string;
  /** When the same push would be admitted, in seconds, where the refusal knows (a device over its byte rate). */
  retryAfterSeconds?: number;
};

/** A device's byte allowance: what it had at `at` (epoch ms). */
interface Allowance {
  bytes: number;
  at: number;
}

/** One admitted push: its share of the budgets until `release` (idempotent). */
export interface Ticket {
  /** Counts the parsed batch's events against the event budget; a refusal releases the ticket. */
  events(n: number): Refusal | undefined;
  release(): void;
}

/**
 * Admission control for pushes, decided before the body is read. Fairness comes from the per-device limit:
 * one device holds at most `perDevice` pushes (so at most `perDevice × bodyLimit` bytes) however many it
 * sends, and small pushes (at most 64 KiB: a few events) may use a headroom of a quarter of the byte budget
 * that large ones cannot, so one-event pushes of every device keep flowing while large batches fill the budget.
 * Pure bookkeeping: no clock, no I/O.
 */
export class PushAdmission {
  private bytes = 0;
  private events = 0;
  private readonly devices = new Map<string, number>();
  /** Byte allowances of devices that spent some recently (a device missing here has its full burst). */
  private readonly allowances = new Map<string, Allowance>();
  private admitted = 0;

  constructor(readonly limits: AdmissionLimits) {}

  /** Admits a push of `contentLength` bytes from `device` at `now` (epoch ms), or says why not. */
  admit(device: string, contentLength: number | undefined, now: number): Ticket | Refusal {
    const { limits } = this;
    const size = contentLength === undefined || !Number.isFinite(contentLength) || contentLength < 0 ? limits.bodyLimit : Math.min(contentLength, limits.bodyLimit);
    const mine = this.devices.get(device) ?? 0;
    if (mine >= limits.perDevice) {
      return { status: 429, limit: 'PUSH_MAX_IN_FLIGHT_PER_DEVICE', detail: `this device already has ${mine} pushes in flight (at most ${limits.perDevice}); wait for their answers, then retry` };
    }
    const allowance = this.allowance(device, now);
    const charge = Math.min(size, limits.deviceBurstBytes);
    if (charge > allowance) {
      const wait = Math.max(1, Math.ceil((charge - allowance) / limits.deviceBytesPerSecond));
      return {
        status: 429,
        limit: 'PUSH_DEVICE_BYTES_PER_SECOND',
        detail: `this device pushed more than its ${limits.deviceBytesPerSecond} bytes per second (burst ${limits.deviceBurstBytes}); a push of ${size} bytes fits in ${wait} s`,
        retryAfterSeconds: wait,
      };
    }
    const budget = size <= SMALL_PUSH_BYTES ? limits.bytes + Math.floor(limits.bytes / 4) : limits.bytes;
    if (this.bytes + size > budget) {
      return { status: 503, limit: 'PUSH_IN_FLIGHT_BYTES', detail: `the gateway holds ${this.bytes} bytes of pushes in flight (budget ${limits.bytes}); retry` };
    }
    this.allowances.set(device, { bytes: allowance - charge, at: now });
    if (++this.admitted % 1024 === 0) this.forgetFull(now);
    this.bytes += size;
    this.devices.set(device, mine + 1);
    let counted = 0;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.bytes -= size;
      this.events -= counted;
      const left = (this.devices.get(device) ?? 1) - 1;
      if (left <= 0) this.devices.delete(device);
      else this.devices.set(device, left);
    };
    return {
      release,
      events: (n) => {
        if (released || counted > 0) return undefined;
        if (this.events + n > limits.events && this.events > 0) {
          release();
          return { status: 503, limit: 'PUSH_IN_FLIGHT_EVENTS', detail: `the gateway holds ${this.events} events of pushes in flight (budget ${limits.events}); retry` };
        }
        counted = n;
        this.events += n;
        return undefined;
      },
    };
  }

  /** A device's byte allowance at `now`: what it had, refilled at its rate since, up to its burst. */
  private allowance(device: string, now: number): number {
    const { deviceBytesPerSecond: rate, deviceBurstBytes: burst } = this.limits;
    const last = this.allowances.get(device);
    if (!last) return burst;
    return Math.min(burst, last.bytes + (Math.max(0, now - last.at) * rate) / 1000);
  }

  /** Drops the allowances that refilled to the full burst: such a device is the same as one never seen. */
  private forgetFull(now: number): void {
    for (const device of this.allowances.keys()) if (this.allowance(device, now) >= this.limits.deviceBurstBytes) this.allowances.delete(device);
  }

  /** What is in flight now (metrics, tests). */
  inFlight(): { bytes: number; events: number; devices: number } {
    return { bytes: this.bytes, events: this.events, devices: this.devices.size };
  }
}

const refused = counter('tidemark_push_refused_total', 'pushes refused by admission control, by limit', ['limit']);
const inFlightBytes = gauge('tidemark_push_in_flight_bytes', 'request bytes of pushes in flight');

const TICKET = Symbol('push-admission-ticket');
type WithTicket = FastifyRequest & { [TICKET]?: Ticket };

function refuse(reply: FastifyReply, refusal: Refusal, defaultRetryAfter: number, instance: string, unread: boolean): FastifyReply {
  const retryAfterSeconds = refusal.retryAfterSeconds ?? defaultRetryAfter;
  refused.inc({ limit: refusal.limit });
  // The body is not read: once the answer is out the connection is closed, so its bytes are never received
  // just to be thrown away (a client still sending may see the connection reset instead of the answer).
  if (unread) reply.raw.once('finish', () => setTimeout(() => reply.request.raw.socket?.destroy(), 50).unref());
  return reply
    .status(refusal.status)
    .header('retry-after', String(retryAfterSeconds))
    .header('connection', 'close')
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .send(
      problem(refusal.status === 429 ? ProblemType.tooManyRequests : ProblemType.unavailable, refusal.status, refusal.status === 429 ? 'Too many requests' : 'Service unavailable', {
        detail: `${refusal.detail}; nothing of this request was journaled`,
        limit: refusal.limit,
        instance,
      }),
    );
}

/**
 * The device a push is counted for: the token's (verified without the database, once per request: the guard
 * reuses the verification), or one shared bucket for requests without a valid device token.
 */
async function deviceKey(request: FastifyRequest, tokens: TokenService): Promise<string> {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  if (!match) return 'unauthenticated';
  try {
    const verified = await verifyRequestToken(tokens, request, match[1]!, new Date());
    return verified.kind === 'device' ? `${verified.workspace}\u0000${verified.deviceId}` : `operator\u0000${verified.name}`;
  } catch {
    return 'unauthenticated';
  }
}

/**
 * Admission for `POST /v1/events` as Fastify hooks: `onRequest` admits or refuses before the body is read
 * (429 per device, 503 over the global byte budget, with `Retry-After`), `preHandler` counts the parsed events
 * against the event budget, and the ticket is released when the response ends or the connection closes.
 * Other routes (health and readiness among them) never wait on it.
 */
export function registerPushAdmission(fastify: FastifyInstance, admission: PushAdmission, tokens: TokenService): void {
  const isPush = (request: FastifyRequest) => request.method === 'POST' && request.url.split('?')[0] === '/v1/events';
  fastify.addHook('onRequest', async (request, reply) => {
    if (!isPush(request)) return;
    const length = request.headers['content-length'] === undefined ? undefined : Number(request.headers['content-length']);
    const decision = admission.admit(await deviceKey(request, tokens), length, Date.now());
    if (!('release' in decision)) return refuse(reply, decision, admission.limits.retryAfterSeconds, request.url, true);
    (request as WithTicket)[TICKET] = decision;
    inFlightBytes.set(admission.inFlight().bytes);
    reply.raw.once('close', () => {
      decision.release();
      inFlightBytes.set(admission.inFlight().bytes);
    });
  });
  fastify.addHook('preHandler', async (request, reply) => {
    const ticket = (request as WithTicket)[TICKET];
    if (!ticket) return;
    const events = (request.body as { events?: unknown } | undefined)?.events;
    const refusal = ticket.events(Array.isArray(events) ? events.length : 0);
    if (refusal) return refuse(reply, refusal, admission.limits.retryAfterSeconds, request.url, false);
  });
}
