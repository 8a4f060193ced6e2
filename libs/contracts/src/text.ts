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

/**
 * Every string in a JSON value (object keys too) that cannot be stored, each named by its JSON pointer
 * under `at`, the first `TEXT_RULES.maxReported` of them. A key that cannot be stored is named by the
 * pointer to its member. Iterative, so a deeply nested value cannot overflow the stack.
 */
export function findUnstorableText(value: unknown, at = ''): InvalidParam[] {
  const errors: InvalidParam[] = [];
  const stack: { value: unknown; at: string; key?: string }[] = [{ value, at }];
  while (stack.length > 0 && errors.length < TEXT_RULES.maxReported) {
    const item = stack.pop()!;
    if (item.key !== undefined) {
      const why = unstorableText(item.key);
      if (why) errors.push({ pointer: item.at, detail: `the member name ${why}` });
    }
    if (typeof item.value === 'string') {
      const why = unstorableText(item.value);
      if (why) errors.push({ pointer: item.at || '/', detail: why });
      continue;
    }
    if (item.value === null || typeof item.value !== 'object') continue;
    if (Array.isArray(item.value)) {
      for (let i = item.value.length - 1; i >= 0; i--) stack.push({ value: item.value[i], at: `${item.at}/${i}` });
      continue;
    }
    const entries = Object.entries(item.value as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      stack.push({ value: child, at: `${item.at}/${pointerToken(key)}`, key });
    }
  }
  return errors.slice(0, TEXT_RULES.maxReported);
}
