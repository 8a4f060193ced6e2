import { roundSeconds } from './time';

/** One observation of monotonic counters (journal last sequence, sum of checkpoints …) at a time. */
export interface Sample<K extends string = string> {
  /** Epoch milliseconds of the observation (an input: the caller's clock). */
  at: number;
  values: Record<K, number>;
}

/**
 * A sliding window of samples and the per-second rates between its oldest and newest sample. Samples
 * older than the window (relative to the newest) are dropped as new ones arrive; a sample earlier than
 * the newest (a clock step back) is ignored.
 */
export class RateWindow<K extends string = string> {
  private readonly samples: Sample<K>[] = [];

  constructor(readonly windowMs: number) {
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be positive, got ${windowMs}`);
  }

  add(sample: Sample<K>): void {
    const newest = this.samples.at(-1);
    if (newest && sample.at <= newest.at) return;
    this.samples.push(sample);
    while (this.samples.length > 2 && this.samples[0]!.at < sample.at - this.windowMs) this.samples.shift();
  }

  get size(): number {
    return this.samples.length;
  }

  /** Seconds covered by the samples held (0 with fewer than two). */
  spanSeconds(): number {
    if (this.samples.length < 2) return 0;
    return roundSeconds((this.samples.at(-1)!.at - this.samples[0]!.at) / 1000);
  }

  /**
   * Per-second rate of one counter over the window, or null with fewer than two samples. A step where the
   * counter went down (a stream re-created, an estimate that dipped) adds nothing: the rate is never negative.
   */
  rate(key: K): number | null {
    if (this.samples.length < 2) return null;
    let increase = 0;
    for (let i = 1; i < this.samples.length; i++) {
      const before = this.samples[i - 1]!.values[key];
      const after = this.samples[i]!.values[key];
      increase += Math.max(0, after - before);
    }
    const seconds = (this.samples.at(-1)!.at - this.samples[0]!.at) / 1000;
    return Math.round((increase / seconds) * 1000) / 1000;
  }
}
