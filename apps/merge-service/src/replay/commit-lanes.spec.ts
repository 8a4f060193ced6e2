import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommitLanes } from './commit-lanes';

/** A promise and the functions that settle it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('CommitLanes: a rebuild’s partitions committed in parallel', () => {
  it('runs a lane’s commits in order, lanes side by side, never more than the concurrency at once', async () => {
    const lanes = new CommitLanes(2);
    const log: string[] = [];
    const gates = new Map<string, ReturnType<typeof deferred>>();
    let running = 0;
    let most = 0;
    const commit = (name: string) => async () => {
      running += 1;
      most = Math.max(most, running);
      log.push(`start ${name}`);
      const gate = deferred();
      gates.set(name, gate);
      await gate.promise;
      log.push(`end ${name}`);
      running -= 1;
    };
    await lanes.add('p00', commit('a1'));
    await lanes.add('p01', commit('b1'));
    // Both slots are taken: a third commit waits to be queued until one ends.
    let queued = false;
    const third = lanes.add('p00', commit('a2')).then(() => (queued = true));
    await turn();
    assert.equal(queued, false, 'no free slot yet');
    assert.deepEqual(log, ['start a1', 'start b1']);
    gates.get('b1')!.resolve();
    await third;
    await turn();
    assert.deepEqual(log, ['start a1', 'start b1', 'end b1'], 'a2 waits for a1, the commit before it on its lane');
    gates.get('a1')!.resolve();
    await turn();
    await turn();
    assert.deepEqual(log, ['start a1', 'start b1', 'end b1', 'end a1', 'start a2']);
    gates.get('a2')!.resolve();
    await lanes.settled();
    assert.equal(most, 2);
    lanes.check();
  });

  it('halts at the first failure: commits not started are dropped, and the failure is what it reports', async () => {
    const lanes = new CommitLanes(4);
    const ran: string[] = [];
    const gate = deferred();
    await lanes.add('p00', async () => {
      await gate.promise;
      throw new Error('commit failed');
    });
    await lanes.add('p00', async () => void ran.push('after the failure, same lane'));
    await lanes.add('p01', async () => {
      await gate.promise;
      ran.push('running when it failed');
    });
    gate.resolve();
    await lanes.settled();
    assert.deepEqual(ran, ['running when it failed']);
    assert.throws(() => lanes.check(), /commit failed/);
    await assert.rejects(
      lanes.add('p02', async () => void ran.push('added after')),
      /commit failed/,
    );
    lanes.halt(new Error('a later one'));
    assert.throws(() => lanes.check(), /commit failed/, 'the first failure is kept');
  });
});
