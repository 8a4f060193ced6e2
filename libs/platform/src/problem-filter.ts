import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, ProblemType, problem, type InvalidParam, type Problem } from '@tidemark/contracts';
import { isNatsUnavailable } from '@tidemark/messaging';
import type { Logger } from '@tidemark/telemetry';

/** An expected failure carrying its problem document; thrown by controllers, mapped here. */
export class ProblemError extends Error {
  constructor(
    readonly problem: Problem,
    /** Response headers the problem needs (e.g. `WWW-Authenticate` on a 401). */
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.detail ?? problem.title);
    this.name = 'ProblemError';
  }

  static unsupportedMediaType(got: string | undefined, want = 'application/json'): ProblemError {
    return new ProblemError(problem(ProblemType.unsupportedMediaType, 415, 'Unsupported media type', { detail: `send ${want}; got ${got ?? 'no content-type'}` }));
  }

  static validation(errors: InvalidParam[], detail = 'the request is not valid'): ProblemError {
    return new ProblemError(problem(ProblemType.validation, 400, 'Validation failed', { detail, errors }));
  }
}

interface FastifyErrorLike {
  code?: string;
  statusCode?: number;
  message?: string;
}

/** Network failures reaching a dependency: it is down, restarting or unreachable. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** node-postgres and its pool, when the server went away or is not accepting connections yet. */
const PG_CONNECTION = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/**
 * Whether an error says that a dependency (Postgres, NATS, S3) is down or restarting, so the same request
 * may succeed later: network failures, Postgres's SQLSTATE class 08 (connection exception), 57P01–57P03
 * (shut down, crashed, starting up) and 53300 (too many connections), and what `isNatsUnavailable`
 * (@tidemark/messaging) classes as NATS being unavailable. TypeORM's wrapper is looked through.
 */
export function isDependencyUnavailable(error: unknown): boolean {
  const e = (error as { driverError?: unknown } | undefined)?.driverError ?? error;
  const code = (e as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && (UNREACHABLE.has(code) || /^08[0-9A-Z]{3}$/.test(code) || /^57P0[1-3]$/.test(code) || code === '53300')) return true;
  return isNatsUnavailable(e) || (e instanceof Error && PG_CONNECTION.test(e.message));
}

/** Maps any error to an RFC 9457 problem document. Unknown errors are 500 with nothing internal leaked. */
export function toProblem(error: unknown, instance?: string): Problem {
  if (error instanceof ProblemError) return { ...error.problem, instance };
  if (error instanceof HttpException) {
    const status = error.getStatus();
    if (status === 413) return problem(ProblemType.bodyTooLarge, 413, 'Request body too large', { detail: error.message, instance });
    if (status === 415) return problem(ProblemType.unsupportedMediaType, 415, 'Unsupported media type', { detail: error.message, instance });
    if (status === 400 && /JSON/i.test(error.message)) return problem(ProblemType.malformedJson, 400, 'Malformed JSON', { detail: error.message, instance });
    const type = status === 404 ? ProblemType.notFound : status === 405 ? ProblemType.methodNotAllowed : status === 503 ? ProblemType.unavailable : ProblemType.badRequest;
    return problem(type, status, error.message, { instance });
  }
  const e = error as FastifyErrorLike;
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problem(ProblemType.bodyTooLarge, 413, 'Request body too large', { detail: e.message, instance });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problem(ProblemType.unsupportedMediaType, 415, 'Unsupported media type', { detail: 'send application/json', instance });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return problem(ProblemType.malformedJson, 400, 'Malformed JSON', { detail: e.message, instance });
    default:
      break;
  }
  if (error instanceof SyntaxError || (e?.statusCode === 400 && /JSON/i.test(e?.message ?? ''))) {
    return problem(ProblemType.malformedJson, 400, 'Malformed JSON', { detail: e.message, instance });
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return problem(ProblemType.badRequest, e.statusCode, e.message ?? 'Bad request', { instance });
  }
  if (isDependencyUnavailable(error)) {
    return problem(ProblemType.unavailable, 503, 'Service unavailable', {
      detail: 'a service this request needs (the database, the journal or the object store) is unavailable or restarting; retry later',
      instance,
    });
  }
  return problem(ProblemType.internal, 500, 'Internal error', { detail: 'the error was logged', instance });
}

export function sendProblem(reply: FastifyReply, body: Problem): void {
  void reply.status(body.status).header('content-type', PROBLEM_CONTENT_TYPE).send(body);
}

@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(
    private readonly logger: Logger,
    /** The service's body limit, named in 413 answers. */
    private readonly bodyLimit?: number,
  ) {}

  catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    let body = toProblem(error, request.url);
    if (body.status === 413 && this.bodyLimit !== undefined) {
      body = {
        ...body,
        detail: `the request body is larger than this service's limit of ${this.bodyLimit} bytes; nothing of it was read or applied`,
        limit: { name: 'bodyBytes', value: this.bodyLimit },
      };
    }
    if (body.status >= 500) this.logger.error({ err: error, url: request.url }, 'request failed');
    const reply = http.getResponse<FastifyReply>();
    if (body.status === 503) void reply.header('retry-after', '1');
    if (error instanceof ProblemError) for (const [name, value] of Object.entries(error.headers)) void reply.header(name, value);
    sendProblem(reply, body);
  }
}
