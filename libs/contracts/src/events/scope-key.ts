/**
 * Where a record sits for partial sync: its scope key, written with every change-log row and entity.
 * - a type without a partition field: the type name (`label_set`);
 * - a type partitioned by a field (`partitionBy` in its schema): the type, U+001F, and the field's value as text
 *   (`annotation\u001fp-17`); a record without a value has the empty partition (`annotation\u001f`).
 * Type names never hold U+001F (nor any character below U+0020), so the keys of one type are exactly the range
 * from `type` (inclusive) to `type` + U+0020 (exclusive): a scope over a whole type reads one index range.
 */
export const SCOPE_KEY_SEPARATOR = '\u001f';

/** The partition a field value puts a record in: a string as it is, an integer in decimal, anything else none (''). */
export function partitionValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return '';
}

/** The scope key of a record of `type` in `partition` (undefined: the type is not partitioned). */
export function scopeKey(type: string, partition?: string): string {
  return partition === undefined ? type : `${type}${SCOPE_KEY_SEPARATOR}${partition}`;
}

/** The range `[from, to)` of every scope key of `type`, partitioned or not. */
export function typeKeyRange(type: string): { from: string; to: string } {
  return { from: type, to: `${type}\u0020` };
}

/** The partition named in a scope key (undefined: the key is a whole unpartitioned type's). */
export function partitionOfKey(key: string): string | undefined {
  const at = key.indexOf(SCOPE_KEY_SEPARATOR);
  return at < 0 ? undefined : key.slice(at + 1);
}
