import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { HlcStamp } from '@tidemark/contracts';
import { HybridClock, MAX_HLC_COUNTER, compareHlc } from './hybrid-clock';

const DAY = 24 * 60 * 60 * 1000;
const stamp = fc.record({ wall: fc.integer({ min: 0, max: 2_000_000_000_000 }), counter: fc.integer({ min: 0, max: MAX_HLC_COUNTER }) });
/** A step of a device's life: its wall clock moves (forward or back) and it issues or observes a stamp. */
const step = fc.record({
  move: fc.integer({ min: -7 * DAY, max: 7 * DAY }),
  op: fc.oneof(
    fc.constant<'now'>('now'),
    stamp.map((s) => ({ observe: s })),
  ),
});

function valid(s: HlcStamp): boolean {
  return Number.isSafeInteger(s.wall) && s.wall >= 0 && Number.isInteger(s.counter) && s.counter >= 0 && s.counter <= MAX_HLC_COUNTER;
}

describe('HybridClock', () => {
  it('property: every stamp is valid and after everything issued or observed before, whatever the wall clock does', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_900_000_000_000 }), fc.array(step, { maxLength: 200 }), (start, steps) => {
        let wall = start;
        const clock = new HybridClock(() => wall);
        let latest: HlcStamp = { wall: 0, counter: 0 };
        for (const s of steps) {
          wall = Math.max(0, wall + s.move);
          const next = s.op === 'now' ? clock.now() : clock.observe(s.op.observe);
          assert.ok(valid(next), JSON.stringify(next));
          assert.ok(compareHlc(next, latest) > 0, `${JSON.stringify(next)} is not after ${JSON.stringify(latest)}`);
          if (s.op !== 'now') assert.ok(compareHlc(next, s.op.observe) > 0, 'a receive is after the stamp received');
          assert.ok(next.wall >= wall, 'never behind physical time');
          latest = next;
          assert.deepEqual(clock.peek(), latest);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: while the wall clock advances and nothing is observed, stamps are the wall clock with counter 0', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000_000_000 }), fc.array(fc.integer({ min: 1, max: DAY }), { maxLength: 100 }), (start, gaps) => {
        let wall = start;
        const clock = new HybridClock(() => wall);
        for (const gap of gaps) {
          wall += gap;
          assert.deepEqual(clock.now(), { wall, counter: 0 });
        }
      }),
    );
  });

  it('a week offline with the wall clock set back a day: stamps stay monotonic, then follow the wall clock again', () => {
    let wall = 1_764_000_000_000;
    const clock = new HybridClock(() => wall);
    const first = clock.now();
    wall += 7 * DAY; // a week offline, simulated in no time
    const afterWeek = clock.now();
    assert.deepEqual(afterWeek, { wall, counter: 0 });
    wall -= DAY; // NTP corrects the laptop's clock backwards
    const a = clock.now();
    const b = clock.now();
    assert.deepEqual(a, { wall: afterWeek.wall, counter: 1 });
    assert.deepEqual(b, { wall: afterWeek.wall, counter: 2 });
    wall += DAY + 1; // physical time catches up
    assert.deepEqual(clock.now(), { wall, counter: 0 });
    assert.ok(compareHlc(afterWeek, first) > 0);
  });

  it('observe merges a stamp from a clock ahead of this one', () => {
    let wall = 1_000;
    const clock = new HybridClock(() => wall);
    clock.now();
    assert.deepEqual(clock.observe({ wall: 5_000, counter: 7 }), { wall: 5_000, counter: 8 });
    assert.deepEqual(clock.now(), { wall: 5_000, counter: 9 });
    wall = 6_000;
    assert.deepEqual(clock.observe({ wall: 5_500, counter: 3 }), { wall: 6_000, counter: 0 });
    assert.deepEqual(clock.observe({ wall: 6_000, counter: 4 }), { wall: 6_000, counter: 5 });
    assert.throws(() => clock.observe({ wall: -1, counter: 0 }), RangeError);
    assert.throws(() => clock.observe({ wall: 1, counter: MAX_HLC_COUNTER + 1 }), RangeError);
  });

  it('moves the wall ahead one millisecond instead of overflowing the counter', () => {
    const clock = new HybridClock(() => 10, { wall: 10, counter: MAX_HLC_COUNTER - 1 });
    assert.deepEqual(clock.now(), { wall: 10, counter: MAX_HLC_COUNTER });
    assert.deepEqual(clock.now(), { wall: 11, counter: 0 });
    assert.deepEqual(clock.now(), { wall: 11, counter: 1 });
  });

  it('continues after a restored stamp (a restart) even when the wall clock is behind it', () => {
    const clock = new HybridClock(() => 1_000, { wall: 9_000, counter: 3 });
    assert.deepEqual(clock.now(), { wall: 9_000, counter: 4 });
  });

  it('refuses a wall clock that is not a time', () => {
    assert.throws(() => new HybridClock(() => Number.NaN).now(), RangeError);
    assert.throws(() => new HybridClock(() => -5).now(), RangeError);
  });
});
