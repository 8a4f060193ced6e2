import type { Change, PullResponse } from '@tidemark/contracts';
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
}

/** What one `pull()` did. */
export interface PullSummary {
  pages: number;
  changes: number;
  conflicts: number;
  /** The cursor after the last page. */
  cursor: string | undefined;
}

export interface PullHooks {
  change(change: Change): Promise<void>;
  conflict(change: Change): Promise<void>;
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
  return { v: 1, after: state.after ?? undefined, versions: state.versions ?? {} };
}

/**
 * Pulls pages of changes after the saved cursor until `hasMore` is false. For each page, every change goes to
 * `hooks.change` (and, when it has fields in conflict, to `hooks.conflict`) in cursor order, then the new cursor
 * is stored. A hook that throws stops the pull before the cursor moves, so that page is delivered again by the
 * next pull: delivery is at least once, and an application applies a change idempotently by its `version`.
 */
export async function pullChanges(ctx: HttpContext, storage: Storage, state: PullState, pageSize: number, hooks: PullHooks, signal: AbortSignal): Promise<PullSummary> {
  const summary: PullSummary = { pages: 0, changes: 0, conflicts: 0, cursor: state.after };
  for (;;) {
    const path = `/v1/changes?${new URLSearchParams({ ...(state.after !== undefined ? { after: state.after } : {}), limit: String(pageSize) }).toString()}`;
    const answer = (await sendWithRetry(ctx, 'GET', path, undefined, signal))!;
    expectOk(answer, '/v1/changes');
    const page = answer.body as PullResponse;
    if (!page || !Array.isArray(page.changes) || typeof page.next !== 'string') throw new Error(`/v1/changes answered an unexpected body: ${JSON.stringify(answer.body).slice(0, 200)}`);
    const versions = { ...state.versions };
    for (const change of page.changes) {
      await hooks.change(change);
      if (change.inConflict.length > 0) {
        summary.conflicts++;
        await hooks.conflict(change);
      }
      versions[entityKey(change.entity.type, change.entity.id)] = change.version;
    }
    const next: PullState = { v: 1, after: page.next, versions };
    await storage.put(PULL_KEY, JSON.stringify(next));
    state.after = next.after;
    state.versions = versions;
    summary.pages++;
    summary.changes += page.changes.length;
    summary.cursor = state.after;
    if (!page.hasMore || page.changes.length === 0) return summary;
  }
}
