import { PROBLEM_BASE, type InvalidParam, type Problem } from '@tidemark/contracts';
import { ProblemError } from '@tidemark/platform';

/** Problem types of the asset API (RFC 9457), beside the shared catalogue in contracts. */
export const AssetProblem = {
  limitExceeded: 'limit-exceeded',
  offsetMismatch: 'upload-offset-mismatch',
  checksumMismatch: 'checksum-mismatch',
  sha256Mismatch: 'sha256-mismatch',
  notFound: 'not-found',
  gone: 'upload-gone',
  locked: 'upload-locked',
  complete: 'upload-complete',
  tusVersion: 'tus-version-unsupported',
  busy: 'too-many-uploads',
  validation: 'validation-failed',
  unsupportedMediaType: 'unsupported-media-type',
  presignOff: 'presigned-urls-off',
  rangeNotSatisfiable: 'range-not-satisfiable',
  tooSlow: 'upload-too-slow',
} as const;
export type AssetProblem = (typeof AssetProblem)[keyof typeof AssetProblem];

/** A problem of the asset service; its headers carry tus headers on tus errors. */
export class AssetProblemError extends ProblemError {}

export function assetProblem(type: AssetProblem, status: number, title: string, extra: Partial<Problem> = {}, headers: Record<string, string> = {}): AssetProblemError {
  return new AssetProblemError({ type: `${PROBLEM_BASE}${type}`, title, status, ...extra }, headers);
}

export const invalid = (errors: InvalidParam[], detail = 'the request is not valid'): AssetProblemError => assetProblem(AssetProblem.validation, 400, 'Validation failed', { detail, errors });

export const notFound = (what: string): AssetProblemError => assetProblem(AssetProblem.notFound, 404, 'Not found', { detail: `${what} does not exist in this workspace` });

const MiB = 1024 * 1024;
const human = (n: number) => (n >= MiB ? `${(n / MiB).toFixed(n % MiB === 0 ? 0 : 1)} MiB` : `${n} bytes`);

/** 413 naming the configured limit that refused the upload. */
export function limitExceeded(limit: string, limitBytes: number, size: number, detail: string): AssetProblemError {
  return assetProblem(AssetProblem.limitExceeded, 413, 'Upload refused: limit exceeded', {
    detail: `${detail}: ${human(size)} requested, ${limit} allows ${human(limitBytes)}`,
    limit,
    limitBytes,
    size,
  });
}
