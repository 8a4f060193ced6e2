import { ProblemType, problem, type SubscriptionRef } from '@tidemark/contracts';
import { ProblemError } from '@tidemark/platform';
import type { SubscriptionVerdict } from '@tidemark/access';

type Denied = Extract<SubscriptionVerdict, { ok: false }>;

/**
 * A subscription (or a scoped snapshot) the device may not have: 400 when the request names something the rules do
 * not declare or misses a value, 403 when the rules refuse it (the role may not read the scope, or the claims do not
 * list the value); each names the subscription by pointer.
 */
export function subscriptionProblem(denials: readonly { pointer: string; verdict: Denied; subscription: SubscriptionRef }[]): ProblemError {
  const refused = denials.some((d) => d.verdict.code === 'scope-not-readable' || d.verdict.code === 'value-not-allowed');
  const errors = denials.map((d) => ({ pointer: d.pointer, detail: d.verdict.detail, code: d.verdict.code }));
  if (!refused) return ProblemError.validation(errors, 'a subscription names no scope the access rules declare, or not the way the scope is declared');
  return new ProblemError(
    problem(ProblemType.forbidden, 403, 'Forbidden', {
      detail: 'the device may not read what it asked for; nothing was changed',
      code: 'read-not-allowed',
      errors,
    }),
  );
}
