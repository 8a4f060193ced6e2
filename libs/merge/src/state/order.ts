import type { HlcStamp } from '@tidemark/contracts';
import { compareText } from '../schema/own';
import type { EventStamp } from './entity-state';

/** Orders HLC stamps: wall clock, then logical counter. */
export function compareHlc(a: HlcStamp, b: HlcStamp): number {
  return a.wall - b.wall || a.counter - b.counter;
}

/**
 * The total order every arrival-independent rule uses: HLC wall, HLC counter, then deviceId, then
 * eventId (two events of one device never share an HLC, so the eventId only makes the order total).
 */
export function compareStamps(a: EventStamp, b: EventStamp): number {
  return compareHlc(a.hlc, b.hlc) || compareText(a.deviceId, b.deviceId) || compareText(a.eventId, b.eventId);
}

export function stampOf(source: EventStamp): EventStamp {
  return { eventId: source.eventId, deviceId: source.deviceId, hlc: { wall: source.hlc.wall, counter: source.hlc.counter } };
}
