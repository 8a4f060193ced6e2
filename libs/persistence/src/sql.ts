import type { DataSource, QueryRunner } from 'typeorm';
import { inTransaction } from './data-source';

/** Anything that runs SQL: a DataSource, a QueryRunner (inside a transaction) or an EntityManager. */
export interface Sql {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/** Builds a WHERE clause from conditions, numbering parameters as they are added. */
export class Where {
  readonly params: unknown[] = [];
  private readonly conditions: string[] = [];

  /** Adds a condition; each `$?` in it stands for the next of `values`, in order. */
  add(condition: string, ...values: unknown[]): this {
    let text = condition;
    for (const value of values) {
      this.params.push(value);
      text = text.replace('$?', `$${this.params.length}`);
    }
    this.conditions.push(text);
    return this;
  }

  /** A parameter for a clause outside the WHERE (LIMIT), as its placeholder. */
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  clause(): string {
    return this.conditions.length === 0 ? '' : `WHERE ${this.conditions.join(' AND ')}`;
  }
}

/**
 * Keeps the rows of `table` (a ledger with `workspace`, `entity_type`, `entity_id`) whose record is in a device's
 * read scopes: its projected entity's scope key is one of `keys`, or its type one of `types` (the entity's primary
 * key finds it; a tombstone keeps the key the record had). Nothing to add for a device that reads everything.
 */
export function inReadScope(where: Where, table: string, scope: { keys: readonly string[]; types: readonly string[] } | undefined): Where {
  if (scope === undefined) return where;
  return where.add(
    `EXISTS (SELECT 1 FROM entities e WHERE e.workspace = ${table}.workspace AND e.entity_type = ${table}.entity_type AND e.entity_id = ${table}.entity_id
       AND (e.scope_key = ANY($?::text[]) OR e.entity_type = ANY($?::text[])))`,
    [...scope.keys],
    [...scope.types],
  );
}

/** A Postgres identifier (a schema or table name) quoted for SQL text: `"name"`, any `"` doubled. */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Points the rest of a transaction at another schema (a replay's shadow): `SET LOCAL search_path`. */
export async function useSchemaLocally(q: Sql, schema: string): Promise<void> {
  await q.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
}

/** Whether one record is in a device's read scopes (undefined scope: the device reads everything). */
export async function recordInReadScope(sql: Sql, workspace: string, entityType: string, entityId: string, scope: { keys: readonly string[]; types: readonly string[] } | undefined): Promise<boolean> {
  if (scope === undefined) return true;
  const rows = (await sql.query('SELECT 1 FROM entities WHERE workspace = $1 AND entity_type = $2 AND entity_id = $3 AND (scope_key = ANY($4::text[]) OR entity_type = ANY($5::text[]))', [
    workspace,
    entityType,
    entityId,
    [...scope.keys],
    [...scope.types],
  ])) as unknown[];
  return rows.length > 0;
}

/** A position in a listing ordered by a sequence, then an id (`<seq>:<id>`, or a bare sequence). */
export interface SeqPosition {
  seq: string;
  id?: string | undefined;
}

/** The cursor `<sequence>:<id>` of a listing row. */
export const seqCursor = (seq: string | number, id: string): string => `${seq}:${id}`;

/** SQL and a way to run a function in one transaction (what stores that own transactions take). */
export interface TransactionalSql extends Sql {
  transaction<T>(fn: (q: QueryRunner) => Promise<T>): Promise<T>;
}

/** A data source as {@link TransactionalSql}: statements on the pool, transactions through `inTransaction`. */
export function transactionalSql(ds: DataSource): TransactionalSql {
  return { query: (sql, parameters) => ds.query(sql, parameters), transaction: (fn) => inTransaction(ds, fn) };
}
