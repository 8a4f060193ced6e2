import type { FieldChange } from '@tidemark/contracts';
import type { FieldPolicy } from '../schema/schema';
import { cloneJson, valueProblem } from '../schema/values';
import type { LwwFieldState } from '../state/entity-state';
import { compareStamps, stampOf } from '../state/order';
import { fail, ok, unsupported, type ChangeContext, type PolicyPlan } from './plan';

/**
 * `lww` — last writer wins by stamp: HLC wall, HLC counter, deviceId, then eventId. A write with a
 * smaller stamp than the stored one loses (recorded, not applied), whatever order the two arrive in.
 */
export function planLww(policy: FieldPolicy, current: LwwFieldState | undefined, change: FieldChange, ctx: ChangeContext): PolicyPlan {
  if (change.op !== 'set') return unsupported(policy, change, ctx);
  const problem = valueProblem(change.value, policy.valueType, policy.nullable === true);
  if (problem) return fail(ctx, 'invalid-value', problem, '/value');
  const next: LwwFieldState = { policy: 'lww', value: cloneJson(change.value), stamp: stampOf(ctx.stamp) };
  if (!current) return ok({ next, outcome: 'applied', rule: 'lww:first-write' });
  const order = compareStamps(ctx.stamp, current.stamp);
  if (order > 0) return ok({ next, outcome: 'applied', rule: 'lww:newer-stamp' });
  return ok({ outcome: order === 0 ? 'unchanged' : 'lost', rule: 'lww:older-stamp' });
}
