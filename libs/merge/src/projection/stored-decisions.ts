import type { FieldChange } from '@tidemark/contracts';
import type { DecisionRule, FieldDecision, FieldOutcome } from '../merge/result';
import type { PolicyName } from '../schema/schema';

/**
 * A field's value before or after a decision, as stored: JSON `null` when the field had no value, the value
 * itself otherwise, wrapped in a one-element array when it is `null` or an array (so absent, `null` and `[…]`
 * stay distinct without paying for the wrapper on the common scalar or object value).
 */
export type StoredValue = unknown;

/**
 * One field decision as the `merge_decisions.decisions` array stores it: a positional tuple
 * `[field, policy, rule, outcome, change, before, after]`, with the conflict id as an eighth member when the
 * decision opened one. Positions, not keys: a jsonb object spends 8 bytes and its key's length per member,
 * which made an array of objects larger than the per-field rows it replaced.
 */
export type StoredDecision =
  | [field: string, policy: PolicyName, rule: DecisionRule, outcome: FieldOutcome, change: FieldChange, before: StoredValue, after: StoredValue]
  | [field: string, policy: PolicyName, rule: DecisionRule, outcome: FieldOutcome, change: FieldChange, before: StoredValue, after: StoredValue, conflictId: string];

function storeValue(present: boolean, value: unknown): StoredValue {
  if (!present) return null;
  return value === null || Array.isArray(value) ? [value] : value;
}

function loadValue(stored: StoredValue): { present: false } | { present: true; value: unknown } {
  if (stored === null || stored === undefined) return { present: false };
  return { present: true, value: Array.isArray(stored) ? (stored as unknown[])[0] : stored };
}

/** A decision as stored (`loadDecision` gives it back as it was). */
export function storeDecision(d: FieldDecision): StoredDecision {
  const before = storeValue('before' in d && d.before !== undefined, d.before);
  const after = storeValue('after' in d && d.after !== undefined, d.after);
  return d.conflictId === undefined ? [d.field, d.policy, d.rule, d.outcome, d.change, before, after] : [d.field, d.policy, d.rule, d.outcome, d.change, before, after, d.conflictId];
}

/** A stored decision as the merge made it: `before`, `after` and `conflictId` present only when they were. */
export function loadDecision(stored: StoredDecision): FieldDecision {
  const [field, policy, rule, outcome, change, before, after, conflictId] = stored;
  const decision: FieldDecision = { field, policy, change, outcome, rule };
  const b = loadValue(before);
  if (b.present) decision.before = b.value;
  const a = loadValue(after);
  if (a.present) decision.after = a.value;
  if (conflictId !== undefined) decision.conflictId = conflictId;
  return decision;
}
