import type { InvalidParam } from './events/validate';

/**
 * Text tidemark can store. Postgres keeps text and jsonb as UTF-8 without U+0000, and jsonb refuses the
 * escape of a lone UTF-16 surrogate, so a string holding either could be journaled but never projected.
 * Every string a request carries (field values nested anywhere, object keys, ids, labels, names, reasons,
 * query parameters, path segments) must be a sequence of Unicode scalar values other than U+0000.
 */
export const TEXT_RULES = {
  /** Problems of one request named at most (the first ones, in document order). */
  maxReported: 20,
} as const;

const SURROGATE = /[\ud800-\udfff]/;

/** Why a string cannot be stored, or undefined when it can: it holds U+0000 or a lone surrogate. */
export function unstorableText(text: string): string | undefined {
  if (!text.includes('\u0000') && !SURROGATE.test(text)) return undefined;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit === 0) return `holds U+0000 (NUL) at index ${i}; text may not contain NUL`;
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    if (unit >= 0xd800 && unit <= 0xdfff) return `holds a lone surrogate U+${unit.toString(16).toUpperCase()} at index ${i}; text must be well-formed Unicode`;
  }
  return undefined;
}

/** One reference token of a JSON pointer (RFC 6901): `~` as `~0`, `/` as `~1`. */
export const pointerToken = (key: string | number): string => String(key).replace(/~/g, '~0').replace(/\//g, '~1');

/** A value met during the walk: where it hangs (its key under its parent), so a pointer is built only for a problem. */
interface Visit {
  value: unknown;
  parent: Visit | undefined;
  key: string | number | undefined;
  /** The key is a member name (checked as text too), not an array index. */
  member: boolean;
}

function pointerOf(visit: Visit, at: string): string {
  const tokens: string[] = [];
  for (let v: Visit | undefined = visit; v?.parent !== undefined; v = v.parent) tokens.push(pointerToken(v.key!));
  return tokens.length === 0 ? at : `${at}/${tokens.reverse().join('/')}`;
}

/**
 * Every string in a JSON value (object keys too) that cannot be stored, each named by its JSON pointer
 * under `at`, the first `TEXT_RULES.maxReported` of them. A key that cannot be stored is named by the
 * pointer to its member. Iterative, so a deeply nested value cannot overflow the stack; pointers are built
 * only for the strings refused, so the walk of a storable body allocates little.
 */
export function findUnstorableText(value: unknown, at = ''): InvalidParam[] {
  const errors: InvalidParam[] = [];
  const stack: Visit[] = [{ value, parent: undefined, key: undefined, member: false }];
  while (stack.length > 0 && errors.length < TEXT_RULES.maxReported) {
    const item = stack.pop()!;
    if (item.member) {
      const why = unstorableText(item.key as string);
      if (why) errors.push({ pointer: pointerOf(item, at), detail: `the member name ${why}` });
    }
    const current = item.value;
    if (typeof current === 'string') {
      const why = unstorableText(current);
      if (why) errors.push({ pointer: pointerOf(item, at) || '/', detail: why });
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) {
        const child: unknown = current[i];
        if (child !== null && (typeof child === 'object' || typeof child === 'string')) stack.push({ value: child, parent: item, key: i, member: false });
      }
      continue;
    }
    const keys = Object.keys(current);
    for (let i = keys.length - 1; i >= 0; i--) stack.push({ value: (current as Record<string, unknown>)[keys[i]!], parent: item, key: keys[i]!, member: true });
  }
  return errors.slice(0, TEXT_RULES.maxReported);
}

const vouched = new WeakSet<object>();

/**
 * Vouches that every string of a freshly parsed value (keys too) is storable, as `findUnstorableText` found:
 * a compiled validator then does not walk it again. Only the code that parsed the value and walked it may
 * call this (the services' JSON body parser does), and the value must not change afterwards.
 */
export function vouchStorableText(value: unknown): void {
  if (value !== null && typeof value === 'object') vouched.add(value);
}

/** Whether `vouchStorableText` vouched for this very value. */
export function isVouchedStorable(value: unknown): boolean {
  return value !== null && typeof value === 'object' && vouched.has(value);
}
