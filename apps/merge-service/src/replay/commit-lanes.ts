/**
 * Runs commits in lanes (a replay's partitions): each lane's commits one after another, in the order added,
 * and up to `concurrency` commits in hand at once across lanes. `add` waits for a free slot, so the work
 * queued stays bounded. The first failure halts the lot: commits not started are dropped, and `add` and
 * `check` throw it; a commit running when it happens finishes (its transaction is its own).
 */
export class CommitLanes {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  private readonly tails = new Map<string, Promise<void>>();
  private failure: { error: unknown } | undefined;
  private running = 0;
  private busySince = 0;
  private busy = 0;

  constructor(concurrency: number) {
    this.free = Math.max(1, concurrency);
  }

  /** Queues `commit` on `lane` once a slot is free; resolves when it is queued, not when it ran. */
  async add(lane: string, commit: () => Promise<void>): Promise<void> {
    this.check();
    await this.acquire();
    if (this.failure) {
      this.release();
      this.check();
    }
    const previous = this.tails.get(lane) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        if (this.failure) return;
        if (this.running++ === 0) this.busySince = Date.now();
        try {
          await commit();
        } catch (error) {
          this.halt(error);
        } finally {
          if (--this.running === 0) this.busy += Date.now() - this.busySince;
        }
      })
      .finally(() => this.release());
    this.tails.set(lane, next);
  }

  /** Stops every commit not started yet; the first error given is the one reported. */
  halt(error: unknown): void {
    this.failure ??= { error };
  }

  /** Throws the failure that halted the lanes, if one did. */
  check(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Resolves once every commit queued has run or been dropped. */
  async settled(): Promise<void> {
    await Promise.all(this.tails.values());
  }

  /** Milliseconds during which at least one commit was running. */
  busyMs(): number {
    return this.busy + (this.running > 0 ? Date.now() - this.busySince : 0);
  }

  private acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}
