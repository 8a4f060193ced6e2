import type { RateHistory, SampledRates } from '@tidemark/contracts';
import { RateWindow, SampleHistory } from '@tidemark/ops';
import { STREAMS } from '@tidemark/messaging';
import type { StreamObserver } from '../streams/observer';

type Counter = 'ingested' | 'projected';

/**
 * Samples the journal and the projection every `intervalMs` into a sliding window held in memory (so
 * each ops-api instance has its own, empty after a restart). Projected messages are the journal's last
 * sequence minus the messages still behind the checkpoints; the sum of checkpoint advances would count
 * every partition's jump over other partitions' sequences, so it is not used.
 */
export class RateSampler {
  private readonly window: RateWindow<Counter>;
  private readonly recent: SampleHistory;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly observer: StreamObserver,
    private readonly options: { intervalMs: number; windowMs: number; historySamples: number; now: () => Date },
  ) {
    this.window = new RateWindow<Counter>(options.windowMs);
    this.recent = new SampleHistory(options.historySamples);
  }

  start(): void {
    if (this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** Takes one sample now (also called by the timer); a failed observation is skipped. */
  async sample(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    this.inFlight = (async () => {
      try {
        const observation = await this.observer.observe();
        const journal = observation.streams.find((s) => s.name === STREAMS.journal);
        if (!journal) return;
        const projected = observation.projection.partitions.length > 0 ? journal.lastSeq - observation.projection.total.messages : 0;
        const at = Date.parse(observation.at);
        this.window.add({ at, values: { ingested: journal.lastSeq, projected } });
        this.recent.add({ at, ingested: journal.lastSeq, projected, lagMessages: observation.projection.total.messages, lagSeconds: observation.projection.total.seconds });
      } catch {
        // NATS or Postgres not answering: no sample this time; readiness reports the outage.
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }

  /** The last samples (a bounded ring buffer) as points for sparklines. */
  history(): RateHistory {
    return { intervalMs: this.options.intervalMs, capacity: this.recent.capacity, points: this.recent.toArray().map((p) => ({ ...p, at: new Date(p.at).toISOString() })) };
  }

  rates(): SampledRates {
    return { ingestPerSecond: this.window.rate('ingested'), projectPerSecond: this.window.rate('projected'), windowSeconds: this.window.spanSeconds(), samples: this.window.size };
  }
}
