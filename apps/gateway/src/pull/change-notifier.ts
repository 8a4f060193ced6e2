import { COMMITTED_NOTICE_ROOT, MERGED_SUBJECT_ROOT } from '@tidemark/contracts';
import type { NatsConnection, Subscription } from '@tidemark/messaging';
import type { Logger } from '@tidemark/telemetry';

/**
 * Wakes long-polls and live streams of a workspace when merge-service commits a change for it: its commit
 * notice (core NATS, sent right after the commit) or the MERGED message the outbox relay publishes after that
 * (plain NATS subscriptions to both). A wake-up is only a hint to read the change log
 * again; waiters also re-read every `recheckMs`, so a missed message costs latency, never a change.
 */
export class ChangeNotifier {
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Notices heard per workspace (bounded: the workspaces with waiters or notices since the last sweep). */
  private readonly heard = new Map<string, number>();
  private subscriptions: Subscription[] = [];
  private closed = false;

  constructor(
    private readonly recheckMs: number,
    private readonly logger: Logger,
  ) {}

  start(nc: NatsConnection): void {
    const listen = (root: string, what: string) =>
      nc.subscribe(`${root}.>`, {
        callback: (error, msg) => {
          if (error) return this.logger.warn({ err: error }, `${what} subscription failed; waiters fall back to re-reading`);
          const workspace = msg.subject.slice(root.length + 1).split('.')[0]; // <root>.<workspace>[.<type>.<id>]
          if (workspace) this.wake(workspace);
        },
      });
    // The commit notice comes first (sent right after the projection commits); the MERGED message follows
    // through the outbox relay and wakes anyone the notice missed.
    this.subscriptions = [listen(COMMITTED_NOTICE_ROOT, 'commit-notice'), listen(MERGED_SUBJECT_ROOT, 'merged-change')];
  }

  /** True once the service began shutting down: long-polls answer at once, live streams end. */
  get stopped(): boolean {
    return this.closed;
  }

  stop(): void {
    this.closed = true;
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    for (const set of this.waiters.values()) for (const wake of set) wake();
    this.waiters.clear();
  }

  /**
   * How many notices the workspace has had. Read it before reading the change log and pass it to `wait`: a notice
   * that came while the reader was reading then ends the wait at once instead of being missed.
   */
  mark(workspace: string): number {
    return this.heard.get(workspace) ?? 0;
  }

  wake(workspace: string): void {
    this.heard.set(workspace, (this.heard.get(workspace) ?? 0) + 1);
    if (this.heard.size > 10_000) this.heard.clear(); // a mark read before the clear only ends one wait early
    const set = this.waiters.get(workspace);
    if (!set) return;
    this.waiters.delete(workspace);
    for (const wake of set) wake();
  }

  /**
   * Resolves on the next change notice for the workspace, after `recheckMs`, at `deadline`, or on abort — at once
   * when a notice came since `since` (a `mark` read before the caller's last read).
   */
  wait(workspace: string, deadline: number, signal?: AbortSignal, since?: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed || (since !== undefined && this.mark(workspace) !== since)) return resolve();
      const set = this.waiters.get(workspace) ?? new Set<() => void>();
      this.waiters.set(workspace, set);
      const done = (): void => {
        clearTimeout(timer);
        set.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.min(this.recheckMs, deadline - Date.now())));
      set.add(done);
      signal?.addEventListener('abort', done);
    });
  }
}
