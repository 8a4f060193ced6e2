import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ENVELOPE_BYTES, bodyBytes, planBatches } from './batches';

describe('planBatches', () => {
  it('splits by count', () => {
    assert.deepEqual(planBatches(Array(7).fill(10), { maxEvents: 3, maxBytes: 1_000_000 }), [
      [0, 3],
      [3, 6],
      [6, 7],
    ]);
    assert.deepEqual(planBatches([], { maxEvents: 3, maxBytes: 100 }), []);
  });

  it('splits by body bytes: a body exactly at the limit fits, one byte more starts a new batch', () => {
    // three 100-byte events: 13 + 300 + 2 commas = 315 bytes
    assert.equal(bodyBytes([100, 100, 100]), 315);
    assert.deepEqual(planBatches([100, 100, 100], { maxEvents: 500, maxBytes: 315 }), [[0, 3]]);
    assert.deepEqual(planBatches([100, 100, 100], { maxEvents: 500, maxBytes: 314 }), [
      [0, 2],
      [2, 3],
    ]);
  });

  it('gives an event too big for any body a batch of its own', () => {
    assert.deepEqual(planBatches([10, 500, 10], { maxEvents: 500, maxBytes: 100 }), [
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
  });

  it('body bytes are what JSON.stringify of the push body makes', () => {
    const events = [{ a: 'é' }, { b: [1, 2] }, { c: '✓' }].map((e) => JSON.stringify(e));
    const sizes = events.map((e) => Buffer.byteLength(e));
    assert.equal(bodyBytes(sizes), Buffer.byteLength(`{"events":[${events.join(',')}]}`));
    assert.equal(bodyBytes([]), ENVELOPE_BYTES);
  });

  it('property: batches cover every event once, in order, and keep both limits (unless one event alone is too big)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 2_000 }), { maxLength: 300 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 20, max: 20_000 }), (sizes, maxEvents, maxBytes) => {
        const batches = planBatches(sizes, { maxEvents, maxBytes });
        let next = 0;
        for (const [start, end] of batches) {
          assert.equal(start, next);
          assert.ok(end > start);
          next = end;
          const part = sizes.slice(start, end);
          assert.ok(part.length <= maxEvents);
          if (part.length > 1) assert.ok(bodyBytes(part) <= maxBytes);
          // greedy: the next event would not have fitted
          if (end < sizes.length) assert.ok(part.length === maxEvents || bodyBytes([...part, sizes[end]!]) > maxBytes);
        }
        assert.equal(next, sizes.length);
      }),
    );
  });
});
