import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBlobCache, type BlobCache } from './blob-cache';
import { AssetCache, planEviction } from './cache-policy';
import { FileBlobCache } from './file-blob-cache';
import { blobCacheContract } from './blob-cache-contract';

const key = (n: number) => n.toString(16).padStart(64, '0');
const bytes = (size: number, fill = 1) => new Blob([new Uint8Array(size).fill(fill)]);

// The contract every BlobCache keeps (blob-cache-contract.ts), run against each driver of Node; IndexedDbBlobCache runs
// the same cases in Chromium (storage/indexeddb-storage.int.spec.ts).
describe('BlobCache contract: MemoryBlobCache', () => {
  blobCacheContract({ create: async () => new MemoryBlobCache() }, it);
});
describe('BlobCache contract: FileBlobCache', () => {
  const dirs: string[] = [];
  after(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });
  blobCacheContract(
    {
      create: async () => {
        const dir = await mkdtemp(join(tmpdir(), 'tidemark-blob-contract-'));
        dirs.push(dir);
        return FileBlobCache.open(dir);
      },
      reopen: (previous) => FileBlobCache.open((previous as FileBlobCache).dir),
    },
    it,
  );
});

describe('planEviction', () => {
  const entries = [
    { key: 'a', size: 40, usedAt: 3 },
    { key: 'b', size: 30, usedAt: 1 },
    { key: 'c', size: 20, usedAt: 2 },
    { key: 'd', size: 10, usedAt: 2 },
  ];

  it('evicts least recently used first (ties by key), no more than needed', () => {
    assert.deepEqual(
      planEviction(entries, () => false, 100, 0),
      [],
    );
    assert.deepEqual(
      planEviction(entries, () => false, 100, 1),
      ['b'],
    );
    assert.deepEqual(
      planEviction(entries, () => false, 100, 31),
      ['b', 'c'],
    );
    assert.deepEqual(
      planEviction(entries, () => false, 50, 0),
      ['b', 'c'],
    );
    assert.deepEqual(
      planEviction(entries, () => false, 45, 0),
      ['b', 'c', 'd'],
    );
  });

  it('never plans a pinned entry, even when pins alone exceed the cap', () => {
    assert.deepEqual(
      planEviction(entries, (k) => k === 'b', 100, 1),
      ['c'],
    );
    assert.deepEqual(
      planEviction(entries, (k) => k === 'a' || k === 'b', 10, 0),
      ['c', 'd'],
    );
  });
});

describe('AssetCache', () => {
  let clock = 1_000;
  const open = (store: BlobCache, maxBytes: number) => AssetCache.open(store, { maxBytes, now: () => clock });

  it('keeps the total under the cap by evicting the least recently used; a get is a use', async () => {
    const cache = await open(new MemoryBlobCache(), 100);
    for (const n of [1, 2, 3]) assert.equal(await cache.put(key(n), bytes(30)), true);
    assert.ok(await cache.get(key(1)), 'a hit');
    assert.equal(await cache.get(key(9)), undefined, 'a miss');
    await cache.put(key(4), bytes(30)); // 120 > 100: the least recently used (2) goes, not 1 which was just read
    assert.deepEqual(cache.keysByUse(), [key(3), key(1), key(4)]);
    assert.equal(await cache.get(key(2)), undefined);
    assert.deepEqual(cache.stats(), { entries: 3, bytes: 90, pinnedBytes: 0, maxBytes: 100, hits: 1, misses: 2, evictions: 1 });
  });

  it('orders uses even when the wall clock stands still or goes back', async () => {
    clock = 5_000;
    const cache = await open(new MemoryBlobCache(), 50);
    await cache.put(key(1), bytes(20));
    clock = 4_000;
    await cache.put(key(2), bytes(20));
    await cache.put(key(3), bytes(20));
    assert.deepEqual(cache.keysByUse(), [key(2), key(3)], 'the first put is the oldest use, whatever the clock said');
  });

  it('never evicts pinned entries; unpinning lets the cap apply again', async () => {
    const cache = await open(new MemoryBlobCache(), 100);
    await cache.put(key(1), bytes(60), 'upload');
    cache.pin(key(2), 'app');
    await cache.put(key(2), bytes(30));
    assert.equal(await cache.put(key(3), bytes(30)), false, '90 pinned + 30 > 100: not kept');
    assert.deepEqual(cache.keysByUse(), [key(1), key(2)]);
    assert.equal(await cache.put(key(4), bytes(80), 'upload'), true, 'a pinned entry is kept over the cap');
    assert.deepEqual(cache.stats().bytes, 170);
    await cache.unpin(key(1), 'upload');
    assert.deepEqual(cache.keysByUse(), [key(2), key(4)], 'unpinned and over the cap: evicted');
    await cache.unpin(key(2), 'upload'); // another reason than the one holding it: still pinned by the app
    assert.ok(cache.isPinned(key(2)));
  });

  it('does not keep an unpinned entry larger than the whole cap (and evicts nothing for it)', async () => {
    const cache = await open(new MemoryBlobCache(), 100);
    await cache.put(key(1), bytes(50));
    assert.equal(await cache.put(key(2), bytes(101)), false);
    assert.deepEqual(cache.keysByUse(), [key(1)]);
    cache.pin(key(1), 'app');
    assert.equal(await cache.put(key(3), bytes(60)), false, 'does not fit beside the pinned 50');
    assert.equal(await cache.put(key(3), bytes(50)), true);
  });

  it('FileBlobCache: eviction order, sizes and use times survive a reopen; temp files of a crash are removed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tidemark-blobs-'));
    try {
      clock = 10_000;
      const first = await open(await FileBlobCache.open(dir), 100);
      for (const n of [1, 2, 3]) {
        clock += 1_000;
        await first.put(key(n), bytes(30, n));
      }
      clock += 1_000;
      await first.get(key(1));
      await writeFile(join(dir, `.tmp-${key(7)}-abc`), 'torn');
      const again = await open(await FileBlobCache.open(dir), 100);
      assert.deepEqual(again.keysByUse(), [key(2), key(3), key(1)]);
      assert.deepEqual(new Uint8Array(await (await again.get(key(3)))!.arrayBuffer()), new Uint8Array(30).fill(3));
      clock += 1_000;
      await again.put(key(4), bytes(30));
      assert.deepEqual((await readdir(dir)).sort(), [key(1), key(3), key(4)].sort(), 'the least recently used file was deleted, the temp file too');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
