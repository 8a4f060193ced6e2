/**
 * Where a client keeps its device identity, sequence, clock, outbox and pull cursor. A small key-value port
 * so the same client runs on Node ({@link FileStorage}), in tests ({@link MemoryStorage}) or in a browser
 * ({@link IndexedDbStorage}); see the package README for the contract and what each storage promises.
 *
 * Keys are non-empty strings of letters, digits and `/ _ - . :` (the client uses `meta`, `pull`,
 * `outbox/<seq>`, `quarantine/<seq>`). Values are strings (the client stores JSON).
 *
 * The contract every implementation keeps:
 * - **atomic put**: after a crash during `put`, `get` returns either the old value or the new one, never a mix
 *   or a prefix;
 * - **durable put**: once `put` resolves, the value survives a crash of the process (and, for storages that
 *   can promise it, of the machine);
 * - **ordered durability**: a `put` that resolved before another `put` started is durable no later than it
 *   (the client writes an event before the record that commits it);
 * - `delete` of a missing key succeeds; a delete need not be durable when it resolves (a lost delete makes the
 *   client re-send an event, which the server answers `duplicate`);
 * - `list(prefix)` returns the keys that start with `prefix`, sorted by UTF-16 code unit, and never a key whose
 *   `put` has not resolved yet as if it were complete (it may or may not list it).
 */
export interface Storage {
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  list(prefix: string): Promise<string[]>;
  /** Where the data lives, shared by every tab that opens it (IndexedDbStorage); `tabs: 'auto'` coordinates under it. */
  readonly name?: string;
  /** Releases what the storage holds (file locks, handles). Optional. */
  close?(): Promise<void>;
}

const KEY = /^[A-Za-z0-9/_.:-]{1,200}$/;

/** Throws unless `key` is a valid storage key (see {@link Storage}). */
export function checkKey(key: string): void {
  if (!KEY.test(key) || key.startsWith('.')) throw new RangeError(`invalid storage key ${JSON.stringify(key)}: use 1–200 letters, digits and / _ . : - (not starting with '.')`);
}

/**
 * An in-memory storage for tests and short-lived tools. Nothing survives the process, but one instance can be
 * handed to a second client to simulate a restart.
 */
export class MemoryStorage implements Storage {
  private readonly values = new Map<string, string>();

  // async so a bad key rejects (as every Storage does) instead of throwing synchronously
  async get(key: string): Promise<string | undefined> {
    checkKey(key);
    return this.values.get(key);
  }

  async put(key: string, value: string): Promise<void> {
    checkKey(key);
    this.values.set(key, value);
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    this.values.delete(key);
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.values.keys()].filter((key) => key.startsWith(prefix)).sort();
  }
}
