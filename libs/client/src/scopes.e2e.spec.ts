// The SDK's local replica under read scopes, against the real gateway, journal and merge services: a device
// subscribes at run time and its replica receives the scope's records (backfilled), a record that moves out of its
// scopes leaves the replica, an unsubscription evicts what no subscription covers any more (also from storage),
// and a subscription the device's claims do not allow is refused whole.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDevice, PARTITIONED_TASK_V1, eventually, push, startSlice, type SliceStack } from '@tidemark/testing';
import { TidemarkClient } from './client';
import type { DeviceCredentials } from './auth/token-keeper';
import { ServerProblemError } from './errors';
import { MemoryStorage } from './storage/storage';

const RULES = {
  version: 1,
  scopes: { project: { types: ['task'], partition: { values: { claim: 'projects' } } }, catalog: { types: ['prompt'] } },
  roles: { annotator: { write: { task: ['label'] }, read: ['project', 'catalog'] }, lead: { write: '*' } },
};

describe('the SDK replica under read scopes (real services)', () => {
  let stack: SliceStack;
  let gateway: string;
  const credentials = new Map<string, DeviceCredentials>();
  const lead = new FakeDevice('lead');
  const clients: TidemarkClient[] = [];

  const send = async (path: string, method: string, body: unknown) => {
    const answer = await fetch(`${path.startsWith('http') ? '' : gateway}${path}`, { method, headers: { ...stack.operatorHeaders, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await answer.text();
    assert.ok(answer.ok, `${method} ${path}: ${answer.status} ${text}`);
    return JSON.parse(text) as any;
  };
  const write = async (events: ReturnType<FakeDevice['upsert']>[]) => {
    const answer = await push(gateway, events, { authorization: `Bearer ${credentials.get('lead')!.accessToken}` });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  };
  const open = async (device: string, storage = new MemoryStorage(), now?: () => number) => {
    const client = await TidemarkClient.open({ baseUrl: gateway, storage, credentials: credentials.get(device)!, retry: { initialDelayMs: 10, maxDelayMs: 50 }, ...(now ? { now } : {}) });
    clients.push(client);
    return client;
  };
  const ids = (client: TidemarkClient, type: string) =>
    client
      .query({ type })
      .map((e) => e.id)
      .sort();

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway']);
    gateway = stack.url('gateway');
    await send('/v1/admin/workspaces', 'POST', { workspace: 'lab' });
    await send(`${stack.url('journal-service')}/v1/schemas/task/1`, 'PUT', PARTITIONED_TASK_V1);
    await send('/v1/admin/workspaces/lab/access-rules', 'PUT', { rules: RULES, reason: 'projects' });
    for (const [deviceId, role, claims] of [
      ['lead', 'lead', {}],
      ['alice', 'annotator', { projects: ['p1'] }],
      ['bob', 'annotator', { projects: ['p2'] }],
    ] as const) {
      credentials.set(deviceId, (await send('/v1/admin/workspaces/lab/devices', 'POST', { deviceId, role, claims, reason: 'test' })) as DeviceCredentials);
    }
    await write([lead.upsert('task', 't1', { project: 'p1', label: 'cat' }), lead.upsert('task', 't2', { project: 'p2', label: 'dog' }), lead.upsert('prompt', 'pr1', { title: 'describe' })]);
    const leader = await open('lead');
    await eventually(async () => {
      await leader.pull();
      assert.deepEqual([...ids(leader, 'task'), ...ids(leader, 'prompt')], ['t1', 't2', 'pr1']);
    });
  });
  after(async () => {
    for (const client of clients) await client.close();
    await stack?.stop();
  });

  it('receives nothing before subscribing, then each subscription’s records, backfilled', async () => {
    const alice = await open('alice');
    await alice.pull();
    assert.deepEqual(ids(alice, 'task'), []);
    const answer = await alice.addScopes([{ scope: 'project', value: 'p1' }, { scope: 'catalog' }]);
    assert.equal(answer.reads, 'scoped');
    assert.deepEqual(ids(alice, 'task'), ['t1']);
    assert.deepEqual(ids(alice, 'prompt'), ['pr1']);
    assert.equal(alice.get('task', 't1')?.values.label, 'cat');
    await alice.close();
  });

  it('a subscription the claims do not allow is refused whole, and nothing changes', async () => {
    const bob = await open('bob');
    await bob.addScopes([{ scope: 'project', value: 'p2' }]);
    await assert.rejects(bob.addScopes([{ scope: 'catalog' }, { scope: 'project', value: 'p1' }]), (error: unknown) => error instanceof ServerProblemError && error.status === 403);
    assert.deepEqual(
      (await bob.scopes()).subscriptions.map((s) => s.value),
      ['p2'],
    );
    assert.deepEqual(ids(bob, 'task'), ['t2']);
    assert.deepEqual(ids(bob, 'prompt'), []);
  });

  it('a record that moves to another partition leaves one replica and arrives in the other; an unsubscription evicts, also from storage', async () => {
    const storage = new MemoryStorage();
    const alice = await open('alice', storage);
    await alice.addScopes([{ scope: 'project', value: 'p1' }, { scope: 'catalog' }]);
    const bob = await open('bob');
    await bob.pull();
    assert.deepEqual(ids(bob, 'task'), ['t2']);

    await write([lead.upsert('task', 't1', { project: 'p2' }, 1)]);
    await eventually(async () => {
      await alice.pull();
      await bob.pull();
      assert.deepEqual(ids(alice, 'task'), [], 'moved out of alice’s scopes');
      assert.deepEqual(ids(bob, 'task'), ['t1', 't2'], 'moved into bob’s');
    });
    assert.equal(alice.knownVersion('task', 't1'), 0, 'an evicted record is no longer held');
    assert.deepEqual(bob.get('task', 't1')?.values, { project: 'p2', label: 'cat' });

    const removed = await alice.removeScopes([{ scope: 'catalog' }]);
    assert.deepEqual(removed.evicted, ['prompt/pr1']);
    assert.deepEqual(ids(alice, 'prompt'), []);
    await alice.close();
    const reopened = await open('alice', storage);
    assert.deepEqual(ids(reopened, 'prompt'), [], 'the eviction was stored');
    await reopened.pull();
    assert.deepEqual(ids(reopened, 'prompt'), [], 'and nothing of the scope arrives again');
  });

  it('a released subscription kept warm stays current until its time is up, costs nothing to take back, then is evicted', async () => {
    let clock = Date.UTC(2026, 11, 8, 9, 0, 0);
    const storage = new MemoryStorage();
    const alice = await open('alice', storage, () => clock);
    await alice.addScopes([{ scope: 'project', value: 'p1' }, { scope: 'catalog' }]);
    assert.deepEqual(ids(alice, 'prompt'), ['pr1']);

    const released = await alice.removeScopes([{ scope: 'catalog' }], { keepForMs: 60_000 });
    assert.deepEqual([released.evicted, released.keptUntil], [[], clock + 60_000]);
    assert.deepEqual((await alice.scopes()).released, [{ scope: 'catalog', until: clock + 60_000 }]);
    assert.deepEqual(
      (await alice.scopes()).subscriptions.map((s) => s.scope),
      ['catalog', 'project'],
      'the server still holds it',
    );
    await write([lead.upsert('prompt', 'pr1', { title: 'describe briefly' }, 1)]);
    await eventually(async () => {
      await alice.pull();
      assert.equal(alice.get('prompt', 'pr1')?.values.title, 'describe briefly', 'still current while warm');
    });

    // Taken back within its time: kept, nothing to backfill, no longer released.
    await alice.addScopes([{ scope: 'catalog' }]);
    assert.deepEqual((await alice.scopes()).released, []);
    await alice.removeScopes([{ scope: 'catalog' }], { keepForMs: 60_000 });
    await alice.close();

    // The release survives a restart; once its time is up, the next pull unsubscribes and evicts.
    clock += 59_999;
    const reopened = await open('alice', storage, () => clock);
    await reopened.pull();
    assert.deepEqual(ids(reopened, 'prompt'), ['pr1'], 'not yet');
    clock += 1;
    await reopened.pull();
    assert.deepEqual(ids(reopened, 'prompt'), [], 'time up: evicted');
    assert.deepEqual(await reopened.scopes().then((v) => [v.released, v.subscriptions.map((s) => s.scope)]), [[], ['project']]);
  });
});
