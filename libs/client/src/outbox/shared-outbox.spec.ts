// An outbox shared by several tabs (tabs: 'auto'): each tab has its own Outbox over one storage, and appends run
// holding a lock of the device. Here the tabs are Outbox instances over one MemoryStorage and the lock is a promise
// chain standing in for the Web Lock (the real one is exercised in Chromium: indexeddb-storage.int.spec.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { TokenKeeper, type DeviceCredentials } from '../auth/token-keeper';
import { TidemarkClient } from '../client';
import { compareHlc } from '../clock/hybrid-clock';
import { MemoryStorage, type Storage } from '../storage/storage';
import { OUTBOX_PREFIX, Outbox, seqKey, type EventDraft, type Exclusive } from './outbox';

function draft(id: string): EventDraft & { baseVersion: number; schemaVersion: number } {
  return { entity: { type: 'annotation', id }, op: 'upsert', fields: { label: { op: 'set', value: id } }, baseVersion: 0, schemaVersion: 1 };
}

/** One lock shared by the "tabs": work runs one at a time, in the order asked. */
function lock(): Exclusive {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>) => {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** A storage whose every operation yields to others first, so tabs interleave as they would over IndexedDB. */
function slow(storage: Storage): Storage {
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    get: async (k) => (await tick(), storage.get(k)),
    put: async (k, v) => (await tick(), storage.put(k, v)),
    delete: async (k) => (await tick(), storage.delete(k)),
    list: async (p) => (await tick(), storage.list(p)),
  };
}

const tab = (storage: Storage, exclusive?: Exclusive, wall = () => 1_764_000_000_000) =>
  Outbox.open(storage, { workspace: 'default', deviceId: 'shared', wallClock: wall, newId: randomUUID, ...(exclusive ? { exclusive } : {}) });

describe('Outbox shared by tabs', () => {
  it('appends from three tabs under the device lock hand out each sequence number once, with stamps in order', async () => {
    const storage = slow(new MemoryStorage());
    const exclusive = lock();
    const tabs = await Promise.all([tab(storage, exclusive), tab(storage, exclusive), tab(storage, exclusive)]);
    const events = (await Promise.all(tabs.flatMap((outbox, t) => Array.from({ length: 10 }, (_, i) => outbox.append([draft(`t${t}-${i}`), draft(`t${t}-${i}b`)]))))).flat();
    const bySeq = [...events].sort((a, b) => a.deviceSeq - b.deviceSeq);
    assert.deepEqual(
      bySeq.map((e) => e.deviceSeq),
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
    for (let i = 1; i < bySeq.length; i++) assert.ok(compareHlc(bySeq[i - 1]!.hlc, bySeq[i]!.hlc) < 0, `stamp of ${i + 1} after stamp of ${i}`);
    assert.equal((await storage.list(OUTBOX_PREFIX)).length, 60);
  });

  it('without the lock two tabs would hand out one sequence number twice (what the lock is for)', async () => {
    const storage = slow(new MemoryStorage());
    const [a, b] = await Promise.all([tab(storage), tab(storage)]);
    const [[ea], [eb]] = await Promise.all([a.append([draft('x')]), b.append([draft('y')])]);
    assert.equal(ea!.deviceSeq, eb!.deviceSeq);
  });

  it("refresh takes the other tabs' committed events, in sequence order, and drops those the syncing tab acknowledged", async () => {
    const storage = slow(new MemoryStorage());
    const exclusive = lock();
    const leader = await tab(storage, exclusive);
    const other = await tab(storage, exclusive);
    await leader.append([draft('a')]);
    await other.append([draft('b'), draft('c')]);
    await leader.append([draft('d')]);
    // the leader already took b and c when it appended d (it re-reads meta and the records under the lock)
    assert.deepEqual(
      leader.pending().map((e) => [e.event.deviceSeq, e.event.entity.id]),
      [
        [1, 'a'],
        [2, 'b'],
        [3, 'c'],
        [4, 'd'],
      ],
    );
    assert.deepEqual(
      other.pending().map((e) => e.event.deviceSeq),
      [1, 2, 3],
      'the other tab took a when it appended b and c',
    );
    await other.refresh();
    assert.deepEqual(
      other.pending().map((e) => e.event.deviceSeq),
      [1, 2, 3, 4],
      'refresh adds what the other tab appended',
    );
    assert.equal(other.lastSeq, 4);
    await leader.acknowledge(
      leader
        .pending()
        .slice(0, 3)
        .map((e) => e.event.eventId),
    );
    await other.refresh();
    assert.deepEqual(
      other.pending().map((e) => e.event.deviceSeq),
      [4],
      'refresh drops what the leader acknowledged',
    );
    // an append in progress in another tab (records written, meta not yet) is not taken
    await storage.put(seqKey(OUTBOX_PREFIX, 5), JSON.stringify({ v: 1, event: { ...leader.pending()[0]!.event, deviceSeq: 5, eventId: randomUUID() } }));
    await leader.refresh();
    assert.deepEqual(
      leader.pending().map((e) => e.event.deviceSeq),
      [4],
    );
  });

  it('a tab that opens runs crash recovery under the lock, so it never deletes the records of an append in flight elsewhere', async () => {
    const storage = slow(new MemoryStorage());
    const exclusive = lock();
    const first = await tab(storage, exclusive);
    const appending = first.append(Array.from({ length: 20 }, (_, i) => draft(`e${i}`)));
    const second = await tab(storage, exclusive); // asks for the lock while the append holds it
    await appending;
    await second.refresh();
    assert.equal((await storage.list(OUTBOX_PREFIX)).length, 20);
    assert.equal(second.pending().length, 20);
  });
});

describe('TokenKeeper shared by tabs', () => {
  const creds = (n: number): DeviceCredentials =>
    ({
      workspace: 'default',
      deviceId: 'shared',
      accessToken: `access-${n}`,
      refreshToken: `refresh-${n}`,
      accessTokenExpiresAt: `2026-01-0${n}T00:00:00Z`,
      refreshTokenExpiresAt: '2027-01-01T00:00:00Z',
    }) as DeviceCredentials;

  it('a refresh finds the pair another tab rotated and spends no token; only one tab calls the server', async () => {
    const storage = new MemoryStorage();
    const exclusive = lock();
    const a = (await TokenKeeper.open(storage, creds(1)))!;
    const b = (await TokenKeeper.open(storage))!;
    a.exclusive = exclusive;
    b.exclusive = exclusive;
    const spent: string[] = [];
    const call = async (refreshToken: string) => {
      spent.push(refreshToken);
      return creds(2);
    };
    await Promise.all([a.refresh(call, AbortSignal.timeout(1000)), b.refresh(call, AbortSignal.timeout(1000))]);
    assert.deepEqual(spent, ['refresh-1'], 'refresh-1 was spent once');
    assert.equal(a.authorization(), 'Bearer access-2');
    assert.equal(b.authorization(), 'Bearer access-2');
  });
});

describe("tabs: 'auto' outside a browser", () => {
  it('does nothing in Node (no Web Locks): a storage without a name opens, enqueues and starts as with one client', async () => {
    const client = await TidemarkClient.open({
      baseUrl: 'http://127.0.0.1:9',
      storage: new MemoryStorage(),
      workspace: 'default',
      deviceId: 'node-1',
      tabs: 'auto',
      fetch: () => Promise.reject(new TypeError('offline')),
      retry: { maxAttempts: 1 },
    });
    const event = await client.upsert('annotation', 'a', { label: 'x' });
    assert.equal(event.deviceSeq, 1);
    const failed = new Promise<Error>((resolve) => client.on('error', resolve));
    client.start({ intervalMs: 60_000 }); // runs here (no leader to wait for): its first push fails offline
    assert.ok((await failed) instanceof Error);
    await client.close();
  });
});
