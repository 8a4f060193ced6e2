import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidEventError, StorageFormatError } from '../errors';
import { FileStorage } from '../storage/file-storage';
import { MemoryStorage, type Storage } from '../storage/storage';
import { META_KEY, OUTBOX_PREFIX, Outbox, QUARANTINE_PREFIX, seqKey, type EventDraft } from './outbox';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tidemark-client-outbox-'));
  dirs.push(dir);
  return dir;
}

function draft(id: string, label: string): EventDraft & { baseVersion: number; schemaVersion: number } {
  return { entity: { type: 'annotation', id }, op: 'upsert', fields: { label: { op: 'set', value: label } }, baseVersion: 0, schemaVersion: 1 };
}

const open = (storage: Storage, wall: () => number = () => 1_764_000_000_000, deviceId?: string) =>
  Outbox.open(storage, { workspace: 'default', wallClock: wall, newId: randomUUID, ...(deviceId ? { deviceId } : {}) });

describe('Outbox', () => {
  it('persists each event before append resolves, and a reopened outbox continues device, sequence and clock', async () => {
    const dir = await tempDir();
    let wall = 1_764_000_000_000;
    const storage = await FileStorage.open(dir);
    const outbox = await open(storage, () => wall, 'laptop-1');
    const [e1] = await outbox.append([draft('a', 'cat')]);
    const [e2, e3] = await outbox.append([draft('b', 'dog'), draft('a', 'lynx')]);
    assert.deepEqual([e1!.deviceSeq, e2!.deviceSeq, e3!.deviceSeq], [1, 2, 3]);
    assert.equal(e1!.deviceId, 'laptop-1');
    // The files are there as soon as append resolved: the record of each event, then the commit (meta).
    assert.deepEqual((await readdir(dir)).filter((n) => !n.startsWith('.')).sort(), ['meta', 'outbox%2F0000000000000001', 'outbox%2F0000000000000002', 'outbox%2F0000000000000003']);
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'outbox%2F0000000000000002'), 'utf8')), { v: 1, event: e2 });
    await storage.close(); // (a crash would leave the same files: every put was already durable)

    wall -= 3_600_000; // the wall clock went back an hour while the app was closed
    const reopened = await open(await FileStorage.open(dir), () => wall);
    assert.equal(reopened.deviceId, 'laptop-1');
    assert.deepEqual(
      reopened.pending().map((p) => p.event),
      [e1, e2, e3],
      'same events, same ids, in sequence order',
    );
    const [e4] = await reopened.append([draft('c', 'owl')]);
    assert.equal(e4!.deviceSeq, 4);
    assert.ok(e4!.hlc.wall > e3!.hlc.wall || (e4!.hlc.wall === e3!.hlc.wall && e4!.hlc.counter > e3!.hlc.counter), 'the clock continues after the last stamp');
  });

  it('acknowledged events leave the outbox and stay gone after a reopen; the sequence does not reuse their numbers', async () => {
    const storage = new MemoryStorage();
    const outbox = await open(storage);
    const events = await outbox.append([draft('a', '1'), draft('b', '2'), draft('c', '3')]);
    await outbox.acknowledge([events[0]!.eventId, events[2]!.eventId]);
    assert.deepEqual(
      outbox.pending().map((p) => p.event.deviceSeq),
      [2],
    );
    const reopened = await open(storage);
    assert.deepEqual(
      reopened.pending().map((p) => p.event.eventId),
      [events[1]!.eventId],
    );
    assert.equal((await reopened.append([draft('d', '4')]))[0]!.deviceSeq, 4);
  });

  it('an append that crashed before its commit leaves nothing: no event, no gap in the sequence', async () => {
    const storage = new MemoryStorage();
    const outbox = await open(storage);
    await outbox.append([draft('a', '1')]);
    // Simulate the crash: records 2 and 3 were written, the meta (commit) was not.
    const meta = await storage.get(META_KEY);
    const crashing = await open(storage);
    await crashing.append([draft('b', '2'), draft('c', '3')]);
    await storage.put(META_KEY, meta!);
    const reopened = await open(storage);
    assert.deepEqual(
      reopened.pending().map((p) => p.event.deviceSeq),
      [1],
    );
    assert.deepEqual(await storage.list(OUTBOX_PREFIX), [seqKey(OUTBOX_PREFIX, 1)], 'uncommitted records are deleted');
    assert.equal((await reopened.append([draft('b', '2')]))[0]!.deviceSeq, 2);
  });

  it('quarantine keeps refused events out of the outbox, across a reopen, until discarded', async () => {
    const storage = new MemoryStorage();
    const outbox = await open(storage);
    const [a, b] = await outbox.append([draft('a', '1'), draft('b', '2')]);
    await outbox.quarantine([{ event: a!, kind: 'invalid', reason: 'unknown field', status: 400 }], 42);
    assert.deepEqual(
      outbox.pending().map((p) => p.event.eventId),
      [b!.eventId],
    );
    // A crash between writing the quarantine record and deleting the outbox record: the reopen finishes it.
    await storage.put(seqKey(OUTBOX_PREFIX, 1), JSON.stringify({ v: 1, event: a }));
    const reopened = await open(storage);
    assert.deepEqual(
      reopened.pending().map((p) => p.event.eventId),
      [b!.eventId],
    );
    assert.deepEqual(await reopened.quarantined(), [{ event: a, kind: 'invalid', reason: 'unknown field', status: 400, at: 42 }]);
    assert.equal(await reopened.discardQuarantined([a!.eventId]), 1);
    assert.deepEqual(await storage.list(QUARANTINE_PREFIX), []);
  });

  it('refuses an event the server could never accept, storing nothing and using no sequence number', async () => {
    const storage = new MemoryStorage();
    const outbox = await open(storage);
    await assert.rejects(
      outbox.append([{ ...draft('a', 'x'), entity: { type: 'Bad Type', id: 'a' } }]),
      (error: unknown) => error instanceof InvalidEventError && error.errors[0]!.pointer === '/entity/type',
    );
    await assert.rejects(outbox.append([draft('a', 'x'.repeat(70_000))]), InvalidEventError);
    await assert.rejects(outbox.append([{ entity: { type: 'job', id: 'j' }, op: 'transition', baseVersion: 0, schemaVersion: 1 }]), /\/job is required/);
    await assert.rejects(outbox.append([draft('ok', 'fine'), { ...draft('b', 'x'), fields: {} }]), /\/1\/fields an upsert needs/);
    assert.deepEqual(await storage.list(OUTBOX_PREFIX), []);
    assert.equal((await outbox.append([draft('a', 'fine')]))[0]!.deviceSeq, 1);
  });

  it('serialises concurrent appends into one gapless sequence', async () => {
    const outbox = await open(new MemoryStorage());
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => outbox.append([draft(`e${i}`, String(i))])));
    assert.deepEqual(
      results.map((r) => r[0]!.deviceSeq).sort((x, y) => x - y),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      outbox.pending().map((p) => p.event.deviceSeq),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
  });

  it('a storage belongs to one device and one workspace', async () => {
    const storage = new MemoryStorage();
    await open(storage, undefined, 'dev-1');
    await assert.rejects(open(storage, undefined, 'dev-2'), StorageFormatError);
    await assert.rejects(Outbox.open(storage, { workspace: 'other', wallClock: Date.now, newId: randomUUID }), StorageFormatError);
    await storage.put(META_KEY, '{"v":1,"devi');
    await assert.rejects(open(storage), StorageFormatError);
  });
});
