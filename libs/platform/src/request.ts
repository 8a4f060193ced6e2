import type { Validated } from '@tidemark/contracts';
import { ProblemError } from './problem-filter';

/**
 * Validates a query string against its schema. Values arrive as strings, so the parameters named in
 * `integers` are converted first when they are plain digits (anything else stays a string and fails
 * validation); a parameter given twice fails as not a single value. Problems are named `query:<name>`.
 */
export function parseQuery<T>(validate: (input: unknown) => Validated<T>, query: Record<string, unknown> | undefined, integers: readonly string[] = []): T {
  const input: Record<string, unknown> = { ...(query ?? {}) };
  for (const name of integers) {
    const value = input[name];
    if (typeof value === 'string' && /^[0-9]{1,15}$/.test(value)) input[name] = Number(value);
  }
  const parsed = validate(input);
  if (parsed.ok) return parsed.value;
  throw ProblemError.validation(parsed.errors.map((e) => ({ pointer: `query:${e.pointer.replace(/^\//, '').split('/')[0]}`, detail: e.detail === 'unknown field' ? 'unknown parameter' : e.detail })));
}

/** Validates one path segment; problems are named `path:<name>`. */
export function parsePath<T>(validate: (input: unknown) => Validated<T>, name: string, value: string): T {
  const parsed = validate(value);
  if (parsed.ok) return parsed.value;
  throw ProblemError.validation(parsed.errors.map((e) => ({ pointer: `path:${name}`, detail: e.detail })));
}
