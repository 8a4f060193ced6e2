import { compareText } from './own';
import type { ValueType } from './schema';

/** An asset reference: the asset's sha256 as 64 lower-case hex digits. */
export const ASSET_REF_PATTERN = /^[0-9a-f]{64}$/;

/** True for a value JSON can carry exactly: null, booleans, finite numbers, strings, arrays and plain objects. */
export function isJsonValue(value: unknown): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (Array.isArray(value)) return value.every(isJsonValue);
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) return false;
      return Object.values(value as Record<string, unknown>).every(isJsonValue);
    }
    default:
      return false;
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'number' && !Number.isInteger(value)) return `number ${value}`;
  return typeof value;
}

/**
 * Why `value` is not a `type`, or undefined when it is. `null` is accepted only when `nullable`.
 * Integers must be safe integers so sums stay exact.
 */
export function valueProblem(value: unknown, type: ValueType, nullable = false): string | undefined {
  if (value === null) return nullable ? undefined : `expected ${type}, got null (the field is not nullable)`;
  let ok: boolean;
  switch (type) {
    case 'string':
      ok = typeof value === 'string';
      break;
    case 'number':
      ok = typeof value === 'number' && Number.isFinite(value);
      break;
    case 'integer':
      ok = Number.isSafeInteger(value);
      break;
    case 'boolean':
      ok = typeof value === 'boolean';
      break;
    case 'string[]':
      ok = Array.isArray(value) && value.every((item) => typeof item === 'string');
      break;
    case 'json':
      ok = isJsonValue(value);
      break;
    case 'asset':
      if (typeof value === 'string' && !ASSET_REF_PATTERN.test(value)) return 'expected asset (a sha256 as 64 lower-case hex digits), got a string that is not one';
      ok = typeof value === 'string';
      break;
    default: {
      const never: never = type;
      throw new Error(`unknown value type ${String(never)}`);
    }
  }
  return ok ? undefined : `expected ${type}, got ${kindOf(value)}`;
}

/**
 * A deep copy of a JSON value with object keys in sorted order and `-0` written as `0`, so state never
 * shares objects with an event, does not keep a device's key order, and survives a JSON round trip.
 */
export function cloneJson<T>(value: T): T {
  if (value === null || typeof value !== 'object') return (Object.is(value, -0) ? 0 : value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => cloneJson(item)) as T;
  const record = value as Record<string, unknown>;
  // fromEntries defines properties, so a "__proto__" key in device data stays data.
  return Object.fromEntries(
    Object.keys(record)
      .sort(compareText)
      .filter((key) => record[key] !== undefined)
      .map((key) => [key, cloneJson(record[key])]),
  ) as T;
}
