import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RateFloor } from './body';

describe('RateFloor: the slowest a body may arrive', () => {
  it('says a window was too slow when fewer than the minimum bytes arrived in it, and starts a new window', () => {
    let now = 0;
    const floor = new RateFloor({ bytesPerSecond: 1000, windowMs: 2000, now: () => now });
    now = 500;
    assert.equal(floor.tooSlow(10), false, 'the window has not ended');
    now = 2000;
    assert.equal(floor.tooSlow(1), true, '11 bytes in 2 s is below 1000 bytes per second');
    now = 3000;
    assert.equal(floor.tooSlow(1500), false, 'a new window');
    now = 4000;
    assert.equal(floor.tooSlow(600), false, '2100 bytes in 2 s');
  });

  it('a trickle of one byte every 3 s is too slow at the end of its first window', () => {
    let now = 0;
    const floor = new RateFloor({ bytesPerSecond: 1024, windowMs: 30_000, now: () => now });
    const verdicts: boolean[] = [];
    for (now = 3000; now <= 30_000; now += 3000) verdicts.push(floor.tooSlow(1));
    assert.deepEqual(verdicts, [false, false, false, false, false, false, false, false, false, true]);
  });
});
