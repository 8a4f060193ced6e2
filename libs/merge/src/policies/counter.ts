import type { FieldChange } from '@tidemark/contracts';
import type { FieldPolicy } from '../schema/schema';
import type { CounterFieldState } from '../state/entity-state';
import { fail, ok, unsupported, type ChangeContext, type PolicyPlan } from './plan';

/** `counter` — the sum of every `inc`. Integers only, so any order of increments gives the same sum. */
export function planCounter(policy: FieldPolicy, current: CounterFieldState | undefined, change: FieldChange, ctx: ChangeContext): PolicyPlan {
  if (change.op !== 'inc') return unsupported(policy, change, ctx);
  if (!Number.isSafeInteger(change.by)) return fail(ctx, 'invalid-value', `inc by ${change.by}: a counter increments by a safe integer`, '/by');
  const value = (current?.value ?? 0) + change.by + 0; // + 0 turns -0 into 0
  if (!Number.isSafeInteger(value)) return fail(ctx, 'invalid-value', `inc by ${change.by} would take the counter to ${value}, beyond the safe integer range`, '/by');
  return ok({ next: { policy: 'counter', value }, outcome: change.by === 0 ? 'unchanged' : 'applied', rule: 'counter:add' });
}
