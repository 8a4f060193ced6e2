import type { BlobCache, BlobEntry } from './blob-cache';

/**
 * Which entries to evict so that `incoming` more bytes fit under `maxBytes`: unpinned entries, least recently
 * used first (ties by key, so the plan is deterministic), and no more than needed. Pinned entries are never
 * planned; when they alone exceed the cap, every unpinned entry goes and the total stays above it.
 */
export function planEviction(entries: readonly BlobEntry[], isPinned: (key: string) => boolean, maxBytes: number, incoming = 0): string[] {
  let total = incoming;
  for (const entry of entries) total += entry.size;
  const victims: string[] = [];
  const candidates = entries.filter((entry) => !isPinned(entry.key)).sort((a, b) => a.usedAt - b.usedAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const entry of candidates) {
    if (total <= maxBytes) break;
    victims.push(entry.key);
    total -= entry.size;
  }
  return victims;
}

/** What the cache holds and has done since it was opened. */
export interface CacheStats {
  entries: number;
  bytes: number;
  pinnedBytes: number;
  maxBytes: number;
  hits: number;
  misses: number;
  evictions: number;
}

/** Why an entry is pinned: an upload waiting for the server (`upload`) or the application's own pin (`app`). */
export type PinReason = 'upload' | 'app';

/**
 * The local asset cache: a {@link BlobCache} under a declared policy — a size cap (`maxBytes`), least-recently
 * used eviction, and pins (bytes an upload still needs, assets the application wants offline) that are never
 * evicted. Every `get` that finds an entry counts as a use. An unpinned entry that does not fit beside the pinned
 * ones (pinned bytes + its size > cap) is not kept, and nothing is evicted for it.
 * Operations run one at a time, so the index (sizes, use times) stays that of the store.
 */
export class AssetCache {
  private readonly pins = new Map<string, Set<PinReason>>();
  private lastUse = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private counters = { hits: 0, misses: 0, evictions: 0 };

  private constructor(
    readonly store: BlobCache,
    readonly maxBytes: number,
    private readonly index: Map<string, BlobEntry>,
    private readonly now: () => number,
  ) {
    for (const entry of index.values()) this.lastUse = Math.max(this.lastUse, entry.usedAt);
  }

  static async open(store: BlobCache, options: { maxBytes: number; now?: () => number }): Promise<AssetCache> {
    if (!(options.maxBytes >= 0)) throw new RangeError(`maxBytes must be a number of bytes ≥ 0, got ${options.maxBytes}`);
    const index = new Map((await store.entries()).map((entry) => [entry.key, entry] as const));
    return new AssetCache(store, options.maxBytes, index, options.now ?? Date.now);
  }

  /** The cached bytes, or undefined; a hit counts as a use. */
  get(key: string): Promise<Blob | undefined> {
    return this.serial(async () => {
      const blob = this.index.has(key) ? await this.store.get(key) : undefined;
      if (!blob) {
        this.index.delete(key);
        this.counters.misses++;
        return undefined;
      }
      this.counters.hits++;
      const usedAt = this.tick();
      this.index.set(key, { key, size: blob.size, usedAt });
      await this.store.touch(key, usedAt);
      return blob;
    });
  }

  /** True when the bytes are cached (not a use). */
  has(key: string): boolean {
    return this.index.has(key);
  }

  /**
   * Keeps bytes (pinned for `pin` when given), evicting least-recently-used unpinned entries to stay under the
   * cap first. Returns false when an unpinned entry cannot fit beside the pinned ones and was not kept.
   */
  put(key: string, bytes: Blob, pin?: PinReason): Promise<boolean> {
    return this.serial(async () => {
      if (pin) this.addPin(key, pin);
      const usedAt = this.tick();
      const known = this.index.get(key);
      if (known) {
        this.index.set(key, { ...known, usedAt });
        await this.store.touch(key, usedAt);
        return true;
      }
      if (!this.isPinned(key) && this.stats().pinnedBytes + bytes.size > this.maxBytes) return false;
      await this.evict(bytes.size);
      await this.store.put(key, bytes, usedAt);
      this.index.set(key, { key, size: bytes.size, usedAt });
      return true;
    });
  }

  /** Pins an entry (cached or to come) so it is never evicted. */
  pin(key: string, reason: PinReason): void {
    this.addPin(key, reason);
  }

  /** Removes one reason an entry is pinned; once none is left it may be evicted (now, if the cache is over its cap). */
  unpin(key: string, reason: PinReason): Promise<void> {
    const reasons = this.pins.get(key);
    reasons?.delete(reason);
    if (reasons?.size === 0) this.pins.delete(key);
    return this.serial(() => this.evict(0));
  }

  isPinned(key: string): boolean {
    return this.pins.has(key);
  }

  /** Removes an entry whatever its pins (bytes found to be wrong). */
  remove(key: string): Promise<void> {
    return this.serial(async () => {
      this.index.delete(key);
      await this.store.delete(key);
    });
  }

  stats(): CacheStats {
    let bytes = 0;
    let pinnedBytes = 0;
    for (const entry of this.index.values()) {
      bytes += entry.size;
      if (this.isPinned(entry.key)) pinnedBytes += entry.size;
    }
    return { entries: this.index.size, bytes, pinnedBytes, maxBytes: this.maxBytes, ...this.counters };
  }

  /** Keys in eviction order (least recently used first), pinned ones included. */
  keysByUse(): string[] {
    return [...this.index.values()].sort((a, b) => a.usedAt - b.usedAt || (a.key < b.key ? -1 : 1)).map((entry) => entry.key);
  }

  private async evict(incoming: number): Promise<void> {
    for (const key of planEviction([...this.index.values()], (k) => this.isPinned(k), this.maxBytes, incoming)) {
      this.index.delete(key);
      await this.store.delete(key);
      this.counters.evictions++;
    }
  }

  private addPin(key: string, reason: PinReason): void {
    const reasons = this.pins.get(key) ?? new Set<PinReason>();
    reasons.add(reason);
    this.pins.set(key, reasons);
  }

  /** A use time after every earlier one, even when the wall clock stands still or goes back. */
  private tick(): number {
    this.lastUse = Math.max(this.now(), this.lastUse + 1);
    return this.lastUse;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
