import { scopeKey } from '@tidemark/contracts/core';
import { effectiveRole, roleRules, scopeDeclaration, type AccessRules, type ScopeDeclaration } from '../rules/declaration';

/** A device's subscription to a read scope: the scope's name and, for a partitioned scope, the partition value. */
export interface Subscription {
  scope: string;
  value?: string;
}

/** What a device's claims say about it (set at enrolment by an administrator): scope parameters come from them. */
export type Claims = Readonly<Record<string, unknown>>;

/**
 * What a device receives from the change log:
 * - `all`: the whole workspace;
 * - `scoped`: the records whose scope key is one of `keys`, or of one of the whole `types` (every key of those
 *   types). Both empty: nothing at all.
 */
export type ReadFilter = { kind: 'all' } | { kind: 'scoped'; keys: readonly string[]; types: readonly string[] };

export const READ_ALL: ReadFilter = Object.freeze({ kind: 'all' });

export type SubscriptionVerdict = { ok: true; types: readonly string[]; keys: readonly string[] } | { ok: false; code: SubscriptionDenialCode; detail: string };
export type SubscriptionDenialCode = 'scope-unknown' | 'scope-not-readable' | 'value-required' | 'value-not-expected' | 'value-not-allowed';

/**
 * Whether a device (its role and claims) may hold `subscription` under a workspace's rules, and which keys it reads:
 * the scope must be declared and readable by the device's role; a partitioned scope needs a value the scope allows
 * (any, or one the device's claims list), a whole scope none.
 */
export function checkSubscription(rules: AccessRules | undefined, deviceRole: string | null, claims: Claims, subscription: Subscription): SubscriptionVerdict {
  const scope = rules ? scopeDeclaration(rules, subscription.scope) : undefined;
  if (!rules || !scope) return { ok: false, code: 'scope-unknown', detail: `the workspace's access rules declare no scope "${subscription.scope}"` };
  const role = effectiveRole(rules, deviceRole);
  const read = role === null ? undefined : roleRules(rules, role)?.read;
  const readable = role !== null && roleRules(rules, role) !== undefined && (read === undefined || read === '*' || read.includes(subscription.scope));
  if (!readable) return { ok: false, code: 'scope-not-readable', detail: `role "${role ?? '(none)'}" (access rules v${rules.version}) may not read scope "${subscription.scope}"` };
  if (!scope.partition) {
    if (subscription.value !== undefined) return { ok: false, code: 'value-not-expected', detail: `scope "${subscription.scope}" reads all records of ${scope.types.join(', ')}; it takes no value` };
    return { ok: true, ...scopeSelection(scope) };
  }
  if (subscription.value === undefined) return { ok: false, code: 'value-required', detail: `scope "${subscription.scope}" is partitioned: name the partition value to read` };
  if (!valueAllowed(scope, claims, subscription.value)) {
    const values = scope.partition.values;
    const claim = values === '*' ? '' : values.claim;
    return { ok: false, code: 'value-not-allowed', detail: `the device's claims do not list "${subscription.value}" under "${claim}", which scope "${subscription.scope}" reads its values from` };
  }
  return { ok: true, ...scopeSelection(scope, subscription.value) };
}

/**
 * The change-log selection of one subscription to a declared scope: a whole scope reads whole entity types, a
 * partitioned one the scope key of each of its types with the value (`scopeKey`). Whether the subscription is
 * allowed is `checkSubscription`'s question, not this one's.
 */
export function scopeSelection(scope: ScopeDeclaration, value?: string): { types: readonly string[]; keys: readonly string[] } {
  if (!scope.partition) return { types: scope.types, keys: [] };
  return { types: [], keys: scope.types.map((type) => scopeKey(type, value)) };
}

function valueAllowed(scope: ScopeDeclaration, claims: Claims, value: string): boolean {
  const values = scope.partition!.values;
  if (values === '*') return true;
  const claimed = Object.prototype.hasOwnProperty.call(claims, values.claim) ? claims[values.claim] : undefined;
  const list = Array.isArray(claimed) ? claimed : [claimed];
  return list.some((item) => (typeof item === 'string' || (typeof item === 'number' && Number.isSafeInteger(item))) && String(item) === value);
}

/**
 * What a device receives, from the workspace's rules, its role, its claims and its subscriptions:
 * - no rules: the whole workspace (no scope can be declared, so no subscription narrows it);
 * - a role that reads `'*'` (or declares no `read`): the whole workspace until the device subscribes, then the union
 *   of its subscriptions;
 * - a role that reads a list of scopes: the union of the device's subscriptions it may hold — nothing until it subscribes;
 * - a role the rules do not declare (or none and no default): nothing.
 * A subscription the rules no longer allow (its scope gone, the role's `read` or the device's claims changed) is
 * left out at once (the gateway forgets a device's cached filter on every such change).
 */
export function readFilter(rules: AccessRules | undefined, deviceRole: string | null, claims: Claims, subscriptions: readonly Subscription[]): ReadFilter {
  if (!rules) return READ_ALL;
  const role = effectiveRole(rules, deviceRole);
  const declared = role === null ? undefined : roleRules(rules, role);
  if (!declared) return { kind: 'scoped', keys: [], types: [] };
  const readsAll = declared.read === undefined || declared.read === '*';
  if (readsAll && subscriptions.length === 0) return READ_ALL;
  const keys = new Set<string>();
  const types = new Set<string>();
  for (const subscription of subscriptions) {
    const verdict = checkSubscription(rules, deviceRole, claims, subscription);
    if (!verdict.ok) continue;
    for (const key of verdict.keys) keys.add(key);
    for (const type of verdict.types) types.add(type);
  }
  return { kind: 'scoped', keys: [...keys].sort(), types: [...types].sort() };
}

/** Whether a record with scope key `key` of type `type` passes `filter`. */
export function filterAdmits(filter: ReadFilter, type: string, key: string): boolean {
  return filter.kind === 'all' || filter.types.includes(type) || filter.keys.includes(key);
}
