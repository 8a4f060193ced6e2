/**
 * Several tabs (windows, workers) of one origin sharing one device: which one syncs, and how the others hear of
 * changes. Built on two browser primitives, nothing else:
 *
 * - **Web Locks** (`navigator.locks`, https://w3c.github.io/web-locks/): the tab holding the exclusive lock
 *   `tidemark:<name>:leader` is the leader and runs the sync loop; the others wait in the lock's queue. The browser
 *   releases a lock when its holder closes, navigates away or crashes, so the next tab in line takes over without
 *   any timeout of ours. Short exclusive locks (`tidemark:<name>:outbox`, `…:credentials`) serialise the writes
 *   that must not interleave across tabs: an outbox append (the device sequence) and a token refresh.
 * - **BroadcastChannel** `tidemark:<name>` (https://html.spec.whatwg.org/multipage/web-messaging.html#broadcasting-to-other-browsing-contexts):
 *   after a tab changed the outbox or stored a pull, it says so, and the others re-read that from storage.
 *
 * The storage itself (IndexedDB) is shared; this only orders who writes what.
 */
export type TabNews = 'outbox' | 'pull';

/** What a tab needs to run the sync loop while it leads. */
export interface LeaderSession {
  /** This tab became the leader (re-read shared state, then start syncing). */
  acquired(): Promise<void> | void;
  /** This tab stopped leading (it was stopped or closed). */
  released(): Promise<void> | void;
}

/** The part of the Web Locks API this uses (`navigator.locks`). */
export interface LockManagerLike {
  request(name: string, options: { mode?: 'exclusive' | 'shared'; signal?: AbortSignal }, callback: (lock: unknown) => Promise<unknown>): Promise<unknown>;
}

/** The part of BroadcastChannel this uses. */
export interface ChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  close(): void;
}

const PREFIX = 'tidemark:';

function browserScope(): { navigator?: { locks?: LockManagerLike }; BroadcastChannel?: new (name: string) => ChannelLike } {
  return globalThis as unknown as ReturnType<typeof browserScope>;
}

export class TabCoordinator {
  private readonly listeners = new Set<(news: TabNews) => void>();
  private leading = false;
  private closed = false;

  constructor(
    /** Shared by the tabs of one device: the storage name. */
    readonly name: string,
    private readonly locks: LockManagerLike,
    private readonly channel: ChannelLike,
  ) {
    channel.addEventListener('message', (event) => {
      const data = event.data as { v?: unknown; news?: unknown } | null;
      if (this.closed || !data || data.v !== 1 || (data.news !== 'outbox' && data.news !== 'pull')) return;
      for (const listener of this.listeners) listener(data.news);
    });
  }

  /** Whether this runtime has Web Locks and BroadcastChannel (browsers, Electron renderers, workers; not Node). */
  static available(): boolean {
    const scope = browserScope();
    return typeof scope.navigator?.locks?.request === 'function' && typeof scope.BroadcastChannel === 'function';
  }

  /** A coordinator over this browser's Web Locks and BroadcastChannel; undefined where either is missing (Node). */
  static detect(name: string): TabCoordinator | undefined {
    if (!TabCoordinator.available()) return undefined;
    const scope = browserScope();
    return new TabCoordinator(name, scope.navigator!.locks!, new scope.BroadcastChannel!(PREFIX + name));
  }

  /** Whether this tab holds the leader lock now. */
  get isLeader(): boolean {
    return this.leading;
  }

  /** Runs `work` holding the exclusive lock `topic` of this device, across every tab. */
  exclusive<T>(topic: 'outbox' | 'credentials', work: () => Promise<T>): Promise<T> {
    return this.locks.request(`${PREFIX}${this.name}:${topic}`, { mode: 'exclusive' }, () => work()) as Promise<T>;
  }

  /** Tells the other tabs that this one changed the outbox or stored a pull. */
  announce(news: TabNews): void {
    if (!this.closed) this.channel.postMessage({ v: 1, news });
  }

  /** Listens to the other tabs' news; returns the function that stops listening. */
  onNews(listener: (news: TabNews) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Queues for the leader lock; while this tab holds it, `session` runs (acquired … released). Returns the function
   * that gives the lock up (or leaves the queue) and resolves once `released` has run. `onError` hears of a session
   * that failed to start (the lock is then given up, so another tab may lead).
   */
  lead(session: LeaderSession, onError: (error: Error) => void): () => Promise<void> {
    const quit = new AbortController();
    let resign!: () => void;
    const resigned = new Promise<void>((resolve) => (resign = resolve));
    const held = this.locks
      .request(`${PREFIX}${this.name}:leader`, { mode: 'exclusive', signal: quit.signal }, async () => {
        if (quit.signal.aborted) return;
        this.leading = true;
        try {
          await session.acquired();
          await resigned;
        } finally {
          this.leading = false;
          await session.released();
        }
      })
      .catch((error: unknown) => {
        if (!quit.signal.aborted) onError(error instanceof Error ? error : new Error(String(error)));
      });
    return async () => {
      quit.abort(new Error('stopped leading'));
      resign();
      await held;
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.channel.close();
  }
}
