import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from './backoff';

describe('backoffDelay', () => {
  it('starts at the base, doubles with each retry and stops at the cap', () => {
    const backoff = { baseMs: 100, maxMs: 1000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((r) => backoffDelay(r, backoff)),
      [100, 200, 400, 800, 1000, 1000],
    );
  });
  it('stays at the cap however many retries, and treats a retry below 1 as the first', () => {
    assert.equal(backoffDelay(10_000, { baseMs: 50, maxMs: 2000 }), 2000);
    assert.equal(backoffDelay(0, { baseMs: 50, maxMs: 2000 }), 50);
  });
});
