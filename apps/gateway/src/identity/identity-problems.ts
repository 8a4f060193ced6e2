import { ProblemType, problem } from '@tidemark/contracts';
import type { IdentityFailure, IdentityResult } from '@tidemark/auth';
import { ProblemError } from '@tidemark/platform';

/**
 * The HTTP answer to an identity change the store refused: an unknown workspace or device is 404, a device id
 * already taken 409, a refused refresh 401 with its code and a `WWW-Authenticate` challenge.
 */
export function identityProblem(failure: IdentityFailure): ProblemError {
  const { code, detail } = failure;
  switch (code) {
    case 'workspace-unknown':
    case 'device-unknown':
      return new ProblemError(problem(ProblemType.notFound, 404, 'Not found', { detail }));
    case 'device-exists':
      return new ProblemError(problem(ProblemType.conflict, 409, 'Device exists', { detail }));
    case 'refresh-unknown':
    case 'refresh-expired':
    case 'device-revoked':
    case 'refresh-reused':
      return new ProblemError(problem(ProblemType.unauthorized, 401, 'Unauthorized', { detail, code }), {
        'www-authenticate': `Bearer error="invalid_token", error_description="${detail.replace(/"/g, "'")}"`,
      });
    default: {
      const unknown: never = code;
      throw new Error(`unmapped identity failure ${String(unknown)}`);
    }
  }
}

/** The value of a result, or its failure as the HTTP problem. */
export function answer<T>(result: IdentityResult<T>): T {
  if (!result.ok) throw identityProblem(result.failure);
  return result.value;
}
