import { setTimeout as delay } from 'node:timers/promises';

/** Options for {@link pollUntil}. */
export interface PollOptions {
  /** Overall deadline in milliseconds. */
  timeoutMs: number;
  /** Pause between attempts in milliseconds. */
  intervalMs?: number;
  /** Names what is awaited, for the timeout message ("nats-server to accept connections"). */
  what: string;
  /**
   * Called before every attempt; throwing aborts the wait at once with that error (for example when
   * the server process has already exited, so waiting longer cannot help).
   */
  abortIf?: () => void;
}

/**
 * Calls `attempt` until it resolves to a value other than `undefined`/`false`, then returns that value.
 * An attempt that throws counts as "not yet"; at the deadline the last failure is reported.
 * This is the only place in the library that pauses on purpose.
 */
export async function pollUntil<T>(attempt: () => Promise<T | undefined | false>, options: PollOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const intervalMs = options.intervalMs ?? 100;
  let lastFailure: unknown;
  for (;;) {
    options.abortIf?.();
    try {
      const result = await attempt();
      if (result !== undefined && result !== false) return result;
      lastFailure = undefined;
    } catch (error) {
      lastFailure = error;
    }
    if (Date.now() >= deadline) {
      const reason = lastFailure instanceof Error ? `: last attempt failed with ${lastFailure.message}` : '';
      throw new Error(`Timed out after ${options.timeoutMs} ms waiting for ${options.what}${reason}`, { cause: lastFailure });
    }
    await delay(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}
