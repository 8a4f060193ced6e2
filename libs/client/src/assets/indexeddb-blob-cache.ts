import type { IDBPDatabase } from 'idb' with { 'resolution-mode': 'import' };
import { openStores } from '../storage/idb-database';
import { checkBlobKey, type BlobCache, type BlobEntry } from './blob-cache';
import { SHA256_HEX } from './sha256';

/** The bytes of each entry (key: sha256, value: the Blob). */
const BYTES = 'bytes';
/** Each entry's size and last use (key: sha256, value: `{ size, usedAt }`): what `entries()` and `touch` read and write without touching the bytes. */
const META = 'meta';
const VERSION = 1;
/** Database name prefix: a blob cache named `annotator` lives in the IndexedDB database `tidemark-blobs:annotator`. */
export const BLOB_DATABASE_PREFIX = 'tidemark-blobs:';

type Meta = { size: number; usedAt: number };

/**
 * A {@link BlobCache} for browsers (and Electron renderers, and workers) over IndexedDB: the asset cache's bytes
 * survive a reload, so an upload cut by a reload or a crash resumes from them. One database per name
 * (`tidemark-blobs:<name>`), two object stores keyed by sha256: `bytes` (the Blob, which the browser keeps
 * outside the database's pages) and `meta` (`{ size, usedAt }`).
 *
 * - `put` writes both in one `readwrite` transaction with `{ durability: 'strict' }`, resolved on `complete`:
 *   atomic (both or neither) and durable once resolved.
 * - `touch` updates `meta` alone, relaxed (a lost touch only changes which entry is evicted first).
 * - `entries()` reads `meta` only; `get` reads one Blob.
 *
 * Browsers count the cache against the origin's quota; the {@link AssetCache} above keeps it under its own cap.
 */
export class IndexedDbBlobCache implements BlobCache {
  private closed = false;

  private constructor(
    readonly name: string,
    private readonly db: IDBPDatabase,
  ) {}

  /** Opens (creating it when missing) the blob cache `name`. */
  static async open(name: string): Promise<IndexedDbBlobCache> {
    const opened: { cache?: IndexedDbBlobCache } = {};
    const db = await openStores('blob cache', name, BLOB_DATABASE_PREFIX + name, VERSION, [BYTES, META], () => opened.cache?.shutDown());
    opened.cache = new IndexedDbBlobCache(name, db);
    return opened.cache;
  }

  async get(key: string): Promise<Blob | undefined> {
    this.check(key);
    return (await this.db.get(BYTES, key)) as Blob | undefined;
  }

  async put(key: string, bytes: Blob, usedAt: number): Promise<void> {
    this.check(key);
    const tx = this.db.transaction([BYTES, META], 'readwrite', { durability: 'strict' });
    await Promise.all([tx.objectStore(BYTES).put(bytes, key), tx.objectStore(META).put({ size: bytes.size, usedAt } satisfies Meta, key), tx.done]);
  }

  async delete(key: string): Promise<void> {
    this.check(key);
    const tx = this.db.transaction([BYTES, META], 'readwrite');
    await Promise.all([tx.objectStore(BYTES).delete(key), tx.objectStore(META).delete(key), tx.done]);
  }

  async touch(key: string, usedAt: number): Promise<void> {
    this.check(key);
    const tx = this.db.transaction(META, 'readwrite');
    const meta = (await tx.store.get(key)) as Meta | undefined;
    if (meta) await tx.store.put({ size: meta.size, usedAt } satisfies Meta, key);
    await tx.done;
  }

  async entries(): Promise<BlobEntry[]> {
    this.checkOpen();
    const tx = this.db.transaction(META, 'readonly');
    const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll(), tx.done]);
    return keys.flatMap((key, i) => (typeof key === 'string' && SHA256_HEX.test(key) ? [{ key, size: (values[i] as Meta).size, usedAt: (values[i] as Meta).usedAt }] : []));
  }

  /** Closes the connection (after the transactions in flight). */
  async close(): Promise<void> {
    this.shutDown();
  }

  private shutDown(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private check(key: string): void {
    this.checkOpen();
    checkBlobKey(key);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`IndexedDbBlobCache ${this.name} is closed`);
  }
}
