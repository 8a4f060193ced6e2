import type { InvalidParam, Problem } from '@tidemark/contracts';

/**
 * Base class of the errors this package throws. Each class states its `name` as a literal: a bundler or minifier
 * renames classes (esbuild made `ServerUnreachableError2` of one), and `error.name` must not change with the build.
 */
export class TidemarkError extends Error {
  override name = 'TidemarkError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An event the client refuses to enqueue (it would never pass the server's checks); nothing was stored. */
export class InvalidEventError extends TidemarkError {
  override name = 'InvalidEventError';
  constructor(readonly errors: InvalidParam[]) {
    super(`invalid event: ${errors.map((e) => `${e.pointer} ${e.detail}`).join('; ')}`);
  }
}

/**
 * The server could not be reached or kept answering "try again" (network error, timeout, 5xx, 408, 429,
 * `503 journal-unavailable`) for every attempt. Nothing is lost: unacknowledged events stay in the outbox and
 * the next push re-sends them with the same ids.
 */
export class ServerUnavailableError extends TidemarkError {
  override name = 'ServerUnavailableError';
  constructor(
    readonly attempts: number,
    readonly status: number | undefined,
    readonly problem: Problem | undefined,
    cause: unknown,
  ) {
    super(`server unavailable after ${attempts} attempt(s)${status ? ` (last answer ${status}${problem?.title ? ` ${problem.title}` : ''})` : cause instanceof Error ? ` (${cause.message})` : ''}`, {
      cause,
    });
  }
}

/**
 * In a browser that says it is online (`navigator.onLine`), `fetch` failed without any answer on every attempt.
 * A page is not told why: the server is down or unreachable (DNS, TLS, a proxy), or it does not allow the page's
 * origin (CORS: the service's `CORS_ORIGINS`); the browser's console names the cause. Offline, or outside a
 * browser, the same failure stays a plain {@link ServerUnavailableError}. Nothing is lost either way: events stay
 * in the outbox.
 */
export class ServerUnreachableError extends ServerUnavailableError {
  override name = 'ServerUnreachableError';
  constructor(
    attempts: number,
    cause: unknown,
    /** The URL that could not be fetched. */
    readonly url: string,
    /** The page's origin (`location.origin`), when there is one. */
    readonly origin: string | undefined,
  ) {
    super(attempts, undefined, undefined, cause);
    this.message =
      `could not reach ${url} after ${attempts} attempt(s) although the browser is online: the server is down or unreachable, ` +
      `or it does not allow ${origin ? `this page's origin ${origin}` : "this page's origin"} (CORS; add the origin to the service's CORS_ORIGINS). The browser console names the cause.`;
  }
}

/**
 * The server refused a request in a way retrying cannot fix by itself (a 4xx that names no event: a wrong URL,
 * a missing route, a bad workspace header, an authorisation problem). Events stay in the outbox.
 */
export class ServerProblemError extends TidemarkError {
  override name = 'ServerProblemError';
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    readonly path: string,
  ) {
    super(`${path} answered ${status}${problem ? `: ${problem.title}${problem.detail ? ` (${problem.detail})` : ''}` : ''}`);
  }
}

/** Storage holds something this client cannot read (written by a newer version, or damaged outside the client). */
export class StorageFormatError extends TidemarkError {
  override name = 'StorageFormatError';
}
