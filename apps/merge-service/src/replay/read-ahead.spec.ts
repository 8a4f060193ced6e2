import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readAhead } from './read-ahead';

const turn = () => new Promise((r) => setImmediate(r));

describe('readAhead: a journal read ahead of its use', () => {
  it('fetches up to `depth` items ahead, in order, one fetch at a time', async () => {
    let fetched = 0;
    let concurrent = 0;
    let most = 0;
    async function* source() {
      for (let i = 0; i < 10; i++) {
        concurrent += 1;
        most = Math.max(most, concurrent);
        await turn();
        concurrent -= 1;
        fetched += 1;
        yield i;
      }
    }
    const seen: number[] = [];
    for await (const item of readAhead(source(), 3)) {
      if (item === 0) {
        // The consumer is busy with the first item: the next ones arrive meanwhile, no more than the depth.
        for (let t = 0; t < 20; t++) await turn();
        assert.equal(fetched, 4, 'the first item and three ahead');
      }
      seen.push(item);
    }
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(most, 1);
  });

  it('throws a failure of the source where the next item would have come, and stops the source on an early return', async () => {
    async function* failing() {
      yield 1;
      throw new Error('read failed');
    }
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const item of readAhead(failing(), 2)) seen.push(item);
      })(),
      /read failed/,
    );
    assert.deepEqual(seen, [1]);

    let closed = false;
    let fetched = 0;
    async function* endless() {
      try {
        for (let i = 0; ; i++) {
          fetched += 1;
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    for await (const item of readAhead(endless(), 4)) if (item === 2) break;
    assert.equal(closed, true, 'the source is closed');
    assert.ok(fetched <= 7, `no more than the depth fetched past the last item used (${fetched})`);
  });
});
