import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from '@tidemark/telemetry';
import { DurableBatchConsumer, type DependencyWait, type MessageBatch } from './batch-consumer';

export interface PullBinding {
  /** The `@EventPattern` the batches go to. */
  pattern: string;
  stream: string;
  durable: string;
  maxMessages: number;
  expiresMs: number;
}

export interface JetStreamTransportOptions {
  js: () => JetStreamClient;
  /** The bindings to run; asked again every `claimIntervalMs` so a replica can take over freed ones. */
  bindings: () => PullBinding[];
  /**
   * Claims a binding before consuming it (for example a Postgres advisory lock on its partition) and
   * aligns it; returns false when another replica owns it. Without it every binding is consumed.
   */
  claim?: (binding: PullBinding) => Promise<boolean>;
  /** Called after a binding stopped (shutdown or lost claim). */
  release?: (binding: PullBinding) => Promise<void>;
  /** Re-creates a binding's durable consumer right after its last committed sequence (see DurableBatchConsumer). */
  realign: (binding: PullBinding) => Promise<void>;
  /** Returns false when a claimed binding has been lost (for example the lock's session died). */
  stillOwned?: (binding: PullBinding) => boolean;
  /**
   * How many of the `total` bindings this instance should consume now (its fair share among the live
   * replicas). It claims no more, and stops and releases the ones beyond it (the last in binding order) so
   * that another replica takes them. Without it every binding this instance can claim is consumed.
   */
  share?: (total: number) => Promise<number>;
  /**
   * The bindings some instance (this one included) holds now. With it, a binding that no instance has held
   * for `rescueAfterPasses` claim passes in a row is taken even beyond this instance's share, and kept for
   * `rescueHoldPasses` passes before it may be handed over again: a replica that counts as live but cannot
   * take its share (its NATS connection is down, say) never leaves partitions unprojected.
   */
  heldByAnyone?: () => Promise<Set<string>>;
  rescueAfterPasses?: number;
  rescueHoldPasses?: number;
  claimIntervalMs?: number;
  /** A claim pass awaiting one step longer than this is logged (default 30 000 ms). */
  slowPassMs?: number;
  logger: Logger;
}

/**
 * A NestJS transport strategy for JetStream durable pull consumers. Nest's own NATS transport is core
 * request/reply; this one binds `@EventPattern` handlers to durable consumers, hands them whole batches,
 * and acks only after the handler resolved.
 */
export class JetStreamPullTransport extends Server implements CustomTransportStrategy {
  private readonly running = new Map<string, { binding: PullBinding; consumer: DurableBatchConsumer }>();
  private timer: NodeJS.Timeout | undefined;
  /** Consumers being stopped, until their loop ended. */
  private readonly stopping = new Map<string, DurableBatchConsumer>();
  private closing = false;
  private claiming: Promise<void> = Promise.resolve();
  /** Claim passes so far. */
  private pass = 0;
  /** Bindings no instance held, with how many passes in a row they were seen so (see `heldByAnyone`). */
  private readonly unheld = new Map<string, number>();
  /** Bindings taken beyond the share because nobody held them, with the pass they were taken in. */
  private readonly rescued = new Map<string, number>();
  /** What the claim pass in progress awaits, and since when (see {@link reportSlowPass}). */
  private step: { what: string; since: number } | undefined;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(private readonly options: JetStreamTransportOptions) {
    super();
  }

  listen(callback: (...optionalParams: unknown[]) => unknown): void {
    this.claiming = this.reconcile();
    this.claiming.then(
      () => callback(),
      (error: unknown) => callback(error),
    );
    this.timer = setInterval(() => {
      this.claiming = this.claiming.then(() => this.reconcile()).catch((error: unknown) => this.options.logger.error({ err: error }, 'claiming consumers failed'));
    }, this.options.claimIntervalMs ?? 5000);
    this.timer.unref();
    this.watchdog = setInterval(() => this.reportSlowPass(), this.options.slowPassMs ?? 30_000);
    this.watchdog.unref();
  }

  /**
   * A claim pass never stalls in silence: one that has awaited the same step for `slowPassMs` is logged with
   * that step and what each consumer's loop awaits, and again every `slowPassMs` while it lasts.
   */
  private reportSlowPass(): void {
    const step = this.step;
    const every = this.options.slowPassMs ?? 30_000;
    if (!step || Date.now() - step.since < every) return;
    const consumers = [...this.running.entries()].map(([durable, { consumer }]) => ({ durable, ...consumer.activity() }));
    this.options.logger.warn(
      { pass: this.pass, step: step.what, forMs: Date.now() - step.since, consumers, stopping: [...this.stopping.entries()].map(([durable, c]) => ({ durable, ...c.activity() })) },
      'a claim pass is taking long; still waiting',
    );
  }

  private at<T>(what: string, work: Promise<T>): Promise<T> {
    this.step = { what, since: Date.now() };
    return work;
  }

  /** Durables this instance is consuming now. */
  owned(): string[] {
    return [...this.running.keys()].sort();
  }

  /** The consumers whose batch in hand waits out a dependency outage, with since when and why. */
  waiting(): ({ durable: string } & DependencyWait)[] {
    return [...this.running.entries()].flatMap(([durable, { consumer }]) => {
      const wait = consumer.waiting();
      return wait ? [{ durable, ...wait }] : [];
    });
  }

  private async reconcile(): Promise<void> {
    try {
      await this.reconcilePass();
    } finally {
      this.step = undefined;
    }
  }

  private async reconcilePass(): Promise<void> {
    if (this.closing) return;
    this.pass++;
    for (const [durable, entry] of this.running) {
      if (this.options.stillOwned && !this.options.stillOwned(entry.binding)) {
        this.options.logger.warn({ durable }, 'lost the claim on a consumer; stopping it');
        await this.stopConsuming(entry.binding);
      }
    }
    const bindings = this.options.bindings();
    const share = this.options.share ? await this.at('share', this.options.share(bindings.length)) : bindings.length;
    await this.handOver(bindings, share);
    for (const binding of bindings) {
      if (this.closing || this.running.size >= share) break;
      if (!this.running.has(binding.durable)) await this.tryConsume(binding);
    }
    await this.rescue(bindings);
  }

  /** Stops and releases the consumers beyond this instance's share (the last in binding order), except rescued ones still held on purpose. */
  private async handOver(bindings: PullBinding[], share: number): Promise<void> {
    const order = new Map(bindings.map((b, i) => [b.durable, i]));
    const hold = this.options.rescueHoldPasses ?? 15;
    const movable = [...this.running.values()].filter(({ binding }) => this.pass - (this.rescued.get(binding.durable) ?? -Infinity) >= hold);
    const beyond = movable.sort((x, y) => (order.get(y.binding.durable) ?? 0) - (order.get(x.binding.durable) ?? 0)).slice(0, Math.max(0, this.running.size - share));
    for (const entry of beyond) {
      if (this.closing) return;
      this.options.logger.info({ durable: entry.binding.durable, share }, 'beyond this replica’s share; handing it over');
      await this.stopConsuming(entry.binding);
    }
  }

  /** Takes bindings that no instance has held for several passes in a row, whatever the share. */
  private async rescue(bindings: PullBinding[]): Promise<void> {
    if (!this.options.heldByAnyone || this.closing) return;
    const held = await this.at('held by anyone', this.options.heldByAnyone());
    const after = this.options.rescueAfterPasses ?? 3;
    for (const binding of bindings) {
      if (this.closing) return;
      if (this.running.has(binding.durable) || held.has(binding.durable)) {
        this.unheld.delete(binding.durable);
        continue;
      }
      const passes = (this.unheld.get(binding.durable) ?? 0) + 1;
      this.unheld.set(binding.durable, passes);
      if (passes < after) continue;
      if (await this.tryConsume(binding)) {
        this.options.logger.warn({ durable: binding.durable, passes }, 'no replica took this consumer; taking it beyond this replica’s share');
        this.rescued.set(binding.durable, this.pass);
        this.unheld.delete(binding.durable);
      }
    }
  }

  private async tryConsume(binding: PullBinding): Promise<boolean> {
    const handler = this.getHandlerByPattern(binding.pattern);
    if (!handler) throw new Error(`no @EventPattern('${binding.pattern}') handler for consumer ${binding.durable}`);
    if (this.options.claim && !(await this.at(`claim ${binding.durable}`, this.options.claim(binding)))) return false;
    const consumer = new DurableBatchConsumer(this.options.js(), { ...binding, logger: this.options.logger, realign: () => this.options.realign(binding) });
    this.running.set(binding.durable, { binding, consumer });
    consumer.start(async (batch: MessageBatch) => {
      const result: unknown = await handler(batch);
      await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
    });
    this.options.logger.info({ durable: binding.durable }, 'consuming');
    return true;
  }

  private async stopConsuming(binding: PullBinding): Promise<void> {
    const entry = this.running.get(binding.durable);
    if (!entry) return;
    this.running.delete(binding.durable);
    this.rescued.delete(binding.durable);
    this.stopping.set(binding.durable, entry.consumer);
    try {
      await this.at(`stop ${binding.durable}`, entry.consumer.stop());
    } finally {
      this.stopping.delete(binding.durable);
    }
    await this.at(`release ${binding.durable}`, this.options.release?.(binding) ?? Promise.resolve());
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    if (this.watchdog) clearInterval(this.watchdog);
    await this.claiming.catch(() => undefined);
    const entries = [...this.running.values()];
    this.running.clear();
    await Promise.all(
      entries.map(async ({ binding, consumer }) => {
        await consumer.stop();
        await this.options.release?.(binding);
      }),
    );
  }

  on(): never {
    throw new Error('JetStreamPullTransport has no events to subscribe to');
  }

  unwrap<T>(): T {
    return this.options.js() as T;
  }
}
