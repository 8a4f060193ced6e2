import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_RETRY, backoffDelay, parseRetryAfter } from './backoff';

const policy = { initialDelayMs: 100, maxDelayMs: 5_000, multiplier: 2, maxAttempts: 10 };

describe('backoff', () => {
  it('doubles the ceiling per failure up to the cap; the random source picks a point in [ceiling/2, ceiling]', () => {
    const schedule = (random: () => number) => Array.from({ length: 8 }, (_, i) => backoffDelay(i + 1, policy, random));
    assert.deepEqual(
      schedule(() => 0),
      [50, 100, 200, 400, 800, 1600, 2500, 2500],
    );
    assert.deepEqual(
      schedule(() => 0.999999),
      [100, 200, 400, 800, 1600, 3200, 5000, 5000],
    );
    assert.deepEqual(
      schedule(() => 0.5),
      [75, 150, 300, 600, 1200, 2400, 3750, 3750],
    );
    // a recorded sequence of random numbers gives exactly this schedule
    const draws = [0.1, 0.9, 0.3, 0.7];
    let i = 0;
    assert.deepEqual(
      Array.from({ length: 4 }, (_, n) => backoffDelay(n + 1, policy, () => draws[i++]!)),
      [55, 190, 260, 680],
    );
  });

  it('property: every delay is within [ceiling/2, ceiling] and the ceiling never passes the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), (failures, r) => {
        const ceiling = Math.min(DEFAULT_RETRY.maxDelayMs, DEFAULT_RETRY.initialDelayMs * 2 ** (failures - 1));
        const delay = backoffDelay(failures, DEFAULT_RETRY, () => r);
        assert.ok(delay >= Math.floor(ceiling / 2) && delay <= ceiling, `${delay} for ceiling ${ceiling}`);
      }),
    );
  });

  it('honours Retry-After up to the cap', () => {
    assert.equal(
      backoffDelay(1, policy, () => 0, 2_000),
      2_000,
    );
    assert.equal(
      backoffDelay(1, policy, () => 0, 60_000),
      5_000,
    );
    assert.equal(
      backoffDelay(3, policy, () => 0, 10),
      200,
    );
    assert.equal(parseRetryAfter('3', 0), 3_000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6_000);
    assert.equal(parseRetryAfter(null, 0), undefined);
    assert.equal(parseRetryAfter('soon', 0), undefined);
    assert.throws(() => backoffDelay(0, policy, Math.random), RangeError);
  });
});
