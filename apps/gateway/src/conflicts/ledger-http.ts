import type { Access } from '@tidemark/access';
import { ProblemType, problem, type InvalidParam, type Validated } from '@tidemark/contracts';
import type { DataSource, QueryRunner } from '@tidemark/persistence';
import type { JetStreamManager } from '@tidemark/messaging';
import { ProblemError, parsePath, parseQuery as parseQueryAs } from '@tidemark/platform';
import type { PushDeps } from '../push/push.service';

/** What the ledger routes (conflicts, resolution, receipts, repairs) need. */
export interface LedgerDeps {
  ds: DataSource;
  /** The push path: a resolution is journaled exactly like a device push. */
  push: PushDeps;
  /** Reads single journal entries (the event that opened a conflict). */
  journal: () => JetStreamManager;
  /** What a device may do under its workspace's access rules in force now (`AccessRulesStore.access`). */
  access: (workspace: string, deviceId: string) => Promise<Access>;
}

export const LEDGER_DEPS = Symbol('LEDGER_DEPS');

/** Anything with `query` (a DataSource or a QueryRunner). */
export type Sql = Pick<DataSource | QueryRunner, 'query'>;

/** Query parsing as every service does it; ledger queries convert `limit` to an integer. */
export const parseQuery = <T>(validate: (input: unknown) => Validated<T>, query: Record<string, unknown> | undefined, integers: readonly string[] = ['limit']): T => parseQueryAs(validate, query, integers);
export { parsePath };

/** Problems of a JSON body, with pointers into the body. */
export function invalidBody(errors: InvalidParam[]): ProblemError {
  return ProblemError.validation(errors, 'nothing of this request was journaled');
}

/** 404 for an id that is unknown in this workspace (an id of another workspace is unknown here too). */
export function notFound(what: string, id: string, workspace: string): ProblemError {
  return new ProblemError(problem(ProblemType.notFound, 404, 'Not found', { detail: `no ${what} "${id}" in workspace "${workspace}"` }));
}

/** A cursor `<sequence>:<id>`: position in a listing ordered by a journal or device sequence, then an id. */
export function encodeCursor(seq: string | number, id: string): string {
  return `${seq}:${id}`;
}

export function decodeCursor(cursor: string): { seq: string; id: string | undefined } {
  const colon = cursor.indexOf(':');
  return colon < 0 ? { seq: cursor, id: undefined } : { seq: cursor.slice(0, colon), id: cursor.slice(colon + 1) };
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

/** One page of rows fetched with `limit + 1`: the page, whether more follow, and the next cursor. */
export function pageOf<R>(rows: R[], limit: number, cursorOf: (row: R) => string, after: string | undefined): { page: R[]; hasMore: boolean; next?: string } {
  const page = rows.slice(0, limit);
  const next = page.length > 0 ? cursorOf(page[page.length - 1]!) : after;
  return { page, hasMore: rows.length > limit, ...(next !== undefined ? { next } : {}) };
}

export const iso = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();
export const int = (value: string | number): number => Number(value);
