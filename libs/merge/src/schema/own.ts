/**
 * Own-property read. Field names such as `constructor` are legal, so a plain `record[name]` could
 * answer with something inherited from Object.prototype; every lookup by an outside name goes here.
 */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/** The keys of a record, sorted by code unit, so iteration never depends on insertion order. */
export function sortedKeys(record: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(record).sort(compareText);
}

/** Code-unit comparison: the same answer on every platform and locale (never `localeCompare`). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A copy of a record with its keys in sorted order. */
export function sortRecord<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(sortedKeys(record).map((key) => [key, record[key] as T]));
}

export function assertNever(value: never, what: string): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}

/** Freezes a value and everything inside it (schemas shipped as data must not be edited in place). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
