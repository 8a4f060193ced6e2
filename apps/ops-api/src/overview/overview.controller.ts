import { Controller, Get, Inject, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { RequireAuth } from '@tidemark/auth';
import type { OverviewView, ServiceHealth, StreamsView } from '@tidemark/contracts';
import { STREAMS } from '@tidemark/messaging';
import { ledgerCounts } from '../lag/gauges';
import { OPS_VIEWS, type OpsViews } from '../streams/views';

/**
 * One page for the whole system: every configured service's readiness, stream totals, projection lag,
 * ingest and projection rates over a sliding window ops-api samples itself, parked messages, open
 * conflicts and uploads in progress. The controller owns the sampler's lifetime (started with the app,
 * stopped before it closes).
 */
@RequireAuth('operator')
@Controller('v1')
export class OverviewController implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(@Inject(OPS_VIEWS) private readonly views: OpsViews) {}

  onApplicationBootstrap(): void {
    this.views.sampler.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.views.sampler.stop();
  }

  @Get('overview')
  async overview(): Promise<OverviewView> {
    // An outage is when the overview matters most: what cannot be read is null, with the reason in `unavailable`.
    const unavailable: OverviewView['unavailable'] = [];
    const settle = <T>(part: string, promise: Promise<T>): Promise<T | undefined> =>
      promise.catch((error: unknown) => {
        unavailable.push({ part, detail: (error as Error).message });
        return undefined;
      });
    const [services, observation, counts] = await Promise.all([
      Promise.all(this.views.services.map((s) => this.readiness(s.name, s.url))),
      settle('streams (NATS JetStream)', this.views.observer.observe()),
      settle('ledger counts (Postgres)', ledgerCounts(this.views.ds, this.views.now(), this.views.stalledAfterSeconds)),
    ]);
    return {
      at: this.views.now().toISOString(),
      services,
      // Every configured service answers ready; null when SERVICE_URLS names none.
      ready: services.length === 0 ? null : services.every((s) => s.ready),
      ...(observation ? this.fromObservation(observation) : { streams: null, consumers: null, projection: null }),
      rates: { ...this.views.sampler.rates(), sampledBy: 'this ops-api instance, in memory (empty after a restart)' },
      history: this.views.sampler.history(),
      parked: counts?.parked ?? null,
      conflictsOpen: counts ? counts.conflictsOpen.reduce((n, w) => n + w.open, 0) : null,
      uploads: counts ? { inProgress: counts.uploadsInProgress, bytesPending: counts.uploadBytesPending } : null,
      unavailable,
    };
  }

  private fromObservation(observation: StreamsView): Pick<OverviewView, 'streams' | 'consumers' | 'projection'> {
    const journal = observation.streams.find((s) => s.name === STREAMS.journal);
    const consumers = observation.streams.flatMap((s) => s.consumers);
    return {
      streams: {
        count: observation.streams.length,
        messages: observation.streams.reduce((n, s) => n + s.messages, 0),
        bytes: observation.streams.reduce((n, s) => n + s.bytes, 0),
        journal: journal ? { messages: journal.messages, lastSeq: journal.lastSeq, lastAt: journal.lastAt } : null,
      },
      consumers: {
        count: consumers.length,
        withBacklog: consumers.filter((c) => c.lag.messages > 0).length,
        oldestPendingSeconds: consumers.reduce((max, c) => Math.max(max, c.oldestPendingSeconds), 0),
        redelivered: consumers.reduce((n, c) => n + c.redelivered, 0),
      },
      projection: {
        consumerPrefix: observation.projection.consumerPrefix,
        partitions: observation.projection.partitions.length,
        partitionsBehind: observation.projection.partitions.filter((p) => p.lag.messages > 0).length,
        lag: observation.projection.total,
      },
    };
  }

  private async readiness(name: string, url: string): Promise<ServiceHealth> {
    const started = this.views.now().getTime();
    const latency = () => Math.max(0, this.views.now().getTime() - started);
    try {
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(this.views.serviceTimeoutMs) });
      const text = await response.text();
      let detail: unknown = text;
      try {
        detail = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { name, url, ready: response.status === 200, status: response.status, detail, latencyMs: latency() };
    } catch (error) {
      const e = error as Error;
      const why = e.name === 'TimeoutError' ? `no answer within ${this.views.serviceTimeoutMs} ms` : ((e.cause as Error | undefined)?.message ?? e.message);
      return { name, url, ready: false, status: null, detail: why, latencyMs: latency() };
    }
  }
}
