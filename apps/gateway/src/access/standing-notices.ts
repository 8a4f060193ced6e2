import { STANDING_NOTICE_ROOT, ProblemType, problem, standingNoticeSubject } from '@tidemark/contracts';
import type { StandingCache } from '@tidemark/auth';
import type { NatsConnection, Subscription } from '@tidemark/messaging';
import { ProblemError } from '@tidemark/platform';
import { counter, type Logger } from '@tidemark/telemetry';

const heard = counter('tidemark_standing_notices_total', 'standing notices heard by this gateway, by scope', ['scope']);

/** What changed: one device (its standing or role), or a whole workspace's access rules (no `deviceId`). */
export interface StandingChange {
  workspace: string;
  deviceId?: string;
}

/** What a notice makes a gateway forget: one of its `StandingCache`s (standing and access; read filters). */
type NoticedCache = Pick<StandingCache<unknown>, 'forgetDevice' | 'forgetWorkspace' | 'suspend' | 'resume'>;

/**
 * Keeps a gateway's `StandingCache`s true across gateways: a change made through one gateway's admin API is
 * announced on core NATS (`tm.notice.standing.<workspace>`) once committed, and every gateway (this one
 * included, at once) forgets what it cached of that device or workspace. The announcing request answers only
 * once the NATS server has the notice (a flush), so when a revoke call has returned, the notice is on its way to
 * every gateway; if the server cannot confirm it, the call answers 503 (the change itself is committed: retry it).
 * While the connection is down nothing is answered from the cache, and on reconnect it is emptied (notices sent
 * meanwhile were missed).
 */
export class StandingNotices {
  private subscription: Subscription | undefined;
  private stopped = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly caches: readonly NoticedCache[],
    private readonly confirmTimeoutMs: number,
    private readonly logger: Logger,
  ) {}

  /** Subscribes and follows the connection's status; resolves once the server has the subscription. */
  async start(): Promise<void> {
    this.subscription = this.nc.subscribe(`${STANDING_NOTICE_ROOT}.>`, {
      callback: (error, msg) => {
        if (error) {
          this.logger.warn({ err: error }, 'standing notice subscription failed; nothing is cached until it is back');
          for (const cache of this.caches) cache.suspend();
          return;
        }
        const workspace = msg.subject.slice(STANDING_NOTICE_ROOT.length + 1);
        let change: { deviceId?: unknown };
        try {
          change = msg.data.length === 0 ? {} : (JSON.parse(new TextDecoder().decode(msg.data)) as { deviceId?: unknown });
        } catch {
          change = {}; // unreadable: forget the whole workspace
        }
        heard.inc({ scope: typeof change.deviceId === 'string' ? 'device' : 'workspace' });
        this.forget({ workspace, ...(typeof change.deviceId === 'string' ? { deviceId: change.deviceId } : {}) });
      },
    });
    await this.nc.flush();
    void this.follow();
  }

  private async follow(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (this.stopped) return;
      if (status.type === 'disconnect' || status.type === 'staleConnection') for (const cache of this.caches) cache.suspend();
      else if (status.type === 'reconnect') {
        this.logger.info('NATS reconnected: the standing caches start empty (notices may have been missed)');
        for (const cache of this.caches) cache.resume();
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.subscription?.unsubscribe();
    for (const cache of this.caches) cache.suspend();
  }

  /** Forgets locally, then tells every gateway; resolves once the NATS server confirmed it has the notice. */
  async announce(change: StandingChange): Promise<void> {
    this.forget(change);
    try {
      this.nc.publish(standingNoticeSubject(change.workspace), change.deviceId === undefined ? '{}' : JSON.stringify({ deviceId: change.deviceId }));
      await withTimeout(this.nc.flush(), this.confirmTimeoutMs);
    } catch (error) {
      this.logger.error({ err: error, ...change }, 'could not announce a standing change to the other gateways');
      const what = change.deviceId === undefined ? `the access rules of "${change.workspace}"` : `device "${change.deviceId}" of "${change.workspace}"`;
      throw new ProblemError(
        problem(ProblemType.unavailable, 503, 'Service unavailable', {
          detail: `the change to ${what} is committed, but the notice that makes every gateway apply it at once was not confirmed by NATS (${(error as Error).message}); other gateways may go on answering from what they cached for up to STANDING_CACHE_MAX_AGE_MS: retry the same call once NATS is reachable`,
          code: 'standing-notice-unconfirmed',
        }),
        { 'retry-after': '1' },
      );
    }
  }

  private forget(change: StandingChange): void {
    for (const cache of this.caches) {
      if (change.deviceId === undefined) cache.forgetWorkspace(change.workspace);
      else cache.forgetDevice(change.workspace, change.deviceId);
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from NATS within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
