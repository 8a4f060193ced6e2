import type { FieldChange } from '@tidemark/contracts';
import type { FieldPolicy } from '../schema/schema';
import { compareText } from '../schema/own';
import { cloneJson, valueProblem } from '../schema/values';
import type { ExtremumFieldState } from '../state/entity-state';
import { compareStamps, stampOf } from '../state/order';
import { fail, ok, unsupported, type ChangeContext, type PolicyPlan } from './plan';

function compareValues(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  if (typeof a === 'string' && typeof b === 'string') return compareText(a, b);
  throw new Error(`cannot compare ${typeof a} with ${typeof b}: the field's stored value does not match its value type`);
}

/**
 * `max` / `min` — keeps the greatest (least) value; numbers numerically, strings by code unit.
 * A write of the same value keeps the value and takes the greater stamp, so the stored stamp does not
 * depend on arrival order either.
 */
export function planExtremum(policy: FieldPolicy & { policy: 'max' | 'min' }, current: ExtremumFieldState | undefined, change: FieldChange, ctx: ChangeContext): PolicyPlan {
  if (change.op !== 'set') return unsupported(policy, change, ctx);
  const problem = valueProblem(change.value, policy.valueType);
  if (problem) return fail(ctx, 'invalid-value', problem, '/value');
  const value = cloneJson(change.value as number | string);
  const kind = policy.policy;
  if (!current) return ok({ next: { policy: kind, value, stamp: stampOf(ctx.stamp) }, outcome: 'applied', rule: `${kind}:first-write` });
  const order = compareValues(value, current.value) * (kind === 'max' ? 1 : -1);
  if (order > 0) return ok({ next: { policy: kind, value, stamp: stampOf(ctx.stamp) }, outcome: 'applied', rule: kind === 'max' ? 'max:raised' : 'min:lowered' });
  if (order < 0) return ok({ outcome: 'lost', rule: kind === 'max' ? 'max:not-higher' : 'min:not-lower' });
  const newer = compareStamps(ctx.stamp, current.stamp) > 0;
  return ok({ ...(newer ? { next: { ...current, stamp: stampOf(ctx.stamp) } } : {}), outcome: 'unchanged', rule: `${kind}:equal` });
}
