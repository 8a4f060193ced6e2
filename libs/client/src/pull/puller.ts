import type { Change, ConflictView, PullResponse, Receipt } from '@tidemark/contracts';
import { StorageFormatError } from '../errors';
import { expectOk, sendWithRetry, type HttpContext } from '../http';
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
}

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
  return { v: 1, after: state.after ?? undefined, versions: state.versions ?? {}, receiptMark: state.receiptMark ?? 0 };
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
): Promise<PullSummary> {
  const summary: PullSummary = { pages: 0, changes: 0, conflicts: 0, receipts: 0, cursor: state.after };
  for (;;) {
    const params: Record<string, string> = { limit: String(pageSize), receiptsAfter: String(state.receiptMark ?? 0) };
    if (state.after !== undefined) params.after = state.after;
    if (summary.pages === 0 && waitSeconds !== undefined) params.wait = String(waitSeconds);
    const path = `/v1/changes?${new URLSearchParams(params).toString()}`;
    const answer = (await sendWithRetry(ctx, 'GET', path, undefined, signal))!;
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
      versions[entityKey(change.entity.type, change.entity.id)] = change.version;
    }
    // Receipts of one device commit in any order, so the mark only moves over a contiguous run; a sequence
    // the server refused for good has no receipt to wait for, and is stepped over.
    const receipts = page.receipts ?? [];
    const markBefore = state.receiptMark ?? 0;
    let receiptMark = markBefore;
    for (const receipt of receipts) await hooks.receipt(receipt);
    const seqs = new Set(receipts.map((r) => r.deviceSeq));
    while (seqs.has(receiptMark + 1) || neverReceipted.has(receiptMark + 1)) receiptMark++;
    const next: PullState = { v: 1, after: page.next, versions, receiptMark };
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
