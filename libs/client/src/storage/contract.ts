// The Storage contract (see the Storage interface and the package README) as one suite run against every driver:
// MemoryStorage and FileStorage under node:test, IndexedDbStorage inside headless Chromium (bundled with esbuild and
// run in a page, each case reported back to a node:test test of the same name). It imports nothing but the Storage
// type, and asserts with its own small helpers, so it runs wherever the storage does.
import type { Storage } from './storage';

/** How the suite gets a storage of the driver under test. */
export interface StorageDriver {
  /** A new, empty storage. */
  create(): Promise<Storage>;
  /**
   * The same storage again, as a restarted app gets it: `previous` was closed (when it has `close`) after its
   * puts resolved. MemoryStorage hands back the same instance.
   */
  reopen(previous: Storage): Promise<Storage>;
}

export interface ContractCase {
  name: string;
  run(driver: StorageDriver): Promise<void>;
}

class ContractFailure extends Error {
  override readonly name = 'ContractFailure';
}

export function equal(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new ContractFailure(`${what}: expected ${e.length > 300 ? `${e.slice(0, 300)}…` : e}, got ${a.length > 300 ? `${a.slice(0, 300)}…` : a}`);
}

export function ok(condition: boolean, what: string): void {
  if (!condition) throw new ContractFailure(what);
}

async function rejectsWith(promise: () => Promise<unknown>, type: new (...args: never[]) => Error, what: string): Promise<void> {
  let error: unknown;
  try {
    await promise();
  } catch (caught) {
    error = caught;
  }
  ok(error instanceof type, `${what}: expected a ${type.name}, got ${error === undefined ? 'success' : String(error)}`);
}

async function closed(storage: Storage, driver: StorageDriver): Promise<Storage> {
  await storage.close?.();
  return driver.reopen(storage);
}

/** Every kind of key character, in UTF-16 code-unit order (- . / 0-9 : A-Z _ a-z); no two differ only in case (FileStorage on a case-insensitive file system). */
const ORDERED_KEYS = ['k-', 'k.', 'k/', 'k/0', 'k0', 'k9', 'k:', 'kA', 'kM', 'k_', 'kb', 'kz'];

export const STORAGE_CONTRACT: readonly ContractCase[] = [
  {
    name: 'puts, gets, overwrites and deletes; a missing key reads undefined and deletes fine',
    async run(driver) {
      const s = await driver.create();
      equal(await s.get('meta'), undefined, 'a missing key');
      await s.put('meta', '{"a":1}');
      equal(await s.get('meta'), '{"a":1}', 'after put');
      await s.put('meta', 'second, with ünïcode ✓ and a surrogate pair 😀');
      equal(await s.get('meta'), 'second, with ünïcode ✓ and a surrogate pair 😀', 'after overwrite');
      await s.put('empty', '');
      equal(await s.get('empty'), '', 'an empty value is a value');
      await s.delete('meta');
      equal(await s.get('meta'), undefined, 'after delete');
      await s.delete('meta');
      await s.delete('never-there');
      await s.close?.();
    },
  },
  {
    name: 'lists keys by prefix, sorted by UTF-16 code unit',
    async run(driver) {
      const s = await driver.create();
      const keys = ['outbox/0000000000000010', 'outbox/0000000000000002', 'quarantine/0000000000000001', 'outbox:x', 'meta', 'pull', ...[...ORDERED_KEYS].reverse()];
      for (const key of keys) await s.put(key, key);
      equal(await s.list('outbox/'), ['outbox/0000000000000002', 'outbox/0000000000000010'], 'list(outbox/)');
      equal(await s.list('outbox'), ['outbox/0000000000000002', 'outbox/0000000000000010', 'outbox:x'], 'list(outbox)');
      equal(await s.list('k'), ORDERED_KEYS, 'code-unit order of every key character');
      equal(await s.list(''), [...keys].sort(), 'list of everything');
      equal(await s.list('nothing/'), [], 'an empty prefix match');
      await s.delete('pull');
      ok(!(await s.list('')).includes('pull'), 'a deleted key is not listed');
      await s.close?.();
    },
  },
  {
    name: 'refuses keys outside the key alphabet with a RangeError',
    async run(driver) {
      const s = await driver.create();
      for (const key of ['', '.lock', 'a b', 'x\\y', 'é', 'k'.repeat(201)]) {
        await rejectsWith(() => s.put(key, 'v'), RangeError, `put(${JSON.stringify(key).slice(0, 20)})`);
        await rejectsWith(() => s.get(key), RangeError, `get(${JSON.stringify(key).slice(0, 20)})`);
      }
      await s.put('k'.repeat(200), 'longest key');
      equal(await s.get('k'.repeat(200)), 'longest key', 'a 200-character key');
      await s.close?.();
    },
  },
  {
    name: 'keeps large values whole (1 MiB)',
    async run(driver) {
      const s = await driver.create();
      const value = JSON.stringify({ pad: 'x'.repeat(1024 * 1024), end: 'é✓' });
      await s.put('outbox/0000000000000001', value);
      equal((await s.get('outbox/0000000000000001'))?.length, value.length, 'length read back');
      ok((await s.get('outbox/0000000000000001')) === value, 'the same value read back');
      await s.close?.();
    },
  },
  {
    name: 'never shows a partial value while puts of one key race (atomic put)',
    async run(driver) {
      const s = await driver.create();
      const values = Array.from({ length: 20 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(10_000 + i) }));
      const reads: Promise<void>[] = [];
      await Promise.all(
        values.map(async (value) => {
          reads.push(s.get('meta').then((read) => ok(read === undefined || values.includes(read), 'a whole value or none, while a put runs')));
          await s.put('meta', value);
          reads.push(s.get('meta').then((read) => ok(read !== undefined && values.includes(read), 'a whole value, never a torn one')));
        }),
      );
      await Promise.all(reads);
      ok(values.includes((await s.get('meta'))!), 'one of the values won');
      await s.close?.();
    },
  },
  {
    name: 'resolved puts and deletes are there after the storage is closed and opened again, in order',
    async run(driver) {
      const s = await driver.create();
      for (let seq = 1; seq <= 50; seq++) await s.put(`outbox/${String(seq).padStart(16, '0')}`, JSON.stringify({ seq }));
      await s.put('meta', JSON.stringify({ lastSeq: 50 }));
      await s.delete(`outbox/${String(1).padStart(16, '0')}`);
      const again = await closed(s, driver);
      equal(await again.get('meta'), JSON.stringify({ lastSeq: 50 }), 'the commit record');
      const listed = await again.list('outbox/');
      equal(listed.length, 49, 'events after reopen');
      equal(listed[0], `outbox/${String(2).padStart(16, '0')}`, 'first event after reopen');
      for (const key of listed) equal(JSON.parse((await again.get(key))!), { seq: Number(key.slice('outbox/'.length)) }, key);
      await again.close?.();
    },
  },
  {
    name: 'concurrent puts of many keys all land, and list shows each whole',
    async run(driver) {
      const s = await driver.create();
      const keys = Array.from({ length: 100 }, (_, i) => `outbox/${String(i + 1).padStart(16, '0')}`);
      const listing = s.list('outbox/');
      await Promise.all(keys.map((key) => s.put(key, `{"v":1,"key":"${key}"}`)));
      for (const key of await listing) equal(await s.get(key), `{"v":1,"key":"${key}"}`, `${key} listed while puts ran`);
      equal(await s.list('outbox/'), keys, 'every key listed, in order');
      await s.close?.();
    },
  },
];

/**
 * Declares every case of the contract with a test function (`it` of node:test, or a browser page's runner).
 * `name` prefixes nothing: the caller's describe names the driver.
 */
export function storageContract(driver: StorageDriver, test: (name: string, body: () => Promise<void>) => void): void {
  for (const contractCase of STORAGE_CONTRACT) test(contractCase.name, () => contractCase.run(driver));
}
