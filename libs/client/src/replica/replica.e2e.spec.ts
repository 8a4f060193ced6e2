// The local replica against the real services (journal-service, merge-service, gateway as processes on a fresh
// NATS and Postgres), with FileStorage: a device writes offline and reads its writes back, across a restart;
// two devices converge after syncing; a conflict opened by concurrent edits shows on both, the device whose write
// lost hears `diverged`, and a resolution through `resolve()` shows at once and then on both devices.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startSlice, type SliceStack } from '@tidemark/testing';
import { FileStorage, TidemarkClient, type ClientOptions, type DeviceCredentials, type Divergence, type EntityRead } from '../node';

const dirs: string[] = [];

/** A port nothing listens on: the server is unreachable. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('local replica against the services', () => {
  let stack: SliceStack;
  let gateway: string;
  let offline: string;
  const opened: TidemarkClient[] = [];

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway']);
    gateway = stack.url('gateway');
    offline = `http://127.0.0.1:${await closedPort()}`;
  });
  after(async () => {
    await Promise.all(opened.map((client) => client.close()));
    await stack?.stop();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  const open = async (dir: string, baseUrl: string, extra: Partial<ClientOptions> = {}) => {
    const client = await TidemarkClient.open({ baseUrl, storage: await FileStorage.open(dir), retry: { initialDelayMs: 20, maxDelayMs: 200, maxAttempts: 2 }, ...extra });
    opened.push(client);
    return client;
  };
  const close = async (client: TidemarkClient) => {
    opened.splice(opened.indexOf(client), 1);
    await client.close();
  };
  /** Pulls until the entity reads as `check` wants (merge-service applies pushed events asynchronously). */
  const until = (client: TidemarkClient, type: string, id: string, check: (read: EntityRead | undefined) => void, message: string) =>
    eventually(
      async () => {
        await client.pull();
        const read = client.get(type, id);
        check(read);
        return read!;
      },
      { message, timeoutMs: 20_000 },
    );

  it('two devices: offline writes read back across a restart, converge after sync, a conflict shows on both and resolve() settles it', async () => {
    const [dirA, dirB] = await Promise.all(['a', 'b'].map((name) => mkdtemp(join(tmpdir(), `tidemark-replica-${name}-`))));
    dirs.push(dirA!, dirB!);
    const enrolA: DeviceCredentials = await stack.device('default', 'replica-a');
    const enrolB: DeviceCredentials = await stack.device('default', 'replica-b');

    // A, offline, writes and reads its writes back; a restart (a new client on the same files) answers the same.
    let a = await open(dirA!, offline, { credentials: enrolA });
    await a.upsert('annotation', 'img-1', { label: 'cat', confidence: 0.6 });
    await a.enqueue({ entity: { type: 'annotation', id: 'img-1' }, op: 'upsert', fields: { votes: { op: 'inc', by: 2 }, tags: { op: 'add', values: ['pet'] } } });
    const offlineRead = a.get('annotation', 'img-1')!;
    assert.deepEqual(offlineRead.values, { confidence: 0.6, label: 'cat', tags: ['pet'], votes: 2 });
    assert.equal(offlineRead.status, 'pending');
    assert.equal(offlineRead.version, 0);
    await close(a);
    a = await open(dirA!, offline);
    assert.deepEqual(a.get('annotation', 'img-1'), offlineRead, 'the same answer after a restart');
    await close(a);

    // Online: A syncs; its write is acknowledged, then applied, and the read keeps its values all along.
    a = await open(dirA!, gateway);
    const statusesA: string[] = [];
    a.subscribe({ type: 'annotation', id: 'img-1' }, (read) => statusesA.push(read?.status ?? 'none'));
    await a.push();
    assert.equal(a.get('annotation', 'img-1')!.status, 'acknowledged');
    const applied = await until(a, 'annotation', 'img-1', (read) => assert.equal(read?.status, 'applied'), 'A sees its write applied');
    assert.deepEqual(applied.values, offlineRead.values);
    assert.equal(applied.version, 2);
    assert.deepEqual(
      statusesA.filter((s, i) => s !== statusesA[i - 1]),
      ['acknowledged', 'applied'],
    );

    // B pulls A's entity, adds to it, and both converge.
    // B's wall clock runs a day behind: its last-writer-wins writes lose to A's.
    const b = await open(dirB!, gateway, { credentials: enrolB, now: () => Date.now() - 86_400_000 });
    await until(b, 'annotation', 'img-1', (read) => assert.equal(read?.values.votes, 2), 'B pulls img-1');
    await b.enqueue({ entity: { type: 'annotation', id: 'img-1' }, op: 'upsert', fields: { votes: { op: 'inc', by: 3 }, tags: { op: 'add', values: ['cute'] } } });
    assert.deepEqual(b.get('annotation', 'img-1')!.values, { confidence: 0.6, label: 'cat', tags: ['cute', 'pet'], votes: 5 });
    assert.equal(b.get('annotation', 'img-1')!.status, 'pending');
    await b.push();
    const converged = await until(a, 'annotation', 'img-1', (read) => assert.equal(read?.values.votes, 5), 'A sees B’s votes');
    await until(b, 'annotation', 'img-1', (read) => assert.equal(read?.status, 'applied'), 'B sees its write applied');
    assert.deepEqual(b.get('annotation', 'img-1')!.values, converged.values);
    assert.deepEqual(converged.values, { confidence: 0.6, label: 'cat', tags: ['cute', 'pet'], votes: 5 });

    // B writes assetId on img-3 after A did, with its slow clock, before pulling A's write: B shows its own value,
    // the server keeps A's (the later stamp wins); B converges and hears which field diverged.
    const divergedB: Divergence[] = [];
    b.on('diverged', (d) => divergedB.push(d));
    await a.upsert('annotation', 'img-3', { assetId: 'from-a' });
    await a.push();
    await until(a, 'annotation', 'img-3', (read) => assert.equal(read?.status, 'applied'), 'A’s assetId applied');
    await b.upsert('annotation', 'img-3', { assetId: 'from-b' });
    assert.equal(b.get('annotation', 'img-3')!.values.assetId, 'from-b');
    await b.push();
    const lost = await until(b, 'annotation', 'img-3', (read) => assert.equal(read?.status, 'applied'), 'B’s write settled');
    assert.equal(lost.values.assetId, 'from-a');
    const divergence = divergedB.find((d) => d.previous.id === 'img-3');
    assert.ok(divergence, JSON.stringify(divergedB));
    assert.deepEqual(divergence.fields, ['assetId']);
    assert.equal(divergence.previous.values.assetId, 'from-b');
    assert.equal(divergence.entity!.values.assetId, 'from-a');

    // Concurrent labels on img-2, neither device having seen the other's: A's reaches the server first, B's
    // opens a conflict (B's replica predicts it as soon as it pulls A's label), shown on both with the ledger entry.
    await a.upsert('annotation', 'img-2', { label: 'cat' });
    await b.upsert('annotation', 'img-2', { label: 'dog' });
    assert.equal(b.get('annotation', 'img-2')!.values.label, 'dog');
    await a.push();
    await until(a, 'annotation', 'img-2', (read) => assert.equal(read?.status, 'applied'), 'A’s label applied');
    await b.push();
    const conflictedB = await until(b, 'annotation', 'img-2', (read) => assert.equal(read?.conflicts.length, 1), 'B sees the conflict');
    assert.equal(conflictedB.status, 'conflicted');
    assert.equal(conflictedB.values.label, 'cat', 'the stored value stays while the conflict is open');
    assert.deepEqual(conflictedB.inConflict, ['label']);
    assert.equal(conflictedB.conflicts.length, 1);
    const conflict = conflictedB.conflicts[0]!;
    assert.equal(conflict.ours.value, 'cat');
    assert.equal(conflict.theirs.value, 'dog');
    const conflictedA = await until(a, 'annotation', 'img-2', (read) => assert.equal(read?.conflicts.length, 1), 'A sees the conflict');
    assert.equal(conflictedA.status, 'conflicted');
    assert.equal(conflictedA.conflicts[0]!.id, conflict.id);

    // A resolves through the SDK: the replica shows the resolution at once, then both devices pull it.
    const answer = await a.resolve(conflict.id, 'value', 'lynx');
    assert.equal(answer.status, 'accepted');
    const resolving = a.get('annotation', 'img-2')!;
    assert.equal(resolving.values.label, 'lynx');
    assert.deepEqual(resolving.conflicts, []);
    assert.deepEqual(resolving.inConflict, []);
    for (const [name, client] of [
      ['A', a],
      ['B', b],
    ] as const) {
      const settled = await until(client, 'annotation', 'img-2', (read) => assert.equal(read?.status, 'applied'), `${name} pulls the resolution`);
      assert.equal(settled.values.label, 'lynx');
      assert.deepEqual(settled.conflicts, []);
      assert.equal(settled.unsettled, 0);
    }
    assert.deepEqual(
      a.query({ type: 'annotation', orderBy: '$id' }).map((r) => [r.id, r.values.label, r.status]),
      b.query({ type: 'annotation', orderBy: '$id' }).map((r) => [r.id, r.values.label, r.status]),
    );
  });
});
