import { SHA256_HEX } from './sha256';

/** One entry of a {@link BlobCache}: its key (a sha256), size in bytes and when it was last used. */
export interface BlobEntry {
  key: string;
  size: number;
  /** Milliseconds since the epoch, as last given to `put` or `touch`. */
  usedAt: number;
}

/**
 * Byte storage for the asset cache: the binary counterpart of the key-value `Storage`. Keys are sha256s
 * (64 lower-case hex digits), values immutable bytes. The cache policy (size cap, least-recently-used
 * eviction, pins) lives above it in {@link AssetCache}; an implementation only stores.
 *
 * The contract every implementation keeps (`cache-policy.spec.ts` drives the memory and file stores through the policy):
 * - **atomic put**: after a crash during `put`, the key holds the old bytes or the new ones, or nothing —
 *   never a prefix;
 * - **durable put** where the platform can promise it: once `put` resolves the bytes survive a crash (an
 *   upload waiting in the outbox of assets is read back from here after a restart);
 * - `touch` records a use for eviction order; it may be lost in a crash (it only changes which entry goes first);
 * - `delete` of a missing key succeeds; `entries()` lists every complete entry.
 *
 * Keys that are not a sha256 are refused with a `RangeError` ({@link checkBlobKey}). The contract suite
 * (`blob-cache-contract.ts`) runs against every implementation: {@link MemoryBlobCache} and `IndexedDbBlobCache`
 * (browser entry), `FileBlobCache` (`@tidemark/client/node`: one file per entry, its mtime the use time).
 */
export interface BlobCache {
  get(key: string): Promise<Blob | undefined>;
  put(key: string, bytes: Blob, usedAt: number): Promise<void>;
  delete(key: string): Promise<void>;
  touch(key: string, usedAt: number): Promise<void>;
  entries(): Promise<BlobEntry[]>;
  close?(): Promise<void>;
}

/** A {@link BlobCache} in memory: for tests and pages that keep nothing; hand one instance to a second client to simulate a restart. */
export class MemoryBlobCache implements BlobCache {
  private readonly items = new Map<string, { blob: Blob; usedAt: number }>();

  async get(key: string): Promise<Blob | undefined> {
    return this.items.get(checkBlobKey(key))?.blob;
  }

  async put(key: string, bytes: Blob, usedAt: number): Promise<void> {
    this.items.set(checkBlobKey(key), { blob: bytes, usedAt });
  }

  async delete(key: string): Promise<void> {
    this.items.delete(checkBlobKey(key));
  }

  async touch(key: string, usedAt: number): Promise<void> {
    const item = this.items.get(checkBlobKey(key));
    if (item) item.usedAt = usedAt;
  }

  async entries(): Promise<BlobEntry[]> {
    return [...this.items].map(([key, item]) => ({ key, size: item.blob.size, usedAt: item.usedAt }));
  }
}

/** `key` when it is a sha256 as 64 lower-case hex digits (every blob cache's key); a `RangeError` otherwise. */
export function checkBlobKey(key: string): string {
  if (!SHA256_HEX.test(key)) throw new RangeError(`invalid blob cache key ${JSON.stringify(key)}: a sha256 as 64 lower-case hex digits`);
  return key;
}
