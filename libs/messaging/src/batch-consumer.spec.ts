import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fetchCount } from './batch-consumer';

describe('fetchCount: how many messages the next fetch asks for', () => {
  it('asks for what arrives in the target time at the rate the last fetch saw', () => {
    assert.equal(fetchCount(25, 100, 100, 256), 25, '250/s, filled in 100 ms: stays');
    assert.equal(fetchCount(250, 1000, 100, 256), 25, 'expired after 1 s with 250: about 100 ms worth next');
    assert.equal(fetchCount(25, 50, 100, 256), 50, 'filled in half the target: the rate doubled, so does the count');
  });

  it('jumps to the most at a backlog, and asks for one when idle', () => {
    assert.equal(fetchCount(1, 0.2, 100, 256), 100, 'a fetch of one that filled at once (elapsed counts as at least 1 ms)');
    assert.equal(fetchCount(100, 1, 100, 256), 256, 'and the next one filled at once too');
    assert.equal(fetchCount(0, 1000, 100, 256), 1, 'nothing came');
    assert.equal(fetchCount(1, 640, 100, 256), 1, 'one message in 640 ms');
  });
});
