import type { HlcStamp } from '@tidemark/contracts';

/** Largest HLC counter the event envelope accepts (`HlcStamp.counter`). */
export const MAX_HLC_COUNTER = 65_535;

/** Where physical time comes from: milliseconds since the epoch. Injected so tests can move it freely. */
export type WallClock = () => number;

/** Orders two stamps: wall, then counter. Negative when `a` is earlier. (The device id breaks ties on the server.) */
export function compareHlc(a: HlcStamp, b: HlcStamp): number {
  return a.wall !== b.wall ? a.wall - b.wall : a.counter - b.counter;
}

/**
 * A hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014): stamps are `{ wall, counter }`,
 * `wall` follows physical time when it moves forward and the counter orders events within one millisecond or
 * while physical time stands still or goes back (a laptop whose clock was corrected after a week offline).
 *
 * - `now()` is strictly greater than every stamp this clock issued or observed before;
 * - `observe(remote)` merges a stamp received from elsewhere, so the next `now()` is after it;
 * - when the counter would pass {@link MAX_HLC_COUNTER}, `wall` moves one millisecond ahead instead.
 */
export class HybridClock {
  private last: HlcStamp;

  constructor(
    private readonly wallClock: WallClock = Date.now,
    start: HlcStamp = { wall: 0, counter: 0 },
  ) {
    this.last = { ...start };
  }

  /** A new stamp for a local event. */
  now(): HlcStamp {
    const physical = this.read();
    this.last = physical > this.last.wall ? { wall: physical, counter: 0 } : bump(this.last);
    return { ...this.last };
  }

  /** Merges a stamp received from another clock and returns the stamp of this receive event. */
  observe(remote: HlcStamp): HlcStamp {
    checkStamp(remote);
    const physical = this.read();
    const wall = Math.max(physical, this.last.wall, remote.wall);
    let next: HlcStamp;
    if (wall === this.last.wall && wall === remote.wall) next = bump({ wall, counter: Math.max(this.last.counter, remote.counter) });
    else if (wall === this.last.wall) next = bump(this.last);
    else if (wall === remote.wall) next = bump(remote);
    else next = { wall, counter: 0 };
    this.last = next;
    return { ...next };
  }

  /** The latest stamp issued or observed (without issuing a new one). */
  peek(): HlcStamp {
    return { ...this.last };
  }

  private read(): number {
    const value = this.wallClock();
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`the wall clock returned ${value}; expected milliseconds since the epoch`);
    return Math.floor(value);
  }
}

function bump(stamp: HlcStamp): HlcStamp {
  return stamp.counter < MAX_HLC_COUNTER ? { wall: stamp.wall, counter: stamp.counter + 1 } : { wall: stamp.wall + 1, counter: 0 };
}

function checkStamp(stamp: HlcStamp): void {
  if (!Number.isSafeInteger(stamp.wall) || stamp.wall < 0 || !Number.isInteger(stamp.counter) || stamp.counter < 0 || stamp.counter > MAX_HLC_COUNTER) {
    throw new RangeError(`not an HLC stamp: ${JSON.stringify(stamp)}`);
  }
}
