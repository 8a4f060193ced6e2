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
  claimIntervalMs?: number;
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
  private closing = false;
  private claiming: Promise<void> = Promise.resolve();

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
    if (this.closing) return;
    for (const [durable, entry] of this.running) {
      if (this.options.stillOwned && !this.options.stillOwned(entry.binding)) {
        this.options.logger.warn({ durable }, 'lost the claim on a consumer; stopping it');
        this.running.delete(durable);
        await entry.consumer.stop();
        await this.options.release?.(entry.binding);
      }
    }
    const bindings = this.options.bindings();
    const share = this.options.share ? await this.options.share(bindings.length) : bindings.length;
    const order = new Map(bindings.map((b, i) => [b.durable, i]));
    const beyond = [...this.running.values()].sort((x, y) => (order.get(y.binding.durable) ?? 0) - (order.get(x.binding.durable) ?? 0)).slice(0, Math.max(0, this.running.size - share));
    for (const entry of beyond) {
      if (this.closing) return;
      this.options.logger.info({ durable: entry.binding.durable, share }, 'beyond this replica’s share; handing it over');
      this.running.delete(entry.binding.durable);
      await entry.consumer.stop();
      await this.options.release?.(entry.binding);
    }
    for (const binding of bindings) {
      if (this.closing || this.running.size >= share) break;
      if (this.running.has(binding.durable)) continue;
      const handler = this.getHandlerByPattern(binding.pattern);
      if (!handler) throw new Error(`no @EventPattern('${binding.pattern}') handler for consumer ${binding.durable}`);
      if (this.options.claim && !(await this.options.claim(binding))) continue;
      const consumer = new DurableBatchConsumer(this.options.js(), { ...binding, logger: this.options.logger, realign: () => this.options.realign(binding) });
      this.running.set(binding.durable, { binding, consumer });
      consumer.start(async (batch: MessageBatch) => {
        const result: unknown = await handler(batch);
        await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
      });
      this.options.logger.info({ durable: binding.durable }, 'consuming');
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    await this.claiming.catch(() => undefined);
    const entries = [...this.running.values()];
    this.running.clear();
    await Promise.all(entries.map(async ({ binding, consumer }) => {
      await consumer.stop();
      await this.options.release?.(binding);
    }));
  }

  on(): never {
    throw new Error('JetStreamPullTransport has no events to subscribe to');
  }

  unwrap<T>(): T {
    return this.options.js() as T;
  }
}
