import type { FieldChange } from '@tidemark/contracts';
import type { FieldPolicy } from '../schema/schema';
import { cloneJson, valueProblem } from '../schema/values';
import type { AppendFieldState, AppendItem } from '../state/entity-state';
import { compareStamps, stampOf } from '../state/order';
import { fail, ok, unsupported, type ChangeContext, type PolicyPlan } from './plan';

/** Item order: the appending event's stamp (HLC wall, counter, deviceId, eventId), then position in the event. */
export function compareItems(a: AppendItem, b: AppendItem): number {
  return compareStamps(a, b) || a.index - b.index;
}

/**
 * `append` — an append-only list ordered by the appending event's stamp, never by arrival: a late
 * event with an older stamp is inserted where its stamp puts it (outcome `merged`).
 */
export function planAppend(policy: FieldPolicy, current: AppendFieldState | undefined, change: FieldChange, ctx: ChangeContext): PolicyPlan {
  if (change.op !== 'append') return unsupported(policy, change, ctx);
  if (change.values.length === 0) return fail(ctx, 'invalid-value', 'append needs at least one value', '/values');
  for (const [index, value] of change.values.entries()) {
    const problem = valueProblem(value, policy.valueType);
    if (problem) return fail(ctx, 'invalid-value', `values[${index}]: ${problem}`, `/values/${index}`);
  }
  const existing = current?.items ?? [];
  if (existing.some((item) => item.eventId === ctx.stamp.eventId)) return ok({ outcome: 'unchanged', rule: 'append:already-present' });
  const added: AppendItem[] = change.values.map((value, index) => ({ ...stampOf(ctx.stamp), index, value: cloneJson(value) }));
  const last = existing.at(-1);
  const atEnd = last === undefined || compareItems(last, added[0]!) < 0;
  const items = [...existing, ...added].sort(compareItems);
  return ok({ next: { policy: 'append', items }, outcome: atEnd ? 'applied' : 'merged', rule: atEnd ? 'append:at-end' : 'append:ordered-by-hlc' });
}
