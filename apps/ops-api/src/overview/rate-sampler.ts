import type { SampledRates } from '@tidemark/contracts';
import { RateWindow } from '@tidemark/ops';
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
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly observer: StreamObserver,
    private readonly options: { intervalMs: number; windowMs: number; now: () => Date },
  ) {
    this.window = new RateWindow<Counter>(options.windowMs);
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
        this.window.add({ at: Date.parse(observation.at), values: { ingested: journal.lastSeq, projected } });
      } catch {
        // NATS or Postgres not answering: no sample this time; readiness reports the outage.
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }

  rates(): SampledRates {
    return { ingestPerSecond: this.window.rate('ingested'), projectPerSecond: this.window.rate('projected'), windowSeconds: this.window.spanSeconds(), samples: this.window.size };
  }
}
