import type { Problem } from '@tidemark/contracts';
import { backoffDelay, parseRetryAfter, type RetryPolicy } from './push/backoff';
import { ServerProblemError, ServerUnavailableError, ServerUnreachableError } from './errors';

/** `fetch` as Node 20 and browsers have it (injected in tests). */
export type Fetch = (
  input: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

/** Waits `ms` milliseconds, or rejects when `signal` aborts. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** A device's bearer token, and how to renew it when the gateway answers 401. */
export interface HttpAuth {
  authorization(): string;
  refresh(signal: AbortSignal): Promise<void>;
}

export interface HttpContext {
  baseUrl: string;
  headers: Record<string, string>;
  auth?: HttpAuth;
  fetch: Fetch;
  sleep: Sleep;
  random: () => number;
  now: () => number;
  retry: RetryPolicy;
  requestTimeoutMs: number;
}

/** One answer of the server. */
export interface Answer {
  status: number;
  body: unknown;
  retryAfterMs: number | undefined;
}

/** One request; rejects on network errors, timeouts and aborts. */
export async function send(ctx: HttpContext, method: 'GET' | 'POST' | 'PUT', path: string, body: string | undefined, signal: AbortSignal): Promise<Answer> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...ctx.headers, ...(ctx.auth ? { authorization: ctx.auth.authorization() } : {}) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await ctx.fetch(`${ctx.baseUrl}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
    signal: AbortSignal.any([signal, AbortSignal.timeout(ctx.requestTimeoutMs)]),
  });
  const text = await response.text();
  let parsed: unknown = text;
  if (/json/i.test(response.headers.get('content-type') ?? '') && text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: response.status, body: parsed, retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), ctx.now()) };
}

/** Statuses worth trying again as they are: the server or something in front of it is busy or down. */
export function isRetryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** The problem document in an answer, when there is one. */
export function problemOf(answer: Answer): Problem | undefined {
  const body = answer.body;
  return body !== null && typeof body === 'object' && typeof (body as Problem).type === 'string' && typeof (body as Problem).status === 'number' ? (body as Problem) : undefined;
}

/**
 * Sends a request until it gets an answer that is not "try again" and returns it (any 2xx, any 4xx but 408/429).
 * Network errors, timeouts and retryable statuses wait {@link backoffDelay} and try again, up to
 * `retry.maxAttempts`, then throw {@link ServerUnavailableError}. `onRetry` sees each retryable answer first
 * (a 503 with per-event results is partly a success) and may return a new body for the next attempt, or
 * `null` when nothing is left to send.
 */
export async function sendWithRetry(
  ctx: HttpContext,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  body: string | undefined,
  signal: AbortSignal,
  onRetry?: (answer: Answer) => Promise<string | null | undefined>,
): Promise<Answer | null> {
  let current = body;
  let refreshed = false;
  for (let attempt = 1; ; attempt++) {
    signal.throwIfAborted();
    let failure: { status?: number; problem?: Problem; cause: unknown; retryAfterMs?: number };
    try {
      const answer = await send(ctx, method, path, current, signal);
      // An expired (or rotated-away) access token: renew it once and send again, not counting an attempt.
      if (answer.status === 401 && ctx.auth && !refreshed) {
        try {
          await ctx.auth.refresh(signal);
          refreshed = true;
        } catch (error) {
          // The gateway refused the refresh token (revoked, reused, expired): retrying cannot fix that.
          if (error instanceof ServerProblemError) throw new AuthError(error);
          throw error;
        }
        attempt--;
        continue;
      }
      if (!isRetryable(answer.status)) return answer;
      if (onRetry) {
        const next = await onRetry(answer);
        if (next === null) return null;
        if (next !== undefined) current = next;
      }
      const problem = problemOf(answer);
      failure = { status: answer.status, ...(problem ? { problem } : {}), cause: problem ?? answer.body, ...(answer.retryAfterMs !== undefined ? { retryAfterMs: answer.retryAfterMs } : {}) };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof AuthError) throw error.cause;
      failure = { cause: error };
    }
    if (attempt >= ctx.retry.maxAttempts) throw unavailable(attempt, failure, `${ctx.baseUrl}${path}`);
    await ctx.sleep(backoffDelay(attempt, ctx.retry, ctx.random, failure.retryAfterMs), signal);
  }
}

/**
 * The error for a request that never got a usable answer. A `fetch` that rejects with a `TypeError` in a browser
 * that says it is online is told apart ({@link ServerUnreachableError}): a refused CORS origin looks exactly like
 * that, and not at all like being offline.
 */
function unavailable(attempts: number, failure: { status?: number; problem?: Problem; cause: unknown }, url: string): ServerUnavailableError {
  if (failure.status === undefined && failure.cause instanceof TypeError) {
    const page = browserPage();
    if (page?.online === true) return new ServerUnreachableError(attempts, failure.cause, url, page.origin);
  }
  return new ServerUnavailableError(attempts, failure.status, failure.problem, failure.cause);
}

/** What a browser (or an Electron renderer, or a worker) says about itself; undefined outside one (Node has no `navigator.onLine`). */
function browserPage(): { online: boolean; origin: string | undefined } | undefined {
  const scope = globalThis as { navigator?: { onLine?: unknown }; location?: { origin?: unknown } };
  if (typeof scope.navigator?.onLine !== 'boolean') return undefined;
  return { online: scope.navigator.onLine, origin: typeof scope.location?.origin === 'string' ? scope.location.origin : undefined };
}

/** Carries a refused refresh out of the retry loop. */
class AuthError extends Error {
  constructor(override readonly cause: ServerProblemError) {
    super(cause.message);
  }
}

/** Throws {@link ServerProblemError} for an answer that is not 2xx. */
export function expectOk(answer: Answer, path: string): void {
  if (answer.status < 200 || answer.status >= 300) throw new ServerProblemError(answer.status, problemOf(answer), path);
}

/** The default {@link Sleep}: a timer that an abort cancels. */
export const defaultSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
