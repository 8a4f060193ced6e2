import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceEvent, FieldChange } from '@tidemark/contracts';
import { TidemarkClient, type ClientOptions } from '../client';
import { MemoryStorage } from '../storage/storage';
import { MergingGateway } from '../test-support/merging-gateway';
import type { Divergence } from './replica';
import type { EntityRead } from './query';

const NO_WAIT = { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1 };

/** A device over a gateway (with the real merge behind it); its wall clock is `clock.wall`. */
async function device(gateway: MergingGateway, deviceId: string, storage = new MemoryStorage(), extra: Partial<ClientOptions> = {}) {
  const clock = { wall: 1_000 };
  let n = 0;
  const client = await TidemarkClient.open({
    baseUrl: 'http://gateway.test',
    storage,
    workspace: 'default',
    deviceId,
    fetch: gateway.fetchFor(deviceId),
    now: () => clock.wall,
    randomUUID: () => `00000000-0000-4000-8000-${deviceId.padStart(6, '0').slice(-6)}${String(++n).padStart(6, '0')}`,
    retry: NO_WAIT,
    ...extra,
  });
  return { client, storage, clock };
}

/** An event of another device, journaled as the gateway would. */
function other(gateway: MergingGateway, seq: number, id: string, fields: Record<string, FieldChange>, extra: Partial<DeviceEvent> = {}): DeviceEvent {
  const event: DeviceEvent = {
    eventId: `00000000-0000-4000-9000-${String(seq).padStart(12, '0')}`,
    deviceId: 'laptop',
    deviceSeq: seq,
    hlc: { wall: 500 + seq, counter: 0 },
    entity: { type: 'annotation', id },
    op: 'upsert',
    baseVersion: 0,
    fields,
    schemaVersion: 1,
    ...extra,
  };
  gateway.journal(event);
  return event;
}

const set = (value: unknown): FieldChange => ({ op: 'set', value });
const pick = (read: EntityRead | undefined) => read && { values: read.values, status: read.status, version: read.version, inConflict: read.inConflict };

describe('local replica: optimistic overlay', () => {
  it('given a pulled entity, when the device writes offline, then reads show its writes merged by the server rules', async () => {
    const gateway = new MergingGateway();
    other(gateway, 1, 'img-1', { label: set('cat'), votes: { op: 'inc', by: 2 }, tags: { op: 'add', values: ['a'] }, confidence: set(0.8) });
    const { client } = await device(gateway, 'tablet');
    await client.pull();
    assert.deepEqual(pick(client.get('annotation', 'img-1')), { values: { confidence: 0.8, label: 'cat', tags: ['a'], votes: 2 }, status: 'applied', version: 1, inConflict: [] });

    gateway.offline = true;
    await client.enqueue({
      entity: { type: 'annotation', id: 'img-1' },
      op: 'upsert',
      fields: { votes: { op: 'inc', by: 1 }, tags: { op: 'add', values: ['b'] }, label: set('dog'), confidence: set(0.5) },
    });
    const read = client.get('annotation', 'img-1')!;
    // counter adds, set adds, review applies (the device saw the latest label), max keeps the higher confidence
    assert.deepEqual(pick(read), { values: { confidence: 0.8, label: 'dog', tags: ['a', 'b'], votes: 3 }, status: 'pending', version: 1, inConflict: [] });
    assert.equal(read.unsettled, 1);
    await client.close();
  });

  it('given no pull at all, a created entity reads back at version 0 and a removed one as deleted', async () => {
    const gateway = new MergingGateway();
    gateway.offline = true;
    const { client } = await device(gateway, 'tablet');
    await client.upsert('annotation', 'new-1', { label: 'cat', assetId: 'a1' });
    await client.upsert('annotation', 'new-2', { label: 'dog' });
    await client.remove('annotation', 'new-2');
    assert.deepEqual(pick(client.get('annotation', 'new-1')), { values: { assetId: 'a1', label: 'cat' }, status: 'pending', version: 0, inConflict: [] });
    assert.equal(client.get('annotation', 'new-2')!.deleted, true);
    assert.deepEqual(
      client.query({ type: 'annotation' }).map((r) => r.id),
      ['new-1'],
    );
    assert.equal(client.get('annotation', 'absent'), undefined);
    await client.close();
  });

  it('a set remove keeps an element it had not observed (add wins) and removes one it had, as the server will', async () => {
    const gateway = new MergingGateway();
    const { client } = await device(gateway, 'tablet');
    // written before this device ever pulled the entity: baseVersion 0
    await client.enqueue({ entity: { type: 'annotation', id: 'img-1' }, op: 'upsert', fields: { tags: { op: 'remove', values: ['a'] } } });
    other(gateway, 1, 'img-1', { tags: { op: 'add', values: ['a', 'b'] } });
    await client.pull();
    assert.deepEqual(client.get('annotation', 'img-1')!.values.tags, ['a', 'b'], 'the remove had not seen the add');
    await client.enqueue({ entity: { type: 'annotation', id: 'img-1' }, op: 'upsert', fields: { tags: { op: 'remove', values: ['b'] } } });
    assert.deepEqual(client.get('annotation', 'img-1')!.values.tags, ['a'], 'this remove had seen it');
    await client.sync();
    await client.pull();
    assert.deepEqual(pick(client.get('annotation', 'img-1')), { values: { tags: ['a'] }, status: 'applied', version: 3, inConflict: [] });
    await client.close();
  });
});

describe('local replica: restart', () => {
  it('given writes pending and acknowledged, when a new client opens the same storage, then it answers the same', async () => {
    const gateway = new MergingGateway();
    other(gateway, 1, 'img-1', { label: set('cat'), votes: { op: 'inc', by: 1 } });
    const first = await device(gateway, 'tablet');
    await first.client.pull();
    await first.client.enqueue({ entity: { type: 'annotation', id: 'img-1' }, op: 'upsert', fields: { votes: { op: 'inc', by: 4 } } });
    gateway.hold = true;
    await first.client.push();
    await first.client.upsert('annotation', 'img-2', { label: 'owl' });
    const before = { one: first.client.get('annotation', 'img-1'), two: first.client.get('annotation', 'img-2'), all: first.client.query({ type: 'annotation', orderBy: '-votes' }) };
    assert.equal(before.one!.status, 'acknowledged');
    assert.equal(before.one!.values.votes, 5);
    assert.equal(before.two!.status, 'pending');
    await first.client.close();

    const second = await device(gateway, 'tablet', first.storage);
    assert.deepEqual(second.client.get('annotation', 'img-1'), before.one);
    assert.deepEqual(second.client.get('annotation', 'img-2'), before.two);
    assert.deepEqual(second.client.query({ type: 'annotation', orderBy: '-votes' }), before.all);

    gateway.hold = false;
    gateway.mergeAll();
    await second.client.sync();
    assert.deepEqual(pick(second.client.get('annotation', 'img-1')), { values: { label: 'cat', votes: 5 }, status: 'applied', version: 2, inConflict: [] });
    assert.deepEqual(pick(second.client.get('annotation', 'img-2')), { values: { label: 'owl' }, status: 'applied', version: 1, inConflict: [] });
    assert.deepEqual(await second.storage.list('replica/w/'), [], 'settled writes leave the storage');
    await second.client.close();
    const third = await device(gateway, 'tablet', first.storage);
    assert.deepEqual(third.client.get('annotation', 'img-1'), second.client.get('annotation', 'img-1'));
    await third.client.close();
  });

  it('stores entities under keys that survive a case-insensitive file system and the key limit', async () => {
    const gateway = new MergingGateway();
    const long = `L${'x'.repeat(127)}`;
    for (const [i, id] of ['Img-1', 'img-1', long, `${long.slice(0, -1)}y`].entries()) other(gateway, i + 1, id, { label: set(id.slice(0, 5)) });
    const { client, storage } = await device(gateway, 'tablet');
    await client.pull();
    const keys = await storage.list('replica/e/');
    assert.equal(keys.length, 4);
    assert.equal(new Set(keys.map((k) => k.toLowerCase())).size, 4, keys.join(', '));
    assert.ok(keys.includes('replica/e/annotation/.img-1') && keys.includes('replica/e/annotation/img-1'), keys.join(', '));
    await client.close();
    const reopened = await device(gateway, 'tablet', storage);
    assert.equal(reopened.client.query({ type: 'annotation' }).length, 4);
    assert.equal(reopened.client.get('annotation', long)!.values.label, 'Lxxxx');
    await reopened.client.close();
  });
  it('stores a page before its cursor: a failed replica write fails the pull, and the page comes again', async () => {
    const gateway = new MergingGateway();
    other(gateway, 1, 'img-1', { label: set('cat') });
    const storage = new MemoryStorage();
    let failing = true;
    const flaky: MemoryStorage = Object.assign(Object.create(storage) as MemoryStorage, {
      put: (key: string, value: string) => (failing && key.startsWith('replica/e/') ? Promise.reject(new Error('disk full')) : storage.put(key, value)),
    });
    const { client } = await device(gateway, 'tablet', flaky);
    await assert.rejects(client.pull(), /disk full/);
    assert.equal(await storage.get('pull'), undefined, 'the cursor did not move');
    failing = false;
    await client.pull();
    assert.ok(await storage.get('pull'));
    await client.close();
    const reopened = await device(gateway, 'tablet', storage);
    assert.equal(reopened.client.get('annotation', 'img-1')!.values.label, 'cat');
    await reopened.client.close();
  });
  it('a receipt pulled before its change keeps the write over the synced state until that version arrives, across a crash', async () => {
    const gateway = new MergingGateway();
    other(gateway, 1, 'img-1', { votes: { op: 'inc', by: 1 } });
    // The app crashes while handling this device's own change (page 2): page 1 — the other device's change and this
    // device's receipt, version 2 — is committed; nothing of page 2 is.
    const crash = (change: { deviceId: string }) => {
      if (change.deviceId === 'tablet') throw new Error('the app crashed');
    };
    // Change pages (not the snapshot): the receipt rides on page 1, this device's change on page 2.
    const first = await device(gateway, 'tablet', new MemoryStorage(), { pullPageSize: 1, onChange: crash, bootstrapFromSnapshot: false });
    await first.client.enqueue({ entity: { type: 'annotation', id: 'img-1' }, op: 'upsert', baseVersion: 1, fields: { votes: { op: 'inc', by: 10 } } });
    await first.client.push();
    await assert.rejects(first.client.pull(), /the app crashed/);
    const [write] = await first.storage.list('replica/w/');
    assert.deepEqual(JSON.parse((await first.storage.get(write!))!).receipt, { status: 'applied', version: 2 }, 'the receipt is kept with the write');
    // no close: the crash leaves only what was stored
    const second = await device(gateway, 'tablet', first.storage, { pullPageSize: 1, bootstrapFromSnapshot: false });
    const before = second.client.get('annotation', 'img-1')!;
    assert.deepEqual({ votes: before.values.votes, status: before.status, version: before.version }, { votes: 11, status: 'acknowledged', version: 1 });
    await second.client.pull();
    const after = second.client.get('annotation', 'img-1')!;
    assert.deepEqual({ votes: after.values.votes, status: after.status, version: after.version }, { votes: 11, status: 'applied', version: 2 }, 'counted once');
    assert.deepEqual(await second.storage.list('replica/w/'), []);
    await second.client.close();
  });
});

describe('local replica: convergence', () => {
  it('given an optimistic write the server merges otherwise, then the replica converges and a diverged event names the fields', async () => {
    const gateway = new MergingGateway();
    other(gateway, 1, 'img-1', { label: set('cat'), assetId: set('a-1') });
    const { client, clock } = await device(gateway, 'tablet');
    const diverged: Divergence[] = [];
    client.on('diverged', (d) => diverged.push(d));
    await client.pull();
    gateway.offline = true;
    clock.wall = 2_000;
    await client.enqueue({ entity: { type: 'annotation', id: 'img-1' }, op: 'upsert', fields: { assetId: set('mine'), votes: { op: 'inc', by: 1 } } });
    await client.enqueue({ entity: { type: 'annotation', id: 'img-1' }, op: 'upsert', baseVersion: 0, fields: { label: set('dog') } });
    assert.deepEqual(client.get('annotation', 'img-1')!.values, { assetId: 'mine', label: 'cat', votes: 1 }, 'the label write based on version 0 is predicted to conflict');
    assert.deepEqual(client.get('annotation', 'img-1')!.inConflict, ['label']);
    // meanwhile another device writes assetId with a later clock: last writer wins on the server
    other(gateway, 2, 'img-1', { assetId: set('theirs') }, { hlc: { wall: 9_000, counter: 0 }, baseVersion: 1 });
    gateway.offline = false;
    await client.sync();
    const read = client.get('annotation', 'img-1')!;
    assert.deepEqual(read.values, { assetId: 'theirs', label: 'cat', votes: 1 });
    assert.equal(read.status, 'conflicted');
    assert.equal(read.conflicts.length, 1);
    assert.equal(read.conflicts[0]!.field, 'label');
    assert.equal(diverged.length, 1);
    assert.deepEqual(diverged[0]!.fields, ['assetId']);
    assert.equal(diverged[0]!.reason, 'merged');
    assert.equal(diverged[0]!.previous.values.assetId, 'mine');
    assert.equal(diverged[0]!.entity!.values.assetId, 'theirs');
    await client.close();
  });

  it('given a write the server refuses for good, then it no longer shows and diverged says rejected', async () => {
    const gateway = new MergingGateway();
    gateway.refuse = (event) => (event.entity.id === 'bad' ? 'not allowed' : undefined);
    const { client } = await device(gateway, 'tablet');
    const diverged: Divergence[] = [];
    client.on('diverged', (d) => diverged.push(d));
    await client.upsert('annotation', 'bad', { label: 'x' });
    assert.equal(client.get('annotation', 'bad')!.status, 'pending');
    await client.push();
    assert.equal(client.get('annotation', 'bad'), undefined);
    assert.equal(diverged.length, 1);
    assert.equal(diverged[0]!.reason, 'rejected');
    assert.equal(diverged[0]!.entity, undefined);
    assert.deepEqual(diverged[0]!.fields, ['$deleted', 'label']);
    await client.close();
  });

  it('delivers a page again without changing anything (at-least-once pull)', async () => {
    const gateway = new MergingGateway();
    other(gateway, 1, 'img-1', { label: set('cat') });
    const { client, storage } = await device(gateway, 'tablet');
    await client.pull();
    const read = client.get('annotation', 'img-1');
    await client.close();
    await storage.put('pull', JSON.stringify({ v: 1, after: undefined, versions: {} }));
    const again = await device(gateway, 'tablet', storage);
    const seen: unknown[] = [];
    again.client.subscribe({ type: 'annotation' }, (reads) => seen.push(reads));
    await again.client.pull();
    assert.deepEqual(again.client.get('annotation', 'img-1'), read);
    assert.deepEqual(seen, [], 'nothing changed, nothing fired');
    await again.client.close();
  });
});

describe('local replica: status and conflicts', () => {
  it('moves pending → acknowledged → applied, and conflicted → applied once resolved through resolve()', async () => {
    const gateway = new MergingGateway();
    const { client } = await device(gateway, 'tablet');
    const seen: string[] = [];
    client.subscribe({ type: 'annotation', id: 'img-1' }, (read) => seen.push(read?.status ?? 'none'));
    await client.upsert('annotation', 'img-1', { label: 'cat' });
    gateway.hold = true;
    await client.push();
    gateway.hold = false;
    gateway.mergeAll();
    await client.pull();
    assert.deepEqual(seen, ['pending', 'acknowledged', 'applied']);

    // another device had not seen the label: a conflict opens on the server
    other(gateway, 1, 'img-1', { label: set('dog') }, { baseVersion: 0 });
    await client.pull();
    const conflicted = client.get('annotation', 'img-1')!;
    assert.equal(conflicted.status, 'conflicted');
    assert.deepEqual(conflicted.inConflict, ['label']);
    assert.equal(conflicted.conflicts[0]!.theirs.value, 'dog');

    gateway.hold = true;
    const answer = await client.resolve(conflicted.conflicts[0]!.id, 'value', 'cow');
    assert.equal(answer.status, 'accepted');
    const resolving = client.get('annotation', 'img-1')!;
    assert.deepEqual(pick(resolving), { values: { label: 'cow' }, status: 'acknowledged', version: 2, inConflict: [] }, 'the resolution shows at once');
    assert.deepEqual(resolving.conflicts, []);
    gateway.hold = false;
    gateway.mergeAll();
    await client.pull();
    assert.deepEqual(pick(client.get('annotation', 'img-1')), { values: { label: 'cow' }, status: 'applied', version: 3, inConflict: [] });
    assert.deepEqual(seen, ['pending', 'acknowledged', 'applied', 'conflicted', 'acknowledged', 'applied']);
    await client.close();
  });
});

describe('local replica: a write the server turns into a conflict', () => {
  it('given an offline relabel that saw the latest label, when another device relabels first, then the conflict shows and diverged names the label', async () => {
    const gateway = new MergingGateway();
    other(gateway, 1, 'img-1', { label: set('cat') });
    const { client } = await device(gateway, 'tablet');
    const diverged: Divergence[] = [];
    client.on('diverged', (d) => diverged.push(d));
    await client.pull();
    gateway.offline = true;
    await client.upsert('annotation', 'img-1', { label: 'tabby' });
    assert.deepEqual(pick(client.get('annotation', 'img-1')), { values: { label: 'tabby' }, status: 'pending', version: 1, inConflict: [] }, 'predicted to apply: it saw the latest label');
    // meanwhile another device, which had seen the same version, relabels first
    other(gateway, 2, 'img-1', { label: set('siamese') }, { baseVersion: 1 });
    gateway.offline = false;
    await client.sync();
    const read = client.get('annotation', 'img-1')!;
    assert.deepEqual(pick(read), { values: { label: 'siamese' }, status: 'conflicted', version: 3, inConflict: ['label'] });
    assert.equal(read.conflicts[0]!.theirs.value, 'tabby');
    assert.equal(diverged.length, 1, `one divergence: ${JSON.stringify(diverged.map((d) => d.fields))}`);
    assert.deepEqual(
      { fields: diverged[0]!.fields, reason: diverged[0]!.reason, was: diverged[0]!.previous.values.label, now: diverged[0]!.entity?.values.label },
      { fields: ['label'], reason: 'merged', was: 'tabby', now: 'siamese' },
    );
    await client.close();
  });

  it('reports nothing when a pulled change leaves what the device shows as it was', async () => {
    const gateway = new MergingGateway();
    other(gateway, 1, 'img-1', { label: set('cat'), votes: { op: 'inc', by: 1 } });
    const { client } = await device(gateway, 'tablet');
    const diverged: Divergence[] = [];
    client.on('diverged', (d) => diverged.push(d));
    await client.pull();
    gateway.offline = true;
    await client.enqueue({ entity: { type: 'annotation', id: 'img-1' }, op: 'upsert', fields: { votes: { op: 'inc', by: 1 } } });
    other(gateway, 2, 'img-1', { confidence: set(0.9) }, { baseVersion: 1 });
    gateway.offline = false;
    await client.sync();
    assert.deepEqual(client.get('annotation', 'img-1')!.values, { confidence: 0.9, label: 'cat', votes: 2 });
    assert.deepEqual(diverged, [], 'the counter came out as shown');
    await client.close();
  });
});

describe('local replica: queries and subscriptions', () => {
  async function seeded() {
    const gateway = new MergingGateway();
    const rows: [string, string, number, number][] = [
      ['a', 'cat', 0.9, 3],
      ['b', 'dog', 0.4, 5],
      ['c', 'cat', 0.7, 1],
      ['d', 'owl', 0.2, 5],
    ];
    rows.forEach(([id, label, confidence, votes], i) => other(gateway, i + 1, id, { label: set(label), confidence: set(confidence), votes: { op: 'inc', by: votes } }));
    other(gateway, 10, 'e', { label: set('cat') });
    other(gateway, 11, 'e', {}, { op: 'delete', baseVersion: 1 });
    other(gateway, 12, 'p1', {}, { entity: { type: 'prompt', id: 'p1' }, fields: { title: set('t') } });
    // Every change, not the snapshot (which leaves deleted entities out): the deleted 'e' is known locally.
    const { client } = await device(gateway, 'tablet', new MemoryStorage(), { bootstrapFromSnapshot: false });
    await client.pull();
    return { gateway, client };
  }
  const ids = (reads: EntityRead[]) => reads.map((r) => r.id);

  it('filters by equality and comparisons, orders, limits, and leaves deleted entities out unless asked', async () => {
    const { client } = await seeded();
    assert.deepEqual(ids(client.query({ type: 'annotation' })), ['a', 'b', 'c', 'd']);
    assert.deepEqual(ids(client.query({ type: 'annotation', includeDeleted: true })), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(ids(client.query({ type: 'annotation', where: { label: 'cat' } })), ['a', 'c']);
    assert.deepEqual(ids(client.query({ type: 'annotation', where: { confidence: { gte: 0.4, lt: 0.9 } } })), ['b', 'c']);
    assert.deepEqual(ids(client.query({ type: 'annotation', where: { label: { in: ['dog', 'owl'] }, votes: { ne: 1 } } })), ['b', 'd']);
    assert.deepEqual(ids(client.query({ type: 'annotation', where: { label: { gt: 5 } } })), [], 'a string is not comparable with a number');
    assert.deepEqual(ids(client.query({ type: 'annotation', orderBy: ['-votes', 'confidence'] })), ['d', 'b', 'a', 'c']);
    assert.deepEqual(ids(client.query({ type: 'annotation', orderBy: { field: 'confidence', direction: 'desc' }, limit: 2 })), ['a', 'c']);
    assert.deepEqual(ids(client.query({ type: 'annotation', orderBy: '-votes', limit: 200 })), ['b', 'd', 'a', 'c']);
    assert.deepEqual(ids(client.query({ type: 'annotation', where: { $id: { gt: 'b' } } })), ['c', 'd']);
    assert.deepEqual(ids(client.query({ type: 'prompt' })), ['p1']);
    assert.deepEqual(ids(client.query({ type: 'nothing' })), []);
    assert.throws(() => client.query({ type: 'annotation', where: { votes: { above: 1 } as never } }), /unknown operator "above"/);
    await client.close();
  });

  it('fires a subscription only when its answer changes: a local write, a pull; not an unrelated change or a page delivered again', async () => {
    const { gateway, client } = await seeded();
    const answers: string[][] = [];
    const stop = client.subscribe({ type: 'annotation', where: { label: 'cat' }, orderBy: '-confidence' }, (reads) => answers.push(ids(reads)));
    const entity: (EntityRead | undefined)[] = [];
    client.subscribe({ type: 'annotation', id: 'b' }, (read) => entity.push(read));

    await client.upsert('annotation', 'b', { label: 'cat' });
    assert.deepEqual(answers, [['a', 'c', 'b']], 'a local write fires at once');
    assert.equal(entity.length, 1);

    await client.upsert('annotation', 'd', { reviewedBy: 'x' });
    other(gateway, 20, 'p1', {}, { entity: { type: 'prompt', id: 'p1' }, fields: { title: set('u') }, baseVersion: 1 });
    await client.pull();
    assert.deepEqual(answers, [['a', 'c', 'b']], 'nothing the query answers changed');

    other(gateway, 21, 'c', { confidence: set(0.95) }, { baseVersion: 1 });
    await client.pull();
    assert.deepEqual(answers, [
      ['a', 'c', 'b'],
      ['c', 'a', 'b'],
    ]);

    const live = client.live({ type: 'annotation', where: { label: 'cat' } });
    assert.equal(live.current(), live.current(), 'the same answer is the same object');
    stop();
    other(gateway, 22, 'a', { label: set('bat') }, { baseVersion: 1 });
    await client.pull();
    assert.equal(answers.length, 2, 'an unsubscribed listener hears nothing');
    await client.close();
  });

  it('a client opened with replica: false keeps nothing and says so', async () => {
    const gateway = new MergingGateway();
    const { client, storage } = await device(gateway, 'tablet', new MemoryStorage(), { replica: false });
    await client.upsert('annotation', 'x', { label: 'a' });
    await client.sync();
    assert.deepEqual(await storage.list('replica/'), []);
    assert.throws(() => client.get('annotation', 'x'), /replica: false/);
    await client.close();
  });
});
