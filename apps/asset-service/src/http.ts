import type { FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE } from '@tidemark/contracts';
import { toProblem } from '@tidemark/platform';
import type { Logger } from '@tidemark/telemetry';
import { AssetProblemError } from './problems';

/** Request headers with single values (the first of repeated ones). */
export function headersOf(request: FastifyRequest): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) out[name] = Array.isArray(value) ? value[0] : value;
  return out;
}

/**
 * Answers an error as problem+json with the headers the error carries (and `extra`, e.g. Tus-Resumable). A 503
 * (a dependency down: Postgres, S3) carries `Retry-After` like every other service's, unless the error sets its own.
 */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown, logger: Logger, extra: Record<string, string> = {}): void {
  const problem = toProblem(error, request.url);
  if (problem.status >= 500 && !(error instanceof AssetProblemError)) logger.error({ err: error, url: request.url, method: request.method }, 'request failed');
  const headers = { ...(problem.status === 503 ? { 'retry-after': '1' } : {}), ...extra, ...(error instanceof AssetProblemError ? error.headers : {}), 'content-type': PROBLEM_CONTENT_TYPE };
  void reply
    .status(problem.status)
    .headers(headers)
    .send(request.method === 'HEAD' ? undefined : JSON.stringify(problem));
}
