import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { TSchema, Static } from '@sinclair/typebox';
import { DeviceEvent, LIMITS, PushRequest } from './device-event';
import { findUnstorableText, isVouchedStorable } from '../text';

/** One thing wrong with an input: where (a JSON pointer into the request) and what. */
export interface InvalidParam {
  pointer: string;
  detail: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: InvalidParam[] };

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, coerceTypes: false, useDefaults: false });
addFormats(ajv, ['uuid', 'date-time', 'uri']);

function describe(error: ErrorObject): InvalidParam {
  switch (error.keyword) {
    case 'additionalProperties': {
      const extra = (error.params as { additionalProperty: string }).additionalProperty;
      return { pointer: `${error.instancePath}/${extra}`, detail: 'unknown field' };
    }
    case 'required': {
      const missing = (error.params as { missingProperty: string }).missingProperty;
      return { pointer: `${error.instancePath}/${missing}`, detail: 'is required' };
    }
    default:
      return { pointer: error.instancePath || '/', detail: error.message ?? error.keyword };
  }
}

/**
 * Compiles a TypeBox schema into a validator that reports every problem with its JSON pointer. Besides the
 * schema, every string of the input (object keys too) must be text tidemark can store (`unstorableText`):
 * no U+0000, no lone surrogate, wherever it is nested (not walked again for a value the parser vouched for).
 */
export function compileValidator<S extends TSchema>(schema: S): (input: unknown) => Validated<Static<S>> {
  const validate: ValidateFunction = ajv.compile(schema);
  return (input: unknown) => {
    const shaped = validate(input);
    // A request body was walked by the body parser already (it vouched for it): one walk per request.
    const unstorable = isVouchedStorable(input) ? [] : findUnstorableText(input);
    if (shaped && unstorable.length === 0) return { ok: true, value: input as Static<S> };
    const seen = new Set<string>(unstorable.map((e) => e.pointer));
    const errors: InvalidParam[] = [...unstorable];
    // A union reports one error per branch; keep the first message per pointer so the answer stays readable.
    for (const error of shaped ? [] : (validate.errors ?? [])) {
      const param = describe(error);
      if (seen.has(param.pointer)) continue;
      seen.add(param.pointer);
      errors.push(param);
    }
    return { ok: false, errors };
  };
}

/** Depth of a JSON value: a scalar is 0, `[1]` is 1. Stops counting past `limit`. */
export function jsonDepth(value: unknown, limit: number): number {
  if (value === null || typeof value !== 'object') return 0;
  if (limit <= 0) return 1;
  let deepest = 0;
  for (const child of Array.isArray(value) ? value : Object.values(value as Record<string, unknown>)) {
    deepest = Math.max(deepest, jsonDepth(child, limit - 1));
    if (deepest >= limit) break;
  }
  return deepest + 1;
}

const validateBatch = compileValidator(PushRequest);
const validateEvent = compileValidator(DeviceEvent);

/**
 * Checks a push batch shape first (count, envelope), then each event's own limits.
 * Returns batch-level errors (the whole request is refused) separately from nothing: the gateway
 * refuses a batch with any invalid event so nothing of a bad request is journaled.
 */
export function validatePushRequest(input: unknown): Validated<PushRequest> {
  if (input !== null && typeof input === 'object' && Array.isArray((input as { events?: unknown }).events)) {
    const count = (input as { events: unknown[] }).events.length;
    if (count > LIMITS.maxEventsPerBatch) {
      return { ok: false, errors: [{ pointer: '/events', detail: `has ${count} events; the limit is ${LIMITS.maxEventsPerBatch} per batch` }] };
    }
  }
  if (jsonDepth(input, LIMITS.maxValueDepth + 8) > LIMITS.maxValueDepth + 6) {
    return { ok: false, errors: [{ pointer: '/', detail: `JSON nested deeper than ${LIMITS.maxValueDepth} levels inside a field value` }] };
  }
  const shaped = validateBatch(input);
  if (!shaped.ok) return shaped;
  const errors: InvalidParam[] = [];
  const ids = new Map<string, number>();
  shaped.value.events.forEach((event, index) => {
    const at = `/events/${index}`;
    const bytes = Buffer.byteLength(JSON.stringify(event));
    if (bytes > LIMITS.maxEventBytes) errors.push({ pointer: at, detail: `event is ${bytes} bytes; the limit is ${LIMITS.maxEventBytes}` });
    const earlier = ids.get(event.eventId);
    if (earlier !== undefined) errors.push({ pointer: `${at}/eventId`, detail: `repeats the eventId of /events/${earlier}` });
    ids.set(event.eventId, index);
    for (const [name, change] of Object.entries(event.fields ?? {})) {
      const value = change.op === 'set' ? change.value : change.op === 'inc' ? 0 : change.values;
      if (jsonDepth(value, LIMITS.maxValueDepth + 1) > LIMITS.maxValueDepth) {
        errors.push({ pointer: `${at}/fields/${name}`, detail: `value nested deeper than ${LIMITS.maxValueDepth} levels` });
      }
    }
    if (event.op === 'transition' && !event.job) errors.push({ pointer: `${at}/job`, detail: 'is required when op is "transition"' });
    if (event.op === 'resolve' && !event.resolution) errors.push({ pointer: `${at}/resolution`, detail: 'is required when op is "resolve"' });
    if (event.op === 'upsert' && (!event.fields || Object.keys(event.fields).length === 0)) {
      errors.push({ pointer: `${at}/fields`, detail: 'an upsert needs at least one field change' });
    }
  });
  return errors.length > 0 ? { ok: false, errors } : shaped;
}

export { validateEvent };
