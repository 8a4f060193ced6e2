import type { Change, ConflictView, PullResponse, Receipt, SnapshotResponse } from '@tidemark/contracts';
import { StorageFormatError } from '../errors';
import { expectOk, problemOf, sendWithRetry, type HttpContext } from '../http';
import type { Storage } from '../storage/storage';

export const PULL_KEY = 'pull';

/**
 * What the device has pulled: the cursor to continue from and the last version seen of each entity
 * (`type/id` → version), which becomes the `baseVersion` of the device's next edit. Written as one record
 * after each page, so the cursor and the versions never disagree.
 */
export interface PullState {
  v: 1;
  /** Cursor to pass as `after`; `undefined`: from the beginning. */
  after: string | undefined;
  versions: Record<string, number>;
  /** Highest deviceSeq up to which every receipt of this device has been delivered (0: none). */
  receiptMark?: number;
  /**
   * A snapshot being read (the device bootstraps from `GET /v1/snapshot` before its first pull): the cursor
   * its first page fixed and the entity key to continue after. Absent once the snapshot is read (`after` is
   * then its cursor), so a crash mid-snapshot continues where it stopped.
   */
  snapshot?: { cursor: string; next?: string };
  /**
   * Subscriptions whose records are still to be read (`GET /v1/snapshot?scope=…`), oldest first, each with the
   * cursor and entity key its snapshot reached: a crash mid-backfill continues where it stopped.
   */
  backfills?: Backfill[];
  /**
   * Subscriptions the app released with a time to keep them warm (`removeScopes(…, { keepForMs })`): the server
   * still holds them, so their records stay current in the replica, until `until` (the client's clock, ms); then
   * they are unsubscribed and evicted. Subscribing again before that keeps them, with nothing to backfill.
   */
  released?: Released[];
}

/** A released subscription kept warm until `until`. */
export interface Released {
  scope: string;
  value?: string;
  until: number;
}

/** A subscription's backfill in progress. */
export interface Backfill {
  scope: string;
  value?: string;
  cursor?: string;
  next?: string;
}

/** What one `pull()` did. */
export interface PullSummary {
  pages: number;
  changes: number;
  conflicts: number;
  /** Receipts of this device delivered. */
  receipts: number;
  /** The cursor after the last page. */
  cursor: string | undefined;
  /** When this pull bootstrapped from the snapshot: its pages and entries (delivered as `change`s too), and its cursor. */
  snapshot?: { pages: number; entries: number; cursor: string };
  /** Entries read by the backfills of new subscriptions. */
  backfilled?: number;
}

/**
 * Content codings the puller asks for. Node's `fetch` and browsers decode them transparently (a browser sets
 * `Accept-Encoding` itself and ignores this one); the gateway compresses pull and snapshot answers from
 * `SYNC_COMPRESS_MIN_BYTES`.
 */
export const ACCEPT_ENCODING = 'br, gzip';

export interface PullHooks {
  change(change: Change): Promise<void>;
  conflict(change: Change): Promise<void>;
  conflictUpdate(conflict: ConflictView): Promise<void>;
  receipt(receipt: Receipt): Promise<void>;
}

export function entityKey(type: string, id: string): string {
  return `${type}/${id}`;
}

export async function loadPullState(storage: Storage): Promise<PullState> {
  const text = await storage.get(PULL_KEY);
  if (text === undefined) return { v: 1, after: undefined, versions: {} };
  let state: PullState;
  try {
    state = JSON.parse(text) as PullState;
  } catch (error) {
    throw new StorageFormatError(`storage record ${PULL_KEY} is not JSON`, { cause: error });
  }
  if (state.v !== 1) throw new StorageFormatError(`${PULL_KEY} has version ${String(state.v)}; this client reads version 1`);
  return {
    v: 1,
    after: state.after ?? undefined,
    versions: state.versions ?? {},
    receiptMark: state.receiptMark ?? 0,
    ...(state.snapshot ? { snapshot: state.snapshot } : {}),
    ...(state.backfills?.length ? { backfills: state.backfills } : {}),
    ...(state.released?.length ? { released: state.released } : {}),
  };
}

/** The state as stored: what is given, with the backfills still to read and the released subscriptions carried over. */
function stored(state: PullState, next: Omit<PullState, 'v' | 'backfills' | 'released'>): PullState {
  return { v: 1, ...next, ...(state.backfills?.length ? { backfills: state.backfills } : {}), ...(state.released?.length ? { released: state.released } : {}) };
}

/**
 * Gives each entry of a snapshot page to the hooks, the conflicts open on the page's entities first (as a pull sends
 * a conflict before the change it rides on); returns the versions with the page's, and how many entries were in conflict.
 */
async function applySnapshotPage(
  page: SnapshotResponse,
  versions: Record<string, number>,
  hooks: Pick<PullHooks, 'change' | 'conflict' | 'conflictUpdate'>,
): Promise<{ versions: Record<string, number>; conflicts: number }> {
  const next = { ...versions };
  let conflicts = 0;
  for (const conflict of page.conflicts ?? []) await hooks.conflictUpdate(conflict);
  for (const change of page.changes) {
    await hooks.change(change);
    if (change.inConflict.length > 0) {
      conflicts++;
      await hooks.conflict(change);
    }
    next[entityKey(change.entity.type, change.entity.id)] = change.version;
  }
  return { versions: next, conflicts };
}

function snapshotBody(answer: { body: unknown }): SnapshotResponse {
  const page = answer.body as SnapshotResponse;
  if (!page || !Array.isArray(page.changes) || typeof page.cursor !== 'string') throw new Error(`/v1/snapshot answered an unexpected body: ${JSON.stringify(answer.body).slice(0, 200)}`);
  return page;
}

/**
 * Reads the records of each subscription added (its backfill) from `GET /v1/snapshot?scope=…`, page by page, through
 * the same hooks as pulled changes, storing the state after each page. The pull cursor does not move: changes after
 * the snapshot's cursor arrive by pull (older versions than a record holds are ignored by version). A subscription
 * the server no longer allows (403, or 400 naming the scope) ends its backfill; a snapshot cursor the server no longer
 * knows starts it again.
 */
export async function pullBackfills(
  ctx: HttpContext,
  storage: Storage,
  state: PullState,
  pageSize: number,
  hooks: Pick<PullHooks, 'change' | 'conflict' | 'conflictUpdate'>,
  signal: AbortSignal,
): Promise<{ pages: number; entries: number; conflicts: number }> {
  const http = pullContext(ctx);
  const done = { pages: 0, entries: 0, conflicts: 0 };
  while (state.backfills?.length) {
    const [backfill, ...rest] = state.backfills;
    const params: Record<string, string> = { scope: backfill!.scope, limit: String(pageSize) };
    if (backfill!.value !== undefined) params.value = backfill!.value;
    if (backfill!.cursor !== undefined) params.cursor = backfill!.cursor;
    if (backfill!.next !== undefined) params.after = backfill!.next;
    const answer = (await sendWithRetry(http, 'GET', `/v1/snapshot?${new URLSearchParams(params).toString()}`, undefined, signal))!;
    const pointers = problemOf(answer)?.errors?.map((e) => e.pointer) ?? [];
    let remaining: Backfill[] = rest;
    if (answer.status === 400 && backfill!.cursor !== undefined && pointers.includes('query:cursor'))
      remaining = [{ scope: backfill!.scope, ...(backfill!.value !== undefined ? { value: backfill!.value } : {}) }, ...rest];
    else if (answer.status === 403 || (answer.status === 400 && pointers.includes('query:scope'))) remaining = rest;
    else {
      expectOk(answer, '/v1/snapshot');
      const page = snapshotBody(answer);
      const applied = await applySnapshotPage(page, state.versions, hooks);
      state.versions = applied.versions;
      done.conflicts += applied.conflicts;
      done.pages++;
      done.entries += page.changes.length;
      if (page.hasMore && page.next !== undefined) remaining = [{ ...backfill!, cursor: page.cursor, next: page.next }, ...rest];
    }
    state.backfills = remaining;
    await storage.put(
      PULL_KEY,
      JSON.stringify(stored(state, { after: state.after, versions: state.versions, receiptMark: state.receiptMark ?? 0, ...(state.snapshot ? { snapshot: state.snapshot } : {}) })),
    );
  }
  return done;
}

/** The request context of pulls: the same, asking for compressed answers. */
function pullContext(ctx: HttpContext): HttpContext {
  return { ...ctx, headers: { 'accept-encoding': ACCEPT_ENCODING, ...ctx.headers } };
}

/** True when a pull should start by reading the snapshot: nothing was ever pulled, or a snapshot is half read. */
export function needsSnapshot(state: PullState): boolean {
  return state.snapshot !== undefined || state.after === undefined || state.after === '0';
}

/**
 * Bootstraps a device that never pulled from `GET /v1/snapshot`: each entity's current state, one entry per
 * entity, instead of every version it ever had. Each entry is a {@link Change} and goes through the same hooks
 * as pulled changes (`change`, and `conflict` when it has fields in conflict), and the conflicts open on a page's
 * entities go to `conflictUpdate` before them; the state is stored after each
 * page, so a crash continues with the next page. When every page is read, the pull cursor becomes the
 * snapshot's cursor and {@link pullChanges} continues from it: what changed while the snapshot was read
 * arrives as changes (at least once, like every pull). A snapshot cursor the server no longer knows (its
 * database was restored to an earlier point) starts the snapshot again.
 */
export async function pullSnapshot(
  ctx: HttpContext,
  storage: Storage,
  state: PullState,
  pageSize: number,
  hooks: Pick<PullHooks, 'change' | 'conflict' | 'conflictUpdate'>,
  signal: AbortSignal,
): Promise<{ pages: number; entries: number; conflicts: number; cursor: string }> {
  const http = pullContext(ctx);
  const done = { pages: 0, entries: 0, conflicts: 0, cursor: state.snapshot?.cursor ?? '0' };
  for (;;) {
    const params: Record<string, string> = { limit: String(pageSize) };
    if (state.snapshot) params.cursor = state.snapshot.cursor;
    if (state.snapshot?.next !== undefined) params.after = state.snapshot.next;
    const answer = (await sendWithRetry(http, 'GET', `/v1/snapshot?${new URLSearchParams(params).toString()}`, undefined, signal))!;
    if (answer.status === 400 && state.snapshot && problemOf(answer)?.errors?.some((e) => e.pointer === 'query:cursor')) {
      state.snapshot = undefined;
      continue;
    }
    expectOk(answer, '/v1/snapshot');
    const page = snapshotBody(answer);
    const { versions, conflicts } = await applySnapshotPage(page, state.versions, hooks);
    done.conflicts += conflicts;
    const finished = !page.hasMore || page.next === undefined;
    const next = stored(state, {
      after: finished ? page.cursor : state.after,
      versions,
      receiptMark: state.receiptMark ?? 0,
      ...(finished ? {} : { snapshot: { cursor: page.cursor, next: page.next! } }),
    });
    await storage.put(PULL_KEY, JSON.stringify(next));
    state.after = next.after;
    state.versions = versions;
    state.snapshot = next.snapshot;
    done.pages++;
    done.entries += page.changes.length;
    done.cursor = page.cursor;
    if (finished) return done;
  }
}

/**
 * Pulls pages of changes after the saved cursor until `hasMore` is false. For each page, every change goes to
 * `hooks.change` (and, when it has fields in conflict, to `hooks.conflict`) in cursor order, then the new cursor
 * is stored. A hook that throws stops the pull before the cursor moves, so that page is delivered again by the
 * next pull: delivery is at least once, and an application applies a change idempotently by its `version`.
 */
export async function pullChanges(
  ctx: HttpContext,
  storage: Storage,
  state: PullState,
  pageSize: number,
  hooks: PullHooks,
  signal: AbortSignal,
  waitSeconds?: number,
  /** Device sequences that will never have a receipt (events the server refused for good, in quarantine). */
  neverReceipted: ReadonlySet<number> = new Set(),
  /** Read the snapshot first when {@link needsSnapshot} says so (default); false: pull every change from the start. */
  bootstrap = true,
): Promise<PullSummary> {
  const summary: PullSummary = { pages: 0, changes: 0, conflicts: 0, receipts: 0, cursor: state.after };
  if (bootstrap && needsSnapshot(state)) {
    const read = await pullSnapshot(ctx, storage, state, pageSize, hooks, signal);
    summary.snapshot = { pages: read.pages, entries: read.entries, cursor: read.cursor };
    summary.conflicts += read.conflicts;
    summary.cursor = state.after;
  }
  if (state.backfills?.length) {
    const read = await pullBackfills(ctx, storage, state, pageSize, hooks, signal);
    summary.backfilled = read.entries;
    summary.conflicts += read.conflicts;
  }
  const http = pullContext(ctx);
  for (;;) {
    const params: Record<string, string> = { limit: String(pageSize), receiptsAfter: String(state.receiptMark ?? 0) };
    if (state.after !== undefined) params.after = state.after;
    if (summary.pages === 0 && waitSeconds !== undefined) params.wait = String(waitSeconds);
    const path = `/v1/changes?${new URLSearchParams(params).toString()}`;
    const answer = (await sendWithRetry(http, 'GET', path, undefined, signal))!;
    expectOk(answer, '/v1/changes');
    const page = answer.body as PullResponse;
    if (!page || !Array.isArray(page.changes) || typeof page.next !== 'string') throw new Error(`/v1/changes answered an unexpected body: ${JSON.stringify(answer.body).slice(0, 200)}`);
    const versions = { ...state.versions };
    const conflictsByEvent = new Map<string, ConflictView[]>();
    for (const c of page.conflicts ?? []) for (const id of [c.opened.eventId, c.resolved?.eventId]) if (id) conflictsByEvent.set(id, [...(conflictsByEvent.get(id) ?? []), c]);
    for (const change of page.changes) {
      for (const conflict of conflictsByEvent.get(change.eventId) ?? []) await hooks.conflictUpdate(conflict);
      await hooks.change(change);
      if (change.inConflict.length > 0) {
        summary.conflicts++;
        await hooks.conflict(change);
      }
      // A record that left the device's scopes is no longer held: its next edit starts from nothing.
      if (change.outOfScope) delete versions[entityKey(change.entity.type, change.entity.id)];
      else versions[entityKey(change.entity.type, change.entity.id)] = change.version;
    }
    // Receipts of one device commit in any order, so the mark only moves over a contiguous run; a sequence
    // the server refused for good has no receipt to wait for, and is stepped over.
    const receipts = page.receipts ?? [];
    const markBefore = state.receiptMark ?? 0;
    let receiptMark = markBefore;
    for (const receipt of receipts) await hooks.receipt(receipt);
    const seqs = new Set(receipts.map((r) => r.deviceSeq));
    while (seqs.has(receiptMark + 1) || neverReceipted.has(receiptMark + 1)) receiptMark++;
    const next = stored(state, { after: page.next, versions, receiptMark });
    await storage.put(PULL_KEY, JSON.stringify(next));
    state.after = next.after;
    state.versions = versions;
    state.receiptMark = receiptMark;
    summary.pages++;
    summary.changes += page.changes.length;
    summary.receipts += receipts.length;
    summary.cursor = state.after;
    // A full page of receipts that moved the mark may have more behind it.
    const moreReceipts = receipts.length >= pageSize && receiptMark > markBefore;
    if ((!page.hasMore || page.changes.length === 0) && !moreReceipts) return summary;
  }
}
