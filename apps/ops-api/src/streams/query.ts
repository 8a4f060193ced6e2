import { ProblemType, problem } from '@tidemark/contracts';
import { ProblemError } from '@tidemark/platform';

export { parseQuery, parsePath } from '@tidemark/platform';

/** 404 naming what was looked for. */
export function notFound(detail: string): ProblemError {
  return new ProblemError(problem(ProblemType.notFound, 404, 'Not found', { detail }));
}

export const iso = (value: Date | string | null | undefined): string | null => (value === null || value === undefined ? null : (value instanceof Date ? value : new Date(value)).toISOString());
