import type { IDBPDatabase } from 'idb' with { 'resolution-mode': 'import' };
import { openStores } from './idb-database';
import { checkKey, type Storage } from './storage';

/** The object store holding every key of a storage (key: the storage key, value: the string). */
const STORE = 'kv';
const VERSION = 1;
/** Database name prefix: a storage named `device` lives in the IndexedDB database `tidemark:device`. */
export const DATABASE_PREFIX = 'tidemark:';

/**
 * A {@link Storage} for browsers (and Electron renderers, and workers) over IndexedDB, through the `idb` wrapper.
 * **One database per storage name** (`tidemark:<name>`), one object store `kv` keyed by the storage key, the
 * value the string.
 *
 * - `put` is one `readwrite` transaction opened with `{ durability: 'strict' }` (where the browser knows the
 *   option; Chromium's default is `relaxed`, which can lose a committed write on power loss) and resolves on the
 *   transaction's `complete` event, not on the request's `success`: a resolved put is durable. A transaction is
 *   atomic, and transactions on one store commit in the order they were created, so a put that resolved before
 *   another started is durable no later than it.
 * - `list(prefix)` reads the keys of the range `[prefix, prefix + '\uffff']`; IndexedDB orders string keys by
 *   UTF-16 code unit, as the contract asks.
 * - `delete` uses the browser's default durability (a lost delete only re-sends an event).
 *
 * Tabs of one origin may open the same name: IndexedDB serialises their transactions. Sharing one device
 * between tabs needs the client's `tabs: 'auto'` option as well (one tab syncs; appends to the outbox take a
 * cross-tab lock), see the package README.
 */
export class IndexedDbStorage implements Storage {
  private closed = false;

  private constructor(
    /** The storage name (the database is `tidemark:<name>`). */
    readonly name: string,
    private readonly db: IDBPDatabase,
  ) {}

  /** Opens (creating it when missing) the database of storage `name`. */
  static async open(name: string): Promise<IndexedDbStorage> {
    const opened: { storage?: IndexedDbStorage } = {};
    const db = await openStores('storage', name, DATABASE_PREFIX + name, VERSION, [STORE], () => opened.storage?.shutDown());
    opened.storage = new IndexedDbStorage(name, db);
    return opened.storage;
  }

  async get(key: string): Promise<string | undefined> {
    checkKey(key);
    this.checkOpen();
    return (await this.db.get(STORE, key)) as string | undefined;
  }

  async put(key: string, value: string): Promise<void> {
    checkKey(key);
    this.checkOpen();
    if (typeof value !== 'string') throw new TypeError(`storage values are strings; ${key} got ${typeof value}`);
    const tx = this.db.transaction(STORE, 'readwrite', { durability: 'strict' });
    await Promise.all([tx.store.put(value, key), tx.done]);
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    this.checkOpen();
    const tx = this.db.transaction(STORE, 'readwrite');
    await Promise.all([tx.store.delete(key), tx.done]);
  }

  async list(prefix: string): Promise<string[]> {
    this.checkOpen();
    const range = prefix === '' ? undefined : (globalThis as unknown as { IDBKeyRange: { bound(lower: string, upper: string): unknown } }).IDBKeyRange.bound(prefix, `${prefix}\uffff`);
    const keys = (await this.db.getAllKeys(STORE, range as Parameters<IDBPDatabase['getAllKeys']>[1])) as unknown[];
    return keys.filter((key): key is string => typeof key === 'string' && key.startsWith(prefix));
  }

  /** Closes the connection (after the transactions in flight: every resolved put is already durable). */
  async close(): Promise<void> {
    this.shutDown();
  }

  private shutDown(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`IndexedDbStorage ${this.name} is closed`);
  }
}
