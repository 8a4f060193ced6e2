import { setTimeout as delay } from 'node:timers/promises';

/** Options for {@link eventually}. */
export interface EventuallyOptions {
  /** Deadline in milliseconds. Default 10 000. */
  timeoutMs?: number;
  /** Pause between attempts in milliseconds. Default 50. */
  intervalMs?: number;
  /** Says what was awaited; prefixed to the failure ("projection to catch up"). */
  message?: string;
}

const TIMED_OUT = Symbol('timed out');

/**
 * Polls `check` until it passes, and resolves to its result. `check` passes when it neither throws nor
 * returns `false`, so it can be an assertion block or a predicate. At the deadline the last failure is
 * thrown: the assertion's own error when no `message` is given (keeping its diff), otherwise an Error
 * saying what was awaited with the last failure as `cause`. Use this instead of sleeping in tests.
 */
export async function eventually<T>(check: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<Exclude<T, false>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let lastWasFalse = false;
  /** The failure of the last attempt that finished: reported too when the final attempt is cut off. */
  let lastCompleted: unknown;
  for (;;) {
    const remaining = deadline - Date.now();
    const abort = new AbortController();
    try {
      const result = await Promise.race([Promise.resolve().then(check), delay(Math.max(remaining, 1), TIMED_OUT, { signal: abort.signal })]);
      if (result === TIMED_OUT) {
        const before = lastCompleted instanceof Error ? `; the attempt before failed with: ${lastCompleted.message}` : '';
        lastError = new Error(`the check itself did not finish within the remaining ${Math.max(remaining, 0)} ms${before}`, { cause: lastCompleted });
      } else if (result !== false) {
        return result as Exclude<T, false>;
      } else {
        lastWasFalse = true;
        lastError = undefined;
      }
    } catch (error) {
      lastError = error;
      lastCompleted = error;
      lastWasFalse = false;
    } finally {
      abort.abort();
    }
    if (Date.now() >= deadline) {
      const what = options.message ?? 'condition';
      if (lastError === undefined || lastWasFalse) throw new Error(`${what}: still false after ${timeoutMs} ms`);
      if (options.message === undefined) throw lastError;
      const detail = lastError instanceof Error ? lastError.message : String(lastError);
      throw new Error(`${what}: not reached within ${timeoutMs} ms; last failure: ${detail}`, { cause: lastError });
    }
    await delay(Math.min(intervalMs, Math.max(deadline - Date.now(), 0)));
  }
}
