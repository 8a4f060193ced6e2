// Option value parsers: each turns what was typed into the value a request carries, or refuses it with
// a message commander prints as a usage error (exit 2). Pure; the clock is an argument.
import { InvalidArgumentError } from 'commander';

/** A positive (or, with `min: 0`, non-negative) integer within range. */
export function integer(min = 1, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    if (!/^[0-9]+$/.test(text.trim())) throw new InvalidArgumentError(`must be an integer (${min}–${max}).`);
    const value = Number(text.trim());
    if (!Number.isSafeInteger(value) || value < min || value > max) throw new InvalidArgumentError(`must be from ${min} to ${max}.`);
    return value;
  };
}

/** A non-negative number (seconds, messages). */
export function nonNegative(text: string): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) throw new InvalidArgumentError('must be a number of at least 0.');
  return value;
}

/** A JSON value (`--value '"lynx"'`, `--value 3`, `--value '{"a":1}'`). */
export function jsonValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidArgumentError(`must be JSON (a string needs its quotes: '"${text}"').`);
  }
}

/** An http(s) URL without a trailing slash. */
export function baseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(`"${text}" is not a URL (e.g. http://127.0.0.1:3005).`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`"${text}" must be an http or https URL.`);
  return url.toString().replace(/\/+$/, '');
}

/** `type=N` for `--policy-revision`, collected into one record (a type named twice is refused). */
export function policyRevision(text: string, previous: Record<string, number> = {}): Record<string, number> {
  const match = /^([A-Za-z][A-Za-z0-9_-]*)=([0-9]+)$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError(`"${text}" must be type=revision (e.g. prompt=2).`);
  const [, type, revision] = match as unknown as [string, string, string];
  if (Object.prototype.hasOwnProperty.call(previous, type)) throw new InvalidArgumentError(`${type} is named twice.`);
  const n = Number(revision);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`the revision of ${type} must be a positive integer.`);
  return { ...previous, [type]: n };
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * A point in time: an ISO-8601 date-time (a date alone is midnight UTC), or a duration before `now`
 * (`90s`, `30m`, `2h`, `7d`, `2w`). Answers ISO-8601 in UTC.
 */
export function pointInTime(now: () => Date): (text: string) => string {
  return (text) => {
    const t = text.trim();
    const relative = /^([0-9]+)([smhdw])$/.exec(t);
    if (relative) return new Date(now().getTime() - Number(relative[1]) * UNITS[relative[2]!]! * 1000).toISOString();
    if (/^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:?[0-9]{2})?)?$/.test(t)) {
      const dateOnly = t.length === 10;
      const ms = Date.parse(dateOnly ? `${t}T00:00:00Z` : t.replace(' ', 'T'));
      if (!Number.isNaN(ms)) return new Date(ms).toISOString();
    }
    throw new InvalidArgumentError(`"${text}" must be an ISO-8601 date-time (2026-11-25T12:00:00Z) or a duration ago (30m, 2h, 7d).`);
  };
}

/** A diff digest to confirm a swap with (64 hex digits). */
export function digest(text: string): string {
  const t = text.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(t)) throw new InvalidArgumentError('must be the diff digest (64 hex digits) that `tidemark replay diff` shows.');
  return t;
}

/** A reason: required text (ops-api audits it). */
export function reason(text: string): string {
  if (text.trim() === '') throw new InvalidArgumentError('must say why (it is audited).');
  return text;
}
