import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RingBuffer, SampleHistory } from './history';

describe('a short history of samples (ring buffer)', () => {
  it('keeps the newest items up to its capacity, oldest first', () => {
    const ring = new RingBuffer<number>(3);
    assert.deepEqual(ring.toArray(), []);
    assert.equal(ring.last(), undefined);
    for (const n of [1, 2]) ring.push(n);
    assert.deepEqual(ring.toArray(), [1, 2]);
    for (const n of [3, 4, 5]) ring.push(n);
    assert.deepEqual(ring.toArray(), [3, 4, 5]);
    assert.equal(ring.size, 3);
    assert.equal(ring.last(), 5);
    for (let n = 6; n < 100; n++) ring.push(n);
    assert.deepEqual(ring.toArray(), [97, 98, 99]);
    assert.throws(() => new RingBuffer(0), RangeError);
  });

  it('points carry the rates since the previous sample and the backlog; a counter going down adds nothing; a late sample is ignored', () => {
    const history = new SampleHistory(4);
    history.add({ at: 0, ingested: 100, projected: 90, lagMessages: 10, lagSeconds: 1.23456 });
    history.add({ at: 2000, ingested: 140, projected: 100, lagMessages: 40, lagSeconds: 3 });
    history.add({ at: 2000, ingested: 999, projected: 999, lagMessages: 0, lagSeconds: 0 });
    history.add({ at: 4000, ingested: 130, projected: 140, lagMessages: 0, lagSeconds: 0 });
    assert.deepEqual(history.toArray(), [
      { at: 0, ingestPerSecond: null, projectPerSecond: null, lagMessages: 10, lagSeconds: 1.235 },
      { at: 2000, ingestPerSecond: 20, projectPerSecond: 5, lagMessages: 40, lagSeconds: 3 },
      { at: 4000, ingestPerSecond: 0, projectPerSecond: 20, lagMessages: 0, lagSeconds: 0 },
    ]);
    for (let i = 3; i < 10; i++) history.add({ at: i * 2000, ingested: 130 + i, projected: 140, lagMessages: 0, lagSeconds: 0 });
    assert.deepEqual(
      history.toArray().map((p) => p.at),
      [12_000, 14_000, 16_000, 18_000],
      'bounded: the newest four',
    );
  });
});
