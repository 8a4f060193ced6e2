import type { DeviceEvent, InvalidParam } from '@tidemark/contracts';
import { CLIENT_LIMITS } from '../limits';

/** The envelope's identifier patterns (equal to the contracts' schemas; a unit test holds them equal). */
export const PATTERNS = {
  idToken: /^[A-Za-z0-9_:-]{1,128}$/,
  typeName: /^[a-z][a-z0-9_]{0,63}$/,
  fieldName: /^[A-Za-z][A-Za-z0-9_]{0,63}$/,
} as const;

const FIELD_OPS = new Set(['set', 'inc', 'add', 'remove', 'append']);

/**
 * The checks a device can make without a schema validator, so an event that can never be accepted is refused
 * at `enqueue` instead of sitting in the outbox: identifiers, op requirements, field count and size.
 * The server validates everything again; what slips through is quarantined when it refuses it.
 * Returns the serialised event with its problems (none: valid as far as the device can tell).
 */
export function checkEvent(event: DeviceEvent): { json: string; bytes: number; errors: InvalidParam[] } {
  const errors: InvalidParam[] = [];
  const add = (pointer: string, detail: string) => errors.push({ pointer, detail });
  if (!PATTERNS.typeName.test(event.entity.type)) add('/entity/type', 'must be a lower-case type name (a-z, 0-9, _; up to 64)');
  if (!PATTERNS.idToken.test(event.entity.id)) add('/entity/id', 'must be 1–128 letters, digits, _ : -');
  if (!PATTERNS.idToken.test(event.deviceId)) add('/deviceId', 'must be 1–128 letters, digits, _ : -');
  if (!Number.isSafeInteger(event.baseVersion) || event.baseVersion < 0) add('/baseVersion', 'must be an integer ≥ 0');
  if (!Number.isInteger(event.schemaVersion) || event.schemaVersion < 1 || event.schemaVersion > 1_000_000) add('/schemaVersion', 'must be an integer from 1 to 1000000');
  const fields = Object.entries(event.fields ?? {});
  if (fields.length > CLIENT_LIMITS.maxFieldsPerEvent) add('/fields', `changes ${fields.length} fields; the limit is ${CLIENT_LIMITS.maxFieldsPerEvent}`);
  for (const [name, change] of fields) {
    if (!PATTERNS.fieldName.test(name)) add(`/fields/${name}`, 'field names start with a letter (letters, digits, _; up to 64)');
    if (!FIELD_OPS.has((change as { op?: unknown }).op as string)) add(`/fields/${name}/op`, 'must be set, inc, add, remove or append');
  }
  if (event.op === 'upsert' && fields.length === 0) add('/fields', 'an upsert needs at least one field change');
  if (event.op === 'transition' && !event.job) add('/job', 'is required when op is "transition"');
  if (event.op === 'resolve' && !event.resolution) add('/resolution', 'is required when op is "resolve"');
  let json = '';
  try {
    json = JSON.stringify(event);
  } catch (error) {
    add('/', `is not JSON-serialisable: ${(error as Error).message}`);
  }
  const bytes = byteLength(json);
  if (bytes > CLIENT_LIMITS.maxEventBytes) add('/', `event is ${bytes} bytes; the limit is ${CLIENT_LIMITS.maxEventBytes}`);
  return { json, bytes, errors };
}

const encoder = new TextEncoder();

/** UTF-8 length of a string. */
export function byteLength(text: string): number {
  return encoder.encode(text).length;
}
