import type { ConflictView } from '@tidemark/contracts';
import { canonicalJson } from '@tidemark/contracts/core';

/**
 * Where an entity stands, from this device's point of view:
 * - `pending`: a write of this device is waiting in the outbox (not acknowledged by the server yet);
 * - `acknowledged`: the server journaled every such write, and has not yet sent the state that shows it;
 * - `applied`: what the device reads is the server's state (no write of its own outstanding);
 * - `conflicted`: the entity has an open conflict (whatever else is true: it needs a person).
 */
export type SyncStatus = 'pending' | 'acknowledged' | 'applied' | 'conflicted';

/** What `get`, `query` and subscriptions answer for one entity: the server's state with this device's writes over it. */
export interface EntityRead {
  type: string;
  id: string;
  /** The version the server last sent (0: never pulled; only this device's writes so far). Pass it as `baseVersion`. */
  version: number;
  deleted: boolean;
  /** Field values, this device's unsettled writes included (empty while deleted). */
  values: Record<string, unknown>;
  /** Fields with an open conflict (`$entity`: a delete conflict). */
  inConflict: string[];
  job?: { state: string; attempt: number; error?: string };
  /** Assets the synced state references and where their bytes stand. */
  assets?: { field: string; sha256: string; status: 'verified' | 'uploading' | 'missing' }[];
  status: SyncStatus;
  /** Open conflicts of the entity (the ledger entries pulled with the changes): pass `id` to `resolve`. */
  conflicts: ConflictView[];
  /** This device's writes (and resolutions) on the entity the server's state does not show yet. */
  unsettled: number;
}

/** A comparable value for `gt`/`gte`/`lt`/`lte`: numbers with numbers, strings with strings (by code unit). */
export type Comparable = string | number | boolean;

/** Conditions on one field; every one given must hold. `eq`/`ne`/`in` compare JSON values (canonical JSON). */
export interface FieldCondition {
  eq?: unknown;
  ne?: unknown;
  in?: readonly unknown[];
  gt?: Comparable;
  gte?: Comparable;
  lt?: Comparable;
  lte?: Comparable;
}

/** A field name, or `$id`, `$version`, `$status`. */
export type QueryField = string;

export interface OrderBy {
  field: QueryField;
  direction?: 'asc' | 'desc';
}

/**
 * A query over one entity type of the replica. `where` maps a field (or `$id`, `$version`, `$status`) to a value
 * (equality; a missing field equals `null`) or to a {@link FieldCondition}. Results are ordered by `orderBy`
 * (a field name, `-field` for descending, an {@link OrderBy} or a list of them), then by id; missing values sort
 * last. Deleted entities are left out unless `includeDeleted`.
 */
export interface ReplicaQuery {
  type: string;
  where?: Record<QueryField, string | number | boolean | null | FieldCondition>;
  orderBy?: QueryField | OrderBy | readonly (QueryField | OrderBy)[];
  limit?: number;
  includeDeleted?: boolean;
}

const OPERATORS = new Set(['eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte']);

type Test = (read: EntityRead) => boolean;

function valueOf(read: EntityRead, field: QueryField): unknown {
  switch (field) {
    case '$id':
      return read.id;
    case '$version':
      return read.version;
    case '$status':
      return read.status;
    default:
      return read.values[field];
  }
}

const same = (a: unknown, b: unknown): boolean =>
  (a === undefined ? null : a) === (b === undefined ? null : b) || (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && canonicalJson(a) === canonicalJson(b));

/** Order of two comparable values of the same type; undefined when they cannot be compared. */
function order(a: unknown, b: unknown): number | undefined {
  if (typeof a !== typeof b) return undefined;
  if (typeof a === 'number') return a - (b as number);
  if (typeof a === 'string') return a < (b as string) ? -1 : a > (b as string) ? 1 : 0;
  if (typeof a === 'boolean') return Number(a) - Number(b);
  return undefined;
}

function conditionTest(field: QueryField, condition: FieldCondition): Test {
  for (const key of Object.keys(condition)) if (!OPERATORS.has(key)) throw new RangeError(`query: unknown operator "${key}" on "${field}" (use eq, ne, in, gt, gte, lt, lte)`);
  const tests: Test[] = [];
  const cmp =
    (bound: Comparable, ok: (n: number) => boolean): Test =>
    (read) => {
      const n = order(valueOf(read, field), bound);
      return n !== undefined && ok(n);
    };
  if ('eq' in condition) tests.push((read) => same(valueOf(read, field), condition.eq));
  if ('ne' in condition) tests.push((read) => !same(valueOf(read, field), condition.ne));
  if (condition.in !== undefined) {
    const options = condition.in;
    tests.push((read) => options.some((option) => same(valueOf(read, field), option)));
  }
  if (condition.gt !== undefined) tests.push(cmp(condition.gt, (n) => n > 0));
  if (condition.gte !== undefined) tests.push(cmp(condition.gte, (n) => n >= 0));
  if (condition.lt !== undefined) tests.push(cmp(condition.lt, (n) => n < 0));
  if (condition.lte !== undefined) tests.push(cmp(condition.lte, (n) => n <= 0));
  return (read) => tests.every((test) => test(read));
}

/** The filter of a query (deleted entities out unless asked for). */
export function queryFilter(query: ReplicaQuery): Test {
  const tests: Test[] = [];
  if (!query.includeDeleted) tests.push((read) => !read.deleted);
  for (const [field, condition] of Object.entries(query.where ?? {})) {
    if (condition !== null && typeof condition === 'object') tests.push(conditionTest(field, condition));
    else tests.push((read) => same(valueOf(read, field), condition));
  }
  return (read) => {
    for (let i = 0; i < tests.length; i++) if (!tests[i]!(read)) return false;
    return true;
  };
}

/** Rank of a value's type, so values of different types still sort in one total order; missing values last. */
function rank(value: unknown): number {
  switch (typeof value) {
    case 'number':
      return 0;
    case 'string':
      return 1;
    case 'boolean':
      return 2;
    case 'undefined':
      return 5;
    default:
      return value === null ? 4 : 3;
  }
}

function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 3) {
    const ka = canonicalJson(a);
    const kb = canonicalJson(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  }
  return order(a, b) ?? 0;
}

interface SortKey {
  field: QueryField;
  desc: boolean;
}

function sortKeys(query: ReplicaQuery): SortKey[] {
  const given = query.orderBy === undefined ? [] : Array.isArray(query.orderBy) ? (query.orderBy as readonly (QueryField | OrderBy)[]) : [query.orderBy as QueryField | OrderBy];
  return given.map((item) =>
    typeof item === 'string' ? (item.startsWith('-') ? { field: item.slice(1), desc: true } : { field: item, desc: false }) : { field: item.field, desc: item.direction === 'desc' },
  );
}

/** Compares the sort values of two entities (one per key), then their ids. Missing values sort last in either direction. */
function compareKeyed(keys: readonly SortKey[], a: { values: unknown[]; id: string }, b: { values: unknown[]; id: string }): number {
  for (let i = 0; i < keys.length; i++) {
    const va = a.values[i];
    const vb = b.values[i];
    let n: number;
    if (typeof va === 'number' && typeof vb === 'number') n = va - vb;
    else if (typeof va === 'string' && typeof vb === 'string') n = va < vb ? -1 : va > vb ? 1 : 0;
    else {
      const ma = va === undefined || va === null;
      const mb = vb === undefined || vb === null;
      if (ma || mb) {
        if (ma && mb) continue; // no value either side (null or absent): equal here
        return ma ? 1 : -1;
      }
      n = compareValues(va, vb);
    }
    if (n !== 0) return keys[i]!.desc ? -n : n;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Runs a query over the reads of its type: filter, order, limit. Sort values are read once per matching entity; with
 * a small limit the first `limit` results are kept in a bounded sorted buffer (no full sort), so a top-20 over
 * 10 000 entities is one pass.
 */
export function runQuery(reads: readonly EntityRead[], query: ReplicaQuery): EntityRead[] {
  const test = queryFilter(query);
  const keys = sortKeys(query);
  const limit = query.limit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw new RangeError(`query: limit must be a non-negative integer, not ${String(limit)}`);
  const row = (read: EntityRead) => ({ read, values: keys.map((k) => valueOf(read, k.field)), id: read.id });
  if (limit !== undefined && limit <= 64) {
    const top: ReturnType<typeof row>[] = [];
    if (limit === 0) return [];
    for (const read of reads) {
      if (!test(read)) continue;
      const candidate = row(read);
      if (top.length === limit && compareKeyed(keys, candidate, top[limit - 1]!) >= 0) continue;
      let at = top.length;
      while (at > 0 && compareKeyed(keys, candidate, top[at - 1]!) < 0) at--;
      top.splice(at, 0, candidate);
      if (top.length > limit) top.pop();
    }
    return top.map((r) => r.read);
  }
  const rows: ReturnType<typeof row>[] = [];
  for (const read of reads) if (test(read)) rows.push(row(read));
  rows.sort((x, y) => compareKeyed(keys, x, y));
  return (limit === undefined ? rows : rows.slice(0, limit)).map((r) => r.read);
}

/** A stable text for a query (the key of a live view). */
export function queryKey(query: ReplicaQuery): string {
  return canonicalJson(query);
}
