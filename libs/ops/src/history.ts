import { roundSeconds } from './time';

/** A fixed-capacity ring buffer: the newest `capacity` items, oldest first. */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    if (this.count < this.capacity) {
      this.items[(this.start + this.count) % this.capacity] = item;
      this.count += 1;
    } else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  get size(): number {
    return this.count;
  }

  last(): T | undefined {
    return this.count === 0 ? undefined : this.items[(this.start + this.count - 1) % this.capacity];
  }

  toArray(): T[] {
    return Array.from({ length: this.count }, (_, i) => this.items[(this.start + i) % this.capacity] as T);
  }
}

/** What the sampler observes each time: the journal's last sequence, what is projected, and the backlog. */
export interface ProgressSample {
  /** Epoch milliseconds (the caller's clock). */
  at: number;
  ingested: number;
  projected: number;
  lagMessages: number;
  lagSeconds: number;
}

/** One point of the short history: rates since the previous sample (null for the first) and the backlog then. */
export interface HistoryPoint {
  at: number;
  ingestPerSecond: number | null;
  projectPerSecond: number | null;
  lagMessages: number;
  lagSeconds: number;
}

const stepRate = (before: number, after: number, ms: number): number => Math.round((Math.max(0, after - before) / (ms / 1000)) * 1000) / 1000;

/**
 * The last `capacity` samples as points for sparklines: per-second rates between consecutive samples (a counter
 * that went down adds nothing) and the backlog at each. A sample not later than the previous one is ignored.
 */
export class SampleHistory {
  private readonly points: RingBuffer<HistoryPoint>;
  private previous: ProgressSample | undefined;

  constructor(capacity: number) {
    this.points = new RingBuffer<HistoryPoint>(capacity);
  }

  get capacity(): number {
    return this.points.capacity;
  }

  add(sample: ProgressSample): void {
    const previous = this.previous;
    if (previous && sample.at <= previous.at) return;
    const ms = previous ? sample.at - previous.at : 0;
    this.points.push({
      at: sample.at,
      ingestPerSecond: previous ? stepRate(previous.ingested, sample.ingested, ms) : null,
      projectPerSecond: previous ? stepRate(previous.projected, sample.projected, ms) : null,
      lagMessages: sample.lagMessages,
      lagSeconds: roundSeconds(sample.lagSeconds),
    });
    this.previous = sample;
  }

  toArray(): HistoryPoint[] {
    return this.points.toArray();
  }
}
