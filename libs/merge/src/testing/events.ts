// Test helpers (not exported from the package): deterministic events and short field-change builders.
import type { DeviceEvent, FieldChange } from '@tidemark/contracts';
import type { MergeInput } from '../merge/result';

/** A UUID-shaped, deterministic event id: uuid(1) = 00000000-0000-4000-8000-000000000001. */
export function uuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export const BASE_WALL = 1_700_000_000_000;

export type EventOverrides = Partial<Omit<DeviceEvent, 'hlc'>> & { hlc?: DeviceEvent['hlc'] | number };

/**
 * Makes events for one entity: sequential eventIds, per-device sequences, and an HLC wall that moves
 * one second per event unless given (a number is shorthand for `{ wall: BASE_WALL + n, counter: 0 }`).
 */
export function eventsFor(type: string, id = `${type}-1`, schemaVersion = 1) {
  let count = 0;
  const seqs: Record<string, number> = {};
  return function event(overrides: EventOverrides = {}): DeviceEvent {
    count++;
    const deviceId = overrides.deviceId ?? 'dev-a';
    seqs[deviceId] = (seqs[deviceId] ?? 0) + 1;
    const { hlc, ...rest } = overrides;
    return {
      eventId: uuid(count),
      deviceId,
      deviceSeq: seqs[deviceId]!,
      hlc: typeof hlc === 'number' ? { wall: BASE_WALL + hlc, counter: 0 } : (hlc ?? { wall: BASE_WALL + count * 1000, counter: 0 }),
      entity: { type, id },
      op: 'upsert',
      baseVersion: 0,
      schemaVersion,
      ...rest,
    };
  };
}

export const set = (value: unknown): FieldChange => ({ op: 'set', value });
export const inc = (by: number): FieldChange => ({ op: 'inc', by });
export const add = (...values: unknown[]): FieldChange => ({ op: 'add', values });
export const remove = (...values: unknown[]): FieldChange => ({ op: 'remove', values });
export const append = (...values: unknown[]): FieldChange => ({ op: 'append', values });

export function inputOf(event: DeviceEvent, streamSeq: number): MergeInput {
  return { event, workspace: 'ws-test', acceptedAt: '2025-01-01T00:00:00.000Z', streamSeq };
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
