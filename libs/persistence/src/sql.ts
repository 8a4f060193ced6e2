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
