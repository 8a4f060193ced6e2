import type { FieldChange } from '@tidemark/contracts';
import type { FieldPolicy } from '../schema/schema';
import { cloneJson, valueProblem } from '../schema/values';
import { MERGE_LIMITS, type ConflictBase, type ReviewFieldState } from '../state/entity-state';
import { stampOf } from '../state/order';
import { keyOf } from '../state/state';
import { fail, ok, unsupported, type ChangeContext, type PolicyPlan } from './plan';

/** The field's value as of entity version `version`, as far as its history knows. */
export function baseAt(field: ReviewFieldState, version: number): ConflictBase {
  if (version < field.created) return { kind: 'absent' };
  for (let i = field.history.length - 1; i >= 0; i--) {
    const entry = field.history[i]!;
    if (entry.version <= version) return { kind: 'value', value: cloneJson(entry.value) };
  }
  return { kind: 'unknown' };
}

/** The field after writing `value` at `ctx.version` (used by changes and by resolutions). */
export function writeReview(current: ReviewFieldState | undefined, value: unknown, ctx: Pick<ChangeContext, 'stamp' | 'version'>): ReviewFieldState {
  const history = [...(current?.history ?? []), { version: ctx.version, value: cloneJson(value) }];
  return {
    policy: 'review',
    value: cloneJson(value),
    changed: { ...stampOf(ctx.stamp), version: ctx.version },
    created: current?.created ?? ctx.version,
    history: history.slice(Math.max(0, history.length - MERGE_LIMITS.reviewHistory)),
  };
}

/**
 * `review` — never chooses between concurrent values. A change is concurrent when the event's
 * baseVersion is older than the version at which the field last changed, that change came from a
 * different device, and the values differ; it then opens a conflict (`${eventId}:${field}`) carrying
 * base, ours (stored) and theirs (incoming) with both stamps, and the field keeps its value.
 * Any other change applies.
 */
export function planReview(policy: FieldPolicy, current: ReviewFieldState | undefined, change: FieldChange, ctx: ChangeContext): PolicyPlan {
  if (change.op !== 'set') return unsupported(policy, change, ctx);
  const problem = valueProblem(change.value, policy.valueType, policy.nullable === true);
  if (problem) return fail(ctx, 'invalid-value', problem, '/value');
  if (!current) return ok({ next: writeReview(undefined, change.value, ctx), outcome: 'applied', rule: 'review:first-write' });
  if (keyOf(change.value) === keyOf(current.value)) return ok({ outcome: 'unchanged', rule: 'review:same-value' });
  if (ctx.baseVersion >= current.changed.version) return ok({ next: writeReview(current, change.value, ctx), outcome: 'applied', rule: 'review:saw-latest' });
  if (ctx.stamp.deviceId === current.changed.deviceId) return ok({ next: writeReview(current, change.value, ctx), outcome: 'applied', rule: 'review:same-device' });
  const id = `${ctx.stamp.eventId}:${ctx.field}`;
  return ok({
    outcome: 'conflicted',
    rule: 'review:concurrent-edit',
    conflict: {
      id,
      kind: 'field',
      rule: 'review:concurrent-edit',
      field: ctx.field,
      base: baseAt(current, ctx.baseVersion),
      ours: { ...current.changed, hlc: { ...current.changed.hlc }, value: cloneJson(current.value) },
      theirs: { ...stampOf(ctx.stamp), value: cloneJson(change.value), baseVersion: ctx.baseVersion },
      openedAt: ctx.version,
    },
  });
}
