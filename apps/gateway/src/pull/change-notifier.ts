import { filterAdmits, type ReadFilter } from '@tidemark/access';
import { COMMITTED_NOTICE_ROOT, MERGED_SUBJECT_ROOT, SCOPE_KEY_SEPARATOR } from '@tidemark/contracts';
import type { NatsConnection, Subscription } from '@tidemark/messaging';
import type { Logger } from '@tidemark/telemetry';

/** Which scope keys a waiter reads (undefined: the whole workspace). */
export type Interest = (key: string) => boolean;

interface Waiter {
  wake: () => void;
  interest?: Interest;
}

/**
 * Wakes long-polls and live streams of a workspace when merge-service commits a change for it: its commit
 * notice (core NATS, sent right after the commit, naming the scope keys the commit touched) wakes the waiters whose
 * scopes meet those keys; the MERGED message the outbox relay publishes after it wakes the waiters reading the whole
 * workspace (a MERGED subject does not name the partition). A wake-up is only a hint to read the change log
 * again; waiters also re-read every `recheckMs`, so a missed message costs latency, never a change.
 */
export class ChangeNotifier {
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** Notices heard per workspace (bounded: the workspaces with waiters or notices since the last sweep). */
  private readonly heard = new Map<string, number>();
  private subscriptions: Subscription[] = [];
  private closed = false;

  constructor(
    private readonly recheckMs: number,
    private readonly logger: Logger,
  ) {}

  start(nc: NatsConnection): void {
    const listen = (root: string, what: string, onMessage: (workspace: string, data: Uint8Array) => void) =>
      nc.subscribe(`${root}.>`, {
        callback: (error, msg) => {
          if (error) return this.logger.warn({ err: error }, `${what} subscription failed; waiters fall back to re-reading`);
          const workspace = msg.subject.slice(root.length + 1).split('.')[0]; // <root>.<workspace>[.<type>.<id>]
          if (workspace) onMessage(workspace, msg.data);
        },
      });
    // The commit notice comes first (sent right after the projection commits); the MERGED message follows
    // through the outbox relay and wakes the whole-workspace readers the notice missed.
    this.subscriptions = [
      listen(COMMITTED_NOTICE_ROOT, 'commit-notice', (workspace, data) => this.wake(workspace, noticeKeys(data))),
      listen(MERGED_SUBJECT_ROOT, 'merged-change', (workspace) => this.wake(workspace, [], { wholeWorkspaceOnly: true })),
    ];
  }

  /** True once the service began shutting down: long-polls answer at once, live streams end. */
  get stopped(): boolean {
    return this.closed;
  }

  stop(): void {
    this.closed = true;
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    for (const set of this.waiters.values()) for (const waiter of set) waiter.wake();
    this.waiters.clear();
  }

  /**
   * How many notices the workspace has had. Read it before reading the change log and pass it to `wait`: a notice
   * that came while the reader was reading then ends the wait at once instead of being missed.
   */
  mark(workspace: string): number {
    return this.heard.get(workspace) ?? 0;
  }

  /**
   * A commit for the workspace: wakes the waiters reading the whole workspace and those whose interest meets one of
   * `keys` (undefined: the keys are not known, every waiter wakes). `wholeWorkspaceOnly`: a hint that cannot name
   * keys (a MERGED message) wakes only the whole-workspace readers.
   */
  wake(workspace: string, keys?: readonly string[], options: { wholeWorkspaceOnly?: boolean } = {}): void {
    this.heard.set(workspace, (this.heard.get(workspace) ?? 0) + 1);
    if (this.heard.size > 10_000) this.heard.clear(); // a mark read before the clear only ends one wait early
    const set = this.waiters.get(workspace);
    if (!set) return;
    for (const waiter of [...set]) {
      const meets = waiter.interest === undefined || (!options.wholeWorkspaceOnly && (keys === undefined || keys.some(waiter.interest)));
      if (meets) waiter.wake();
    }
    if (set.size === 0) this.waiters.delete(workspace);
  }

  /**
   * Resolves on the next change notice for the workspace, after `recheckMs`, at `deadline`, or on abort — at once
   * when a notice came since `since` (a `mark` read before the caller's last read).
   */
  wait(workspace: string, deadline: number, signal?: AbortSignal, since?: number, interest?: Interest): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed || (since !== undefined && this.mark(workspace) !== since)) return resolve();
      const set = this.waiters.get(workspace) ?? new Set<Waiter>();
      this.waiters.set(workspace, set);
      const done = (): void => {
        clearTimeout(timer);
        set.delete(waiter);
        if (set.size === 0 && this.waiters.get(workspace) === set) this.waiters.delete(workspace);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const waiter: Waiter = { wake: done, ...(interest ? { interest } : {}) };
      const timer = setTimeout(done, Math.max(0, Math.min(this.recheckMs, deadline - Date.now())));
      set.add(waiter);
      signal?.addEventListener('abort', done);
    });
  }
}

/** What a reader with `filter` waits for: undefined (any commit) when it reads the whole workspace. */
export function interestOf(filter: ReadFilter): Interest | undefined {
  if (filter.kind === 'all') return undefined;
  return (key) => filterAdmits(filter, key.split(SCOPE_KEY_SEPARATOR, 1)[0]!, key);
}

/** The scope keys a commit notice names; undefined when it names none (an older notice, or a commit of too many keys). */
function noticeKeys(data: Uint8Array): string[] | undefined {
  if (data.length === 0) return undefined;
  try {
    const notice = JSON.parse(new TextDecoder().decode(data)) as { keys?: unknown };
    return Array.isArray(notice.keys) && notice.keys.every((k) => typeof k === 'string') ? (notice.keys as string[]) : undefined;
  } catch {
    return undefined;
  }
}
