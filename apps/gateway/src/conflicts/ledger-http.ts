import type { Access } from '@tidemark/access';
import { ProblemType, problem, type InvalidParam, type Validated } from '@tidemark/contracts';
import {
  seqCursor,
  type ConflictResolver,
  type ConflictsRepository,
  type DeviceProgressRepository,
  type ReceiptsRepository,
  type RepairsRepository,
  type ScopeSelection,
  type SeqPosition,
} from '@tidemark/persistence';
import { ProblemError, parsePath, parseQuery as parseQueryAs } from '@tidemark/platform';

/** What the ledger routes (conflicts, resolution, receipts, repairs, sequence) need. */
export interface LedgerDeps {
  receipts: ReceiptsRepository;
  conflicts: ConflictsRepository;
  repairs: RepairsRepository;
  progress: DeviceProgressRepository;
  /** Resolves conflicts: a resolution is journaled exactly like a device push (built by the composition root). */
  resolver: ConflictResolver;
  /** What a device may do under its workspace's access rules in force now (`AccessRulesStore.access`). */
  access: (workspace: string, deviceId: string) => Promise<Access>;
  /**
   * The read scopes a device reads (undefined: everything), from its cached read filter: the ledger lists only
   * conflicts and repairs of records in them, and one outside them is answered 404 like an unknown id.
   */
  readScope: (workspace: string, deviceId: string) => Promise<ScopeSelection | undefined>;
  /** Whether a record is in `scope` (`recordInReadScope`). */
  inScope: (workspace: string, entityType: string, entityId: string, scope: ScopeSelection | undefined) => Promise<boolean>;
}

export const LEDGER_DEPS = Symbol('LEDGER_DEPS');

/** Query parsing as every service does it; ledger queries convert `limit` to an integer. */
export const parseQuery = <T>(validate: (input: unknown) => Validated<T>, query: Record<string, unknown> | undefined, integers: readonly string[] = ['limit']): T =>
  parseQueryAs(validate, query, integers);
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
export const encodeCursor = seqCursor;

export function decodeCursor(cursor: string): SeqPosition & { id: string | undefined } {
  const colon = cursor.indexOf(':');
  return colon < 0 ? { seq: cursor, id: undefined } : { seq: cursor.slice(0, colon), id: cursor.slice(colon + 1) };
}

/** One page of rows fetched with `limit + 1`: the page, whether more follow, and the next cursor. */
export function pageOf<R>(rows: R[], limit: number, cursorOf: (row: R) => string, after: string | undefined): { page: R[]; hasMore: boolean; next?: string } {
  const page = rows.slice(0, limit);
  const next = page.length > 0 ? cursorOf(page[page.length - 1]!) : after;
  return { page, hasMore: rows.length > limit, ...(next !== undefined ? { next } : {}) };
}
