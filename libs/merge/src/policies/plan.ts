import type { FieldChange } from '@tidemark/contracts';
import type { DecisionRule, FieldOutcome, MergeProblem, RejectCode } from '../merge/result';
import { POLICY_OPS, type FieldPolicy } from '../schema/schema';
import type { EventStamp, FieldConflict, FieldState } from '../state/entity-state';

/** Everything a policy may know about the change it merges. */
export interface ChangeContext {
  field: string;
  stamp: EventStamp;
  /** The entity version the device had seen. */
  baseVersion: number;
  /** The entity version this event produces if accepted. */
  version: number;
}

/** A policy's verdict on one change: the next field state (absent: unchanged) and the rule that fired. */
export interface PolicyStep {
  next?: FieldState;
  outcome: FieldOutcome;
  rule: DecisionRule;
  conflict?: FieldConflict;
}

export type PolicyPlan = { ok: true; step: PolicyStep } | { ok: false; problems: MergeProblem[] };

export function ok(step: PolicyStep): PolicyPlan {
  return { ok: true, step };
}

export function fail(ctx: ChangeContext, code: RejectCode, detail: string, suffix = ''): PolicyPlan {
  return { ok: false, problems: [{ pointer: `/fields/${ctx.field}${suffix}`, code, detail: `field "${ctx.field}": ${detail}` }] };
}

export function unsupported(policy: FieldPolicy, change: FieldChange, ctx: ChangeContext): PolicyPlan {
  const supported = POLICY_OPS[policy.policy].map((op) => `"${op}"`).join(', ');
  return fail(ctx, 'unsupported-op', `op "${change.op}" is not supported by policy "${policy.policy}" (supported: ${supported})`, '/op');
}
