import type { InvalidParam } from '../events/validate';

/** RFC 9457 problem details, with `errors` naming each invalid part of the request by JSON pointer. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: InvalidParam[];
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
export const PROBLEM_BASE = 'https://tidemark.dev/problems/';

/** The catalogue of problem types tidemark answers with. */
export const ProblemType = {
  validation: 'validation-failed',
  malformedJson: 'malformed-json',
  bodyTooLarge: 'body-too-large',
  unsupportedMediaType: 'unsupported-media-type',
  notFound: 'not-found',
  unavailable: 'service-unavailable',
  journalUnavailable: 'journal-unavailable',
  internal: 'internal-error',
  badRequest: 'bad-request',
  methodNotAllowed: 'method-not-allowed',
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  conflict: 'conflict',
  tooManyRequests: 'too-many-requests',
  uriTooLong: 'uri-too-long',
} as const;
export type ProblemType = (typeof ProblemType)[keyof typeof ProblemType];

export function problem(type: ProblemType, status: number, title: string, extra: Partial<Problem> = {}): Problem {
  return { type: `${PROBLEM_BASE}${type}`, title, status, ...extra };
}
