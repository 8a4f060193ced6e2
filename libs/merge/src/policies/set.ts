import type { FieldChange } from '@tidemark/contracts';
import type { FieldPolicy } from '../schema/schema';
import { compareText } from '../schema/own';
import { cloneJson, valueProblem } from '../schema/values';
import type { SetElement, SetFieldState, SetTag } from '../state/entity-state';
import { keyOf } from '../state/state';
import { fail, ok, unsupported, type ChangeContext, type PolicyPlan } from './plan';

function byKey(a: SetElement, b: SetElement): number {
  return compareText(keyOf(a.value), keyOf(b.value));
}

function byEventId(a: SetTag, b: SetTag): number {
  return compareText(a.eventId, b.eventId);
}

/**
 * `set` — add-wins observed-remove set. Elements are identified by canonical JSON.
 *  - `add` gives each element a tag: the adding eventId and the entity version the add produced (`at`).
 *  - `remove` deletes only the tags its device had observed: a tag with `at <= baseVersion` (the device
 *    had pulled a version containing it) or a tag added by the same device (a device sees its own writes;
 *    the journal keeps one device's events in order). Tags it had not observed — adds concurrent with the
 *    remove — survive, so the element stays: add wins.
 *  - An element is present while it has at least one tag.
 */
export function planSet(policy: FieldPolicy, current: SetFieldState | undefined, change: FieldChange, ctx: ChangeContext): PolicyPlan {
  if (change.op !== 'add' && change.op !== 'remove') return unsupported(policy, change, ctx);
  if (change.values.length === 0) return fail(ctx, 'invalid-value', `${change.op} needs at least one value`, '/values');
  for (const [index, value] of change.values.entries()) {
    const problem = valueProblem(value, policy.valueType);
    if (problem) return fail(ctx, 'invalid-value', `values[${index}]: ${problem}`, `/values/${index}`);
  }
  const elements = new Map<string, SetElement>((current?.elements ?? []).map((element) => [keyOf(element.value), element]));
  const finish = (): SetFieldState => ({ policy: 'set', elements: [...elements.values()].sort(byKey) });

  if (change.op === 'add') {
    const tag: SetTag = { eventId: ctx.stamp.eventId, deviceId: ctx.stamp.deviceId, at: ctx.version };
    for (const value of change.values) {
      const copy = cloneJson(value);
      const key = keyOf(copy);
      const element = elements.get(key);
      if (!element) elements.set(key, { value: copy, tags: [{ ...tag }] });
      else if (!element.tags.some((existing) => existing.eventId === tag.eventId)) {
        elements.set(key, { value: element.value, tags: [...element.tags, { ...tag }].sort(byEventId) });
      }
    }
    return ok({ next: finish(), outcome: 'applied', rule: 'set:add' });
  }

  let removed = 0;
  let survived = 0;
  for (const value of change.values) {
    const key = keyOf(cloneJson(value));
    const element = elements.get(key);
    if (!element) continue;
    const remaining = element.tags.filter((tag) => !(tag.at <= ctx.baseVersion || tag.deviceId === ctx.stamp.deviceId));
    if (remaining.length === element.tags.length) {
      survived++;
      continue;
    }
    if (remaining.length === 0) {
      elements.delete(key);
      removed++;
    } else {
      elements.set(key, { value: element.value, tags: remaining });
      survived++;
    }
  }
  if (survived > 0) return ok({ next: finish(), outcome: 'merged', rule: 'set:add-wins' });
  if (removed > 0) return ok({ next: finish(), outcome: 'applied', rule: 'set:observed-remove' });
  return ok({ outcome: 'unchanged', rule: 'set:remove-absent' });
}
