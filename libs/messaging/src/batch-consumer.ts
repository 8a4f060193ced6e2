import { backoffDelay } from '@tidemark/contracts';
import type { Consumer, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { SpanKind, extractTraceContext, trace, withSpan, type Logger } from '@tidemark/telemetry';
import { natsCarrier } from './publish';
import { isWaitOut } from './dependency-unavailable';

/** A consumer waiting out a dependency outage: since when (epoch ms), and what the handler last said. */
export interface DependencyWait {
  since: number;
  dependency: string;
  reason: string;
}

/** A batch of journal messages from one durable consumer, in stream order. */
export interface MessageBatch {
  stream: string;
  durable: string;
  messages: JsMsg[];
  /**
   * 1 on first delivery to the handler; one more after each failure of the batch while its dependencies were
   * healthy. A failure the handler reported as a dependency outage (`DependencyUnavailableError`) does not
   * count: the same attempt is tried again once the outage is over.
   */
  attempt: number;
}

/** Commits the batch's effect; resolving means committed. Throwing means "nothing was committed". */
export type BatchHandler = (batch: MessageBatch) => Promise<void>;

export interface BatchConsumerOptions {
  stream: string;
  durable: string;
  maxMessages: number;
  expiresMs: number;
  /** Backoff while retrying a failed batch in place: base and cap in milliseconds. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /**
   * Cap of the backoff while a dependency is unavailable (the handler threw `DependencyUnavailableError`),
   * in milliseconds: the batch is tried again at least this often, so it resumes soon after the dependency
   * is back.
   */
  waitMaxMs?: number;
  /**
   * A handler call that has not settled after this long is logged as a warning, and again each time as long
   * again passes (default 30 000 ms): a batch is never in hand in silence.
   */
  slowBatchMs?: number;
  logger: Logger;
  /**
   * Re-creates the durable consumer to start right after the last committed sequence. Called when a
   * delivery went missing on the client side (a fetch expired while a message for it was in flight) and
   * after any failed fetch: the server would redeliver such a message only after the ack wait, behind
   * newer messages the handler may already have committed, and the checkpoint would then skip it. The
   * consumer is re-aligned instead, and stream order is kept.
   */
  realign: () => Promise<void>;
}

/**
 * Runs one durable pull consumer: fetch a batch, hand it to the handler, ack every message only after
 * the handler resolved (that is, after the commit). A failed batch is retried in place, never skipped
 * and never overtaken by newer messages: the consumer fetches nothing new until the batch is
 * committed, so stream order is kept. Messages are kept alive (`working`) during the retries.
 */
export class DurableBatchConsumer {
  private stopping = false;
  private running: Promise<void> | undefined;
  private consumer: Consumer | undefined;
  private wake: (() => void) | undefined;
  /** The consumer's delivery sequence of the last message received: every delivery increments it by one. */
  private lastDelivery: number | undefined;
  /**
   * Set when the consumer handle was dropped after a failure (a fetch that failed, for example on missed
   * heartbeats): its pull request may still be open on the server and take deliveries this client never
   * sees, and the server's delivered count would then hide them. The consumer is re-aligned with the
   * checkpoint before it is used again, which also ends any such request.
   */
  private mustRealign = false;
  /** Messages the next fetch asks for (see {@link fetchCount}). */
  private nextCount: number;
  private waitingOn: DependencyWait | undefined;
  /** What the loop awaits now, and since when: logged when a stop or a claim pass takes too long. */
  private step: { what: string; since: number } = { what: 'not started', since: Date.now() };

  constructor(
    private readonly js: JetStreamClient,
    private readonly options: BatchConsumerOptions,
  ) {
    this.nextCount = options.maxMessages;
  }

  start(handler: BatchHandler): void {
    if (this.running) throw new Error(`consumer ${this.options.durable} already started`);
    this.running = this.loop(handler);
  }

  /** The dependency outage the batch in hand is waiting out, if any. */
  waiting(): DependencyWait | undefined {
    return this.waitingOn;
  }

  /** What the consumer's loop awaits now, and for how long (for diagnostics). */
  activity(): { what: string; forMs: number } {
    return { what: this.step.what, forMs: Date.now() - this.step.since };
  }

  private at<T>(what: string, work: Promise<T>): Promise<T> {
    this.step = { what, since: Date.now() };
    return work;
  }

  /** Stops fetching and waits for the batch in hand to finish (commit and ack, or give up). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
  }

  private async loop(handler: BatchHandler): Promise<void> {
    const { stream, durable, logger } = this.options;
    while (!this.stopping) {
      try {
        if (!this.consumer) {
          if (this.mustRealign) {
            await this.at('realign', this.options.realign());
            this.mustRealign = false;
          }
          this.consumer = await this.at('get consumer', this.js.consumers.get(stream, durable));
          this.lastDelivery = (await this.at('consumer info', this.consumer.info())).delivered.consumer_seq;
        }
        const messages: JsMsg[] = [];
        const iter = await this.at('fetch', this.consumer.fetch({ max_messages: this.nextCount, expires: this.options.expiresMs }));
        for await (const msg of iter) messages.push(msg);
        this.nextCount = fetchCount(messages.at(-1)?.info.pending ?? 0, this.options.maxMessages);
        if (messages.length === 0) {
          // Nothing came, yet the server counts deliveries waiting for an ack: every message this client
          // received was acked before this fetch, so those were delivered to a fetch that expired while they
          // were in flight. With no later message to reveal the gap, they would wait out the ack wait.
          if ((await this.at('consumer info', this.consumer.info())).num_ack_pending > 0) {
            logger.warn({ durable }, 'deliveries never reached this client; re-aligning the consumer with the checkpoint');
            this.realignBeforeNextFetch();
          }
          continue;
        }
        const missing = this.missingDelivery(messages);
        if (missing !== undefined) {
          logger.warn({ durable, expected: missing, got: messages[0]?.info.deliverySequence }, 'a delivery never reached this client; re-aligning the consumer with the checkpoint');
          this.realignBeforeNextFetch();
          continue;
        }
        await this.deliver(handler, messages);
      } catch (error) {
        if (this.stopping) break;
        this.realignBeforeNextFetch();
        logger.warn({ err: error, durable }, 'fetch failed; re-aligning the consumer with the checkpoint and retrying');
        await this.at('pause after a failed fetch', this.pause(1000));
      }
    }
    this.step = { what: 'stopped', since: Date.now() };
  }

  private realignBeforeNextFetch(): void {
    this.consumer = undefined;
    this.lastDelivery = undefined;
    this.mustRealign = true;
  }

  /** The first delivery sequence that is missing before or inside this batch, if any. */
  private missingDelivery(messages: JsMsg[]): number | undefined {
    let last = this.lastDelivery ?? messages[0]!.info.deliverySequence - 1;
    for (const msg of messages) {
      if (msg.info.deliverySequence !== last + 1) return last + 1;
      last = msg.info.deliverySequence;
    }
    this.lastDelivery = last;
    return undefined;
  }

  private async deliver(handler: BatchHandler, messages: JsMsg[]): Promise<void> {
    const { stream, durable, logger } = this.options;
    const base = this.options.retryBaseMs ?? 100;
    const cap = this.options.retryMaxMs ?? 10_000;
    const waitCap = this.options.waitMaxMs ?? 2000;
    let waits = 0;
    for (let attempt = 1; ;) {
      try {
        await this.watched(
          messages,
          attempt,
          this.at(
            'handler',
            traced(durable, messages, attempt, () => handler({ stream, durable, messages, attempt })),
          ),
        );
        for (const msg of messages) msg.ack();
        if (this.waitingOn) logger.info({ durable, dependency: this.waitingOn.dependency, waitedMs: Date.now() - this.waitingOn.since }, 'dependency back; batch committed');
        this.waitingOn = undefined;
        return;
      } catch (error) {
        if (this.stopping) return; // unacked: redelivered to whoever owns the partition next
        for (const msg of messages) msg.working();
        if (isWaitOut(error)) {
          // An outage is not the batch's fault: wait it out, however long, without counting an attempt.
          if (!this.waitingOn) logger.warn({ err: error.cause, durable, dependency: error.dependency, first: messages[0]?.seq, count: messages.length }, 'dependency unavailable; waiting it out');
          this.waitingOn = { since: this.waitingOn?.since ?? Date.now(), dependency: error.dependency, reason: error.message };
          await this.at('pause: waiting out an outage', this.pause(backoffDelay(++waits, { baseMs: base, maxMs: waitCap })));
          if (this.stopping) return; // unacked: redelivered to whoever owns the partition next
          continue;
        }
        this.waitingOn = undefined;
        waits = 0;
        logger.warn({ err: error, durable, attempt, first: messages[0]?.seq, count: messages.length }, 'batch failed; retrying in place');
        await this.at('pause: retrying a failed batch', this.pause(backoffDelay(attempt, { baseMs: base, maxMs: cap })));
        attempt++;
      }
    }
  }

  /** Resolves as `work` does, warning every `slowBatchMs` while it has not settled. */
  private async watched(messages: JsMsg[], attempt: number, work: Promise<void>): Promise<void> {
    const { durable, logger } = this.options;
    const every = this.options.slowBatchMs ?? 30_000;
    const started = Date.now();
    const timer = setInterval(
      () => logger.warn({ durable, attempt, first: messages[0]?.seq, count: messages.length, inHandMs: Date.now() - started }, 'batch still in hand; its handler has not settled'),
      every,
    );
    timer.unref();
    try {
      await work;
    } finally {
      clearInterval(timer);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/**
 * The next fetch's count: what the server said was still waiting when it delivered the last message
 * (`pending`), at least 1 and at most `max`. A fetch ends when it has its count or at its expiry, so a
 * fixed count makes every batch wait for the expiry whenever fewer messages than that are coming. Asking
 * for what is there returns at once: under a light load each message is applied as it arrives, under a
 * heavy one the batches grow with what piled up during the last commit, up to `max`.
 */
export function fetchCount(pending: number, max: number): number {
  return Math.min(max, Math.max(1, pending));
}

/**
 * Runs a batch inside one CONSUMER span: its parent is the first message's trace context (carried in
 * NATS headers from the publisher) and every other message's context is a link, so one trace follows an
 * event from the HTTP push through the journal into the Postgres transaction.
 */
function traced(durable: string, messages: JsMsg[], attempt: number, fn: () => Promise<void>): Promise<void> {
  const contexts = messages.filter((m) => m.headers).map((m) => extractTraceContext(natsCarrier(m.headers!)));
  const parent = contexts[0];
  const links = contexts
    .slice(1, 128)
    .map((c) => trace.getSpan(c))
    .filter((s): s is NonNullable<typeof s> => s !== undefined);
  return withSpan(
    `process ${durable}`,
    {
      kind: SpanKind.CONSUMER,
      parent,
      links,
      attributes: { 'messaging.system': 'nats', 'messaging.consumer.group.name': durable, 'messaging.batch.message_count': messages.length, 'tidemark.attempt': attempt },
    },
    fn,
  );
}
