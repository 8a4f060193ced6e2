import { RpcException } from '@nestjs/microservices';

/**
 * Thrown by a batch handler to say that a dependency it needs (Postgres, NATS, S3) is down, restarting or
 * exhausted, not that the batch is wrong. {@link DurableBatchConsumer} waits such a failure out with a capped
 * backoff, however long it lasts, and never counts it as a failed attempt: only failures with every
 * dependency healthy lead to isolating and parking messages.
 *
 * It is an `RpcException` whose error is itself, so it crosses Nest's RPC exception filter unchanged (an
 * unknown error would reach the transport as `{ status: 'error', message: 'Internal server error' }`).
 */
export class DependencyUnavailableError extends RpcException {
  override readonly name = 'DependencyUnavailableError';

  constructor(
    /** Which dependency: `postgres`, `nats`, `s3`. */
    readonly dependency: string,
    /** The error that said so. */
    override readonly cause: unknown,
  ) {
    super(`${dependency} unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
  }

  override getError(): object {
    return this;
  }
}

/** Whether a handler's failure is a dependency outage to wait out (see {@link DependencyUnavailableError}). */
export function isWaitOut(error: unknown): error is DependencyUnavailableError {
  return error instanceof DependencyUnavailableError;
}
