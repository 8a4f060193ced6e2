import type { Sql } from './sql';
import { CONFLICT_COLUMNS, type ConflictLedgerRow } from './conflict-resolution';

/**
 * What operators list page by page: the conflict ledger, parked entries and the audit log. Every list is
 * keyset-paged (the cursor is the last row's key, so a page costs its rows however deep it is, and rows
 * added meanwhile neither shift nor repeat a page) and filtered by exact values; at most `limit` rows come
 * back, plus one to tell whether there are more.
 */

/** The largest page any of these lists serves. */
export const OPS_LIST_MAX_LIMIT = 500;

/** Collects `WHERE` terms, numbering their `$n` parameters in order. */
class Conditions {
  readonly terms: string[] = [];
  readonly params: unknown[] = [];
  add(sql: string, ...values: unknown[]): this {
    let text = sql;
    for (const v of values) text = text.replace('$?', `$${this.params.push(v)}`);
    this.terms.push(text);
    return this;
  }
  where(): string {
    return this.terms.length ? `WHERE ${this.terms.join(' AND ')}` : '';
  }
  next(value: unknown): string {
    return `$${this.params.push(value)}`;
  }
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > OPS_LIST_MAX_LIMIT) throw new RangeError(`limit must be an integer from 1 to ${OPS_LIST_MAX_LIMIT}, got ${limit}`);
}

/** A page of rows and whether more follow it. */
export interface RowPage<T> {
  rows: T[];
  hasMore: boolean;
}

function page<T>(rows: T[], limit: number): RowPage<T> {
  return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
}

// ── conflicts ───────────────────────────────────────────────────────────────────────────────────────

export interface ConflictFilter {
  workspace?: string;
  /** Default: every status. */
  status?: 'open' | 'resolved';
  entityType?: string;
  field?: string;
  entityId?: string;
  /** Only these conflicts (with `workspace`, or in any workspace). */
  conflictIds?: string[];
}

/** `<opened seq>:<conflict id>` split into its parts (the format `conflictCursor` writes). */
export function parseConflictCursor(cursor: string): { seq: string; conflictId: string } | undefined {
  const m = /^([0-9]{1,18}):(.+)$/.exec(cursor);
  return m ? { seq: m[1]!, conflictId: m[2]! } : undefined;
}

/** Conflicts in the order the journal opened them, after the cursor `after` (`conflictCursor` of the last row seen). */
export async function listConflicts(sql: Sql, filter: ConflictFilter, limit: number, after?: string): Promise<RowPage<ConflictLedgerRow>> {
  checkLimit(limit);
  const c = new Conditions();
  if (filter.status !== undefined) c.add('status = $?', filter.status);
  if (filter.workspace !== undefined) c.add('workspace = $?', filter.workspace);
  if (filter.entityType !== undefined) c.add('entity_type = $?', filter.entityType);
  if (filter.field !== undefined) c.add('field = $?', filter.field);
  if (filter.entityId !== undefined) c.add('entity_id = $?', filter.entityId);
  if (filter.conflictIds !== undefined) c.add('conflict_id = ANY($?::text[])', filter.conflictIds);
  if (after !== undefined) {
    const cursor = parseConflictCursor(after);
    if (!cursor) throw new RangeError(`not a conflict cursor: ${after}`);
    c.add('(opened_seq, conflict_id) > ($?::bigint, $?::text)', cursor.seq, cursor.conflictId);
  }
  const rows = (await sql.query(`SELECT ${CONFLICT_COLUMNS} FROM conflicts ${c.where()} ORDER BY opened_seq, conflict_id LIMIT ${c.next(limit + 1)}`, c.params)) as ConflictLedgerRow[];
  return page(rows, limit);
}

/** Every conflict with this id (in `workspace` when named), by workspace: an id is per workspace, so several may hold it. */
export async function conflictsWithId(sql: Sql, conflictId: string, workspace?: string): Promise<ConflictLedgerRow[]> {
  return (await sql.query(`SELECT ${CONFLICT_COLUMNS} FROM conflicts WHERE conflict_id = $1 AND ($2::text IS NULL OR workspace = $2) ORDER BY workspace`, [
    conflictId,
    workspace ?? null,
  ])) as ConflictLedgerRow[];
}

// ── parked entries ──────────────────────────────────────────────────────────────────────────────────

/** A row of `parked_events` as operators read it. */
export interface ParkedLedgerRow {
  consumer: string;
  stream_seq: string;
  event_id: string | null;
  workspace: string | null;
  subject: string;
  reason: string;
  code: string | null;
  attempts: number;
  payload: string;
  status: string;
  parked_at: Date;
  resolution: string | null;
  resolved_seq: string | null;
  note: string | null;
}

const PARKED_COLUMNS = 'consumer, stream_seq, event_id, workspace, subject, reason, code, attempts, payload, status, parked_at, resolution, resolved_seq, note';

export interface ParkedFilter {
  workspace?: string;
  consumer?: string;
  /** Default: every status. */
  status?: string;
  code?: string;
}

/**
 * Parked entries in journal order after the journal sequence `after` (the `stream_seq` of the last row seen;
 * a journal message goes to one partition consumer, so the sequence alone orders the live entries).
 */
export async function listParked(sql: Sql, filter: ParkedFilter, limit: number, after?: string): Promise<RowPage<ParkedLedgerRow>> {
  checkLimit(limit);
  const c = new Conditions();
  if (filter.workspace !== undefined) c.add('workspace = $?', filter.workspace);
  if (filter.consumer !== undefined) c.add('consumer = $?', filter.consumer);
  if (filter.status !== undefined) c.add('status = $?', filter.status);
  if (filter.code !== undefined) c.add('code = $?', filter.code);
  if (after !== undefined) c.add('stream_seq > $?::bigint', after);
  const rows = (await sql.query(`SELECT ${PARKED_COLUMNS} FROM parked_events ${c.where()} ORDER BY stream_seq, consumer LIMIT ${c.next(limit + 1)}`, c.params)) as ParkedLedgerRow[];
  return page(rows, limit);
}

/** One parked entry, locked `FOR UPDATE` when asked (inside a transaction: concurrent actions on it run one after the other). */
export async function findParked(sql: Sql, consumer: string, seq: number, lock = false): Promise<ParkedLedgerRow | undefined> {
  const rows = (await sql.query(`SELECT ${PARKED_COLUMNS} FROM parked_events WHERE consumer = $1 AND stream_seq = $2${lock ? ' FOR UPDATE' : ''}`, [consumer, seq])) as ParkedLedgerRow[];
  return rows[0];
}

// ── the audit log ───────────────────────────────────────────────────────────────────────────────────

/** A row of `audit_log` (written by `recordAudit` of `@tidemark/auth`). */
export interface AuditLogRow {
  id: string;
  at: Date;
  actor: string;
  actor_kind: string;
  token_id: string | null;
  action: string;
  target: Record<string, unknown>;
  reason: string | null;
  detail: unknown;
  outcome: string;
}

export interface AuditFilter {
  /** An action (`conflict.resolve`), or every action under a prefix (`parked.*`). */
  action?: string;
  actor?: string;
  outcome?: string;
  /** The workspace its target names (`target.workspace`). */
  workspace?: string;
  /** Members its target has with these values (compared as text: `{ consumer: 'merge-p00', seq: '17' }`). */
  target?: Record<string, string>;
}

/**
 * Audit entries newest first, before the id `before` (the `id` of the last row seen). Filters other than
 * `action` are not indexed: a page reads entries newest first until it has `limit` matching ones.
 */
export async function listAudit(sql: Sql, filter: AuditFilter, limit: number, before?: string): Promise<RowPage<AuditLogRow>> {
  checkLimit(limit);
  const c = new Conditions();
  if (filter.action !== undefined) {
    if (filter.action.endsWith('.*'))
      c.add(
        "action LIKE $? || '%'",
        filter.action.slice(0, -1).replace(/[\\%_]/g, (ch) => `\\${ch}`),
      );
    else c.add('action = $?', filter.action);
  }
  if (filter.actor !== undefined) c.add('actor = $?', filter.actor);
  if (filter.outcome !== undefined) c.add('outcome = $?', filter.outcome);
  if (filter.workspace !== undefined) c.add("target->>'workspace' = $?", filter.workspace);
  for (const [key, value] of Object.entries(filter.target ?? {})) c.add('target->>$? = $?', key, value);
  if (before !== undefined) c.add('id < $?::bigint', before);
  const rows = (await sql.query(
    `SELECT id, at, actor, actor_kind, token_id, action, target, reason, detail, outcome FROM audit_log ${c.where()} ORDER BY id DESC LIMIT ${c.next(limit + 1)}`,
    c.params,
  )) as AuditLogRow[];
  return page(rows, limit);
}
