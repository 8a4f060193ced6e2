// The BlobCache contract (see the BlobCache interface) as one suite run against every driver: MemoryBlobCache and
// FileBlobCache under node:test, IndexedDbBlobCache inside headless Chromium (bundled and run in a page, each case
// reported back as a node:test test of the same name). Like the Storage contract, it needs nothing but the port.
import { equal, ok } from '../storage/contract';
import type { BlobCache } from './blob-cache';

export interface BlobCacheDriver {
  /** A new, empty cache. */
  create(): Promise<BlobCache>;
  /** The same cache as a restarted app gets it (`previous` was closed when it has `close`); undefined for a cache that keeps nothing across a restart. */
  reopen?(previous: BlobCache): Promise<BlobCache>;
}

export interface BlobCacheCase {
  name: string;
  run(driver: BlobCacheDriver): Promise<void>;
}

const key = (n: number) => n.toString(16).padStart(64, '0');
const blobOf = (size: number, seed: number) => new Blob([Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff)]);
async function bytesOf(blob: Blob | undefined): Promise<number[] | undefined> {
  return blob === undefined ? undefined : Array.from(new Uint8Array(await blob.arrayBuffer()));
}
const byKey = <T extends { key: string }>(list: T[]) => [...list].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

export const BLOB_CACHE_CONTRACT: readonly BlobCacheCase[] = [
  {
    name: 'puts and gets bytes unchanged; a missing key reads undefined; a put replaces',
    async run(driver) {
      const cache = await driver.create();
      equal(await cache.get(key(1)), undefined, 'a missing entry');
      await cache.put(key(1), blobOf(1000, 1), 10);
      equal(await bytesOf(await cache.get(key(1))), await bytesOf(blobOf(1000, 1)), 'the bytes read back');
      await cache.put(key(1), blobOf(3, 2), 20);
      equal(await bytesOf(await cache.get(key(1))), [2, 33, 64], 'the second put replaced the first');
      equal(await cache.entries(), [{ key: key(1), size: 3, usedAt: 20 }], 'one entry, its new size and use');
      await cache.put(key(2), new Blob([]), 30);
      equal(await bytesOf(await cache.get(key(2))), [], 'an empty entry');
      await cache.close?.();
    },
  },
  {
    name: 'lists every entry with its size and last use; touch moves the use; delete removes, and a missing delete or touch succeeds',
    async run(driver) {
      const cache = await driver.create();
      await cache.put(key(1), blobOf(10, 1), 1_000);
      await cache.put(key(2), blobOf(20, 2), 2_000);
      await cache.put(key(3), blobOf(30, 3), 3_000);
      await cache.touch(key(1), 4_000);
      equal(
        byKey(await cache.entries()),
        [
          { key: key(1), size: 10, usedAt: 4_000 },
          { key: key(2), size: 20, usedAt: 2_000 },
          { key: key(3), size: 30, usedAt: 3_000 },
        ],
        'sizes and uses',
      );
      await cache.delete(key(2));
      await cache.delete(key(9));
      await cache.touch(key(9), 5_000);
      equal(await cache.get(key(2)), undefined, 'deleted');
      equal(
        byKey(await cache.entries()).map((e) => e.key),
        [key(1), key(3)],
        'the rest',
      );
      await cache.close?.();
    },
  },
  {
    name: 'keeps resolved puts, touches and deletes across a restart (drivers that keep anything)',
    async run(driver) {
      if (!driver.reopen) return;
      const first = await driver.create();
      await first.put(key(1), blobOf(64 * 1024 + 3, 7), 1_000);
      await first.put(key(2), blobOf(5, 8), 2_000);
      await first.put(key(3), blobOf(6, 9), 3_000);
      await first.delete(key(3));
      await first.touch(key(2), 6_000);
      await first.close?.();
      const again = await driver.reopen(first);
      equal(
        byKey(await again.entries()),
        [
          { key: key(1), size: 64 * 1024 + 3, usedAt: 1_000 },
          { key: key(2), size: 5, usedAt: 6_000 },
        ],
        'the entries after a restart',
      );
      equal(await bytesOf(await again.get(key(1))), await bytesOf(blobOf(64 * 1024 + 3, 7)), 'the bytes after a restart');
      await again.close?.();
    },
  },
  {
    name: 'refuses a key that is not a sha256 (64 lower-case hex digits)',
    async run(driver) {
      const cache = await driver.create();
      for (const bad of ['', 'abc', 'ab'.repeat(32).toUpperCase(), `../${key(1).slice(3)}`]) {
        let refused = false;
        try {
          await cache.put(bad, blobOf(1, 1), 1);
        } catch (error) {
          refused = error instanceof RangeError;
        }
        ok(refused, `a put under ${JSON.stringify(bad)} throws a RangeError`);
      }
      equal(await cache.entries(), [], 'nothing was stored');
      await cache.close?.();
    },
  },
];

/** Registers every contract case as a test of the runner (`it` of node:test). */
export function blobCacheContract(driver: BlobCacheDriver, test: (name: string, body: () => Promise<void>) => void): void {
  for (const c of BLOB_CACHE_CONTRACT) test(c.name, () => c.run(driver));
}
