import type { FieldChange } from '@tidemark/contracts';
import type { FieldPolicy } from '../schema/schema';
import { assertNever } from '../schema/own';
import type { FieldState } from '../state/entity-state';
import { planAppend } from './append';
import { planCounter } from './counter';
import { planExtremum } from './extremum';
import { planLww } from './lww';
import { planReview } from './review';
import { planSet } from './set';
import type { ChangeContext, PolicyPlan } from './plan';

export type { ChangeContext, PolicyPlan, PolicyStep } from './plan';
export { writeReview } from './review';

/**
 * Plans one field change under the field's declared policy: validates it and computes the next field
 * state, without touching anything. A stored field whose policy differs from the schema's is a broken
 * invariant (the registry forbids changing a field's policy) and throws.
 */
export function planFieldChange(policy: FieldPolicy, current: FieldState | undefined, change: FieldChange, ctx: ChangeContext): PolicyPlan {
  if (current && current.policy !== policy.policy) {
    throw new Error(`field "${ctx.field}" is stored as ${current.policy} but declared ${policy.policy}; a field's policy cannot change`);
  }
  switch (policy.policy) {
    case 'lww':
      return planLww(policy, current?.policy === 'lww' ? current : undefined, change, ctx);
    case 'counter':
      return planCounter(policy, current?.policy === 'counter' ? current : undefined, change, ctx);
    case 'max':
    case 'min':
      return planExtremum({ ...policy, policy: policy.policy }, current?.policy === 'max' || current?.policy === 'min' ? current : undefined, change, ctx);
    case 'set':
      return planSet(policy, current?.policy === 'set' ? current : undefined, change, ctx);
    case 'append':
      return planAppend(policy, current?.policy === 'append' ? current : undefined, change, ctx);
    case 'review':
      return planReview(policy, current?.policy === 'review' ? current : undefined, change, ctx);
    default:
      return assertNever(policy.policy, 'policy');
  }
}
