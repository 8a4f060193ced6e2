import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Access } from '@tidemark/access';
import { StandingCache, type DeviceAuthority } from './standing-cache';

/**
 * A device registry in memory that counts its reads, and whose reads can be held open (to interleave a change with
 * a read under way), behind a cache on a clock the test moves.
 */
function world(options: { maxAgeMs?: number; maxEntries?: number } = {}) {
  const devices = new Map<string, DeviceAuthority>();
  const reads: string[] = [];
  let hold: Promise<void> | undefined;
  let clock = 0;
  const cache = new StandingCache(
    async (workspace, deviceId) => {
      const k = `${workspace}/${deviceId}`;
      reads.push(k);
      const answer = devices.get(k) ?? { standing: undefined, access: { kind: 'unrestricted' } };
      await hold;
      return answer;
    },
    { maxAgeMs: options.maxAgeMs ?? 30_000, maxEntries: options.maxEntries ?? 100, now: () => clock },
  );
  const role = (name: string): Access => ({ kind: 'role', version: 1, role: name, rules: { write: { annotation: '*' } } });
  const w = {
    cache,
    reads,
    /** given: the registry holds this device (active, generation 1 unless told). */
    device(workspace: string, deviceId: string, status = 'active', generation = 1, access: Access = { kind: 'unrestricted' }) {
      devices.set(`${workspace}/${deviceId}`, { standing: { status, generation }, access });
      return w;
    },
    role,
    later(ms: number) {
      clock += ms;
      return w;
    },
    /** Reads begun from now on wait until `release` is called. */
    holdReads(): () => void {
      let release!: () => void;
      hold = new Promise((resolve) => (release = resolve));
      return () => {
        hold = undefined;
        release();
      };
    },
  };
  return w;
}

describe('StandingCache: device standing and access, remembered until a notice, a reconnect or the max age', () => {
  it('given a device read once, when it is asked for again, then it is answered from memory without a read', async () => {
    const w = world().device('lab', 'tablet');
    assert.deepEqual((await w.cache.get('lab', 'tablet')).standing, { status: 'active', generation: 1 });
    assert.deepEqual((await w.cache.get('lab', 'tablet')).standing, { status: 'active', generation: 1 });
    assert.deepEqual(w.reads, ['lab/tablet']);
  });

  it('given a cached active device, when it is revoked and its notice heard, then the next ask reads the revoked standing', async () => {
    const w = world().device('lab', 'tablet');
    await w.cache.get('lab', 'tablet');
    w.device('lab', 'tablet', 'revoked', 2);
    w.cache.forgetDevice('lab', 'tablet');
    assert.deepEqual((await w.cache.get('lab', 'tablet')).standing, { status: 'revoked', generation: 2 });
    assert.equal(w.reads.length, 2);
  });

  it("given devices of two workspaces cached, when one workspace's rules change, then only its devices are read again", async () => {
    const w = world().device('lab', 'tablet').device('lab', 'runner').device('open', 'tablet');
    for (const [ws, d] of [
      ['lab', 'tablet'],
      ['lab', 'runner'],
      ['open', 'tablet'],
    ] as const)
      await w.cache.get(ws, d);
    w.device('lab', 'tablet', 'active', 1, w.role('annotator'));
    w.cache.forgetWorkspace('lab');
    assert.deepEqual((await w.cache.get('lab', 'tablet')).access, w.role('annotator'));
    await w.cache.get('lab', 'runner');
    await w.cache.get('open', 'tablet');
    assert.deepEqual(w.reads, ['lab/tablet', 'lab/runner', 'open/tablet', 'lab/tablet', 'lab/runner']);
  });

  it('given a device forgotten by one notice, when a device of another workspace with a similar name is cached, then it is kept', async () => {
    const w = world().device('lab', 'x').device('lab2', 'x');
    await w.cache.get('lab', 'x');
    await w.cache.get('lab2', 'x');
    w.cache.forgetWorkspace('lab');
    await w.cache.get('lab2', 'x');
    assert.deepEqual(w.reads, ['lab/x', 'lab2/x']);
  });

  it('given a read under way, when the device is revoked and forgotten before the read answers, then its stale answer is not remembered', async () => {
    const w = world().device('lab', 'tablet');
    const release = w.holdReads();
    const stale = w.cache.get('lab', 'tablet');
    w.device('lab', 'tablet', 'revoked', 2);
    w.cache.forgetDevice('lab', 'tablet');
    release();
    assert.deepEqual((await stale).standing, { status: 'active', generation: 1 }, 'the read answers its own request with what it read');
    assert.deepEqual((await w.cache.get('lab', 'tablet')).standing, { status: 'revoked', generation: 2 });
    assert.equal(w.reads.length, 2);
  });

  it('given a cached device, when the max age passes without a notice, then it is read again', async () => {
    const w = world({ maxAgeMs: 1000 }).device('lab', 'tablet');
    await w.cache.get('lab', 'tablet');
    w.later(999);
    await w.cache.get('lab', 'tablet');
    assert.equal(w.reads.length, 1);
    w.later(1);
    await w.cache.get('lab', 'tablet');
    assert.equal(w.reads.length, 2);
  });

  it('given a cached device, when the connection drops, then nothing is answered from memory until it is back, and then nothing from before', async () => {
    const w = world().device('lab', 'tablet');
    await w.cache.get('lab', 'tablet');
    w.cache.suspend();
    await w.cache.get('lab', 'tablet');
    await w.cache.get('lab', 'tablet');
    assert.equal(w.reads.length, 3, 'every ask reads while notices cannot be heard');
    w.cache.resume();
    await w.cache.get('lab', 'tablet');
    await w.cache.get('lab', 'tablet');
    assert.equal(w.reads.length, 4);
  });

  it('given a read under way when the connection is back, when it answers, then it is not remembered (notices may have been missed before)', async () => {
    const w = world().device('lab', 'tablet');
    w.cache.suspend();
    const release = w.holdReads();
    const during = w.cache.get('lab', 'tablet');
    w.cache.resume();
    release();
    await during;
    assert.equal(w.cache.size, 0);
  });

  it('given more devices than it may hold, when another is read, then the least recently used one is forgotten', async () => {
    const w = world({ maxEntries: 2 }).device('lab', 'a').device('lab', 'b').device('lab', 'c');
    await w.cache.get('lab', 'a');
    await w.cache.get('lab', 'b');
    await w.cache.get('lab', 'a'); // a is now the most recently used
    await w.cache.get('lab', 'c');
    assert.equal(w.cache.size, 2);
    await w.cache.get('lab', 'a');
    await w.cache.get('lab', 'b');
    assert.deepEqual(w.reads, ['lab/a', 'lab/b', 'lab/c', 'lab/b']);
  });

  it('given a device that does not exist, when it is enrolled and its notice heard, then the next ask finds it', async () => {
    const w = world();
    assert.equal((await w.cache.get('lab', 'new')).standing, undefined);
    w.device('lab', 'new');
    w.cache.forgetDevice('lab', 'new');
    assert.deepEqual((await w.cache.get('lab', 'new')).standing, { status: 'active', generation: 1 });
  });

  it('given a max age of 0, when a device is asked for twice, then it is read twice (the cache is off)', async () => {
    const w = world({ maxAgeMs: 0 }).device('lab', 'tablet');
    await w.cache.get('lab', 'tablet');
    await w.cache.get('lab', 'tablet');
    assert.equal(w.reads.length, 2);
    assert.equal(w.cache.size, 0);
  });
});
