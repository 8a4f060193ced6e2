import type { InvalidParam } from '@tidemark/contracts';
import { FIELD_NAME_PATTERN, TYPE_NAME_PATTERN } from '@tidemark/contracts/core';
import { DELETE_CONFLICT_RULES, NULLABLE_POLICIES, POLICIES, POLICY_VALUE_TYPES, VALUE_TYPES, type EntityTypeSchema, type PolicyName } from './schema';
import { sortedKeys } from './own';

// The same name rules the event envelope enforces, taken from the contracts so they cannot drift.
const TYPE_NAME = new RegExp(TYPE_NAME_PATTERN);
const FIELD_NAME = new RegExp(FIELD_NAME_PATTERN);
const MAX_SCHEMA_VERSION = 1_000_000;

const SCHEMA_KEYS = ['type', 'version', 'fields', 'onDeleteConflict', 'job', 'partitionBy', 'queueBy', 'description'];
/** The value types a partition field may hold, and its policy: one value at a time, never a conflict. */
const PARTITION_VALUE_TYPES = ['string', 'integer'];
const FIELD_KEYS = ['policy', 'valueType', 'nullable', 'description'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function oneOf(values: readonly string[]): string {
  return values.map((v) => `"${v}"`).join(', ');
}

/**
 * Checks an entity type schema definition (for example one read from configuration) and returns
 * every problem, each named by JSON pointer; an empty list means the schema is valid.
 */
export function validateEntityTypeSchema(input: unknown): InvalidParam[] {
  const errors: InvalidParam[] = [];
  const add = (pointer: string, detail: string) => errors.push({ pointer, detail });
  if (!isRecord(input)) return [{ pointer: '/', detail: 'a schema must be an object' }];
  for (const key of sortedKeys(input)) if (!SCHEMA_KEYS.includes(key)) add(`/${key}`, 'unknown member');
  if (typeof input.type !== 'string' || !TYPE_NAME.test(input.type)) add('/type', `must match ${TYPE_NAME.source}`);
  if (!Number.isInteger(input.version) || (input.version as number) < 1 || (input.version as number) > MAX_SCHEMA_VERSION) {
    add('/version', `must be an integer from 1 to ${MAX_SCHEMA_VERSION}`);
  }
  if (typeof input.onDeleteConflict !== 'string' || !(DELETE_CONFLICT_RULES as readonly string[]).includes(input.onDeleteConflict)) {
    add('/onDeleteConflict', `must be one of ${oneOf(DELETE_CONFLICT_RULES)}`);
  }
  if (input.job !== undefined && input.job !== true) add('/job', 'must be true or absent');
  if (input.description !== undefined && typeof input.description !== 'string') add('/description', 'must be a string');
  if (!isRecord(input.fields)) {
    add('/fields', 'must be an object of field policies');
    return errors;
  }
  const names = sortedKeys(input.fields);
  if (names.length === 0 && input.job !== true) add('/fields', 'declares no fields');
  for (const name of names) {
    const at = `/fields/${name}`;
    if (!FIELD_NAME.test(name)) add(at, `field name must match ${FIELD_NAME.source}`);
    const field = input.fields[name];
    if (!isRecord(field)) {
      add(at, 'must be an object with policy and valueType');
      continue;
    }
    for (const key of sortedKeys(field)) if (!FIELD_KEYS.includes(key)) add(`${at}/${key}`, 'unknown member');
    const policy = field.policy;
    if (typeof policy !== 'string' || !(POLICIES as readonly string[]).includes(policy)) {
      add(`${at}/policy`, `must be one of ${oneOf(POLICIES)}`);
    }
    const valueType = field.valueType;
    if (typeof valueType !== 'string' || !(VALUE_TYPES as readonly string[]).includes(valueType)) {
      add(`${at}/valueType`, `must be one of ${oneOf(VALUE_TYPES)}`);
    } else if ((POLICIES as readonly string[]).includes(policy as string)) {
      const allowed = POLICY_VALUE_TYPES[policy as PolicyName];
      if (!(allowed as readonly string[]).includes(valueType)) {
        add(`${at}/valueType`, `policy "${policy as string}" merges ${oneOf(allowed)}, not "${valueType}"`);
      }
    }
    if (field.nullable !== undefined) {
      if (typeof field.nullable !== 'boolean') add(`${at}/nullable`, 'must be a boolean');
      else if (field.nullable && !NULLABLE_POLICIES.includes(policy as PolicyName)) {
        add(`${at}/nullable`, `only ${oneOf(NULLABLE_POLICIES)} fields may be nullable`);
      }
    }
    if (field.description !== undefined && typeof field.description !== 'string') add(`${at}/description`, 'must be a string');
  }
  if (input.partitionBy !== undefined) checkPartitionField(input.partitionBy, input.fields, add);
  if (input.queueBy !== undefined) checkQueueField(input.queueBy, input.job, input.fields, add);
  return errors;
}

/** The longest id-prefix separator. */
export const MAX_PARTITION_SEPARATOR_LENGTH = 8;

function checkPartitionField(name: unknown, fields: Record<string, unknown>, add: (pointer: string, detail: string) => void): void {
  if (isRecord(name)) {
    checkIdPrefix(name, add);
    return;
  }
  if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(fields, name)) {
    add('/partitionBy', "must name one of the schema's fields");
    return;
  }
  const field = fields[name];
  if (!isRecord(field)) return;
  if (field.policy !== 'lww' || !PARTITION_VALUE_TYPES.includes(field.valueType as string)) {
    add('/partitionBy', `field "${name}" must be an lww field of value type ${PARTITION_VALUE_TYPES.map((t) => `"${t}"`).join(' or ')}`);
  }
}

/** `{ idPrefix: { separator } }`: a separator of 1–8 printable characters, and nothing else. */
function checkIdPrefix(rule: Record<string, unknown>, add: (pointer: string, detail: string) => void): void {
  const extra = Object.keys(rule).filter((key) => key !== 'idPrefix');
  for (const key of extra) add(`/partitionBy/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, 'is not a known member (a partition is a field name or { idPrefix: { separator } })');
  const prefix = rule.idPrefix;
  if (!isRecord(prefix)) {
    add('/partitionBy/idPrefix', 'must be an object { separator }');
    return;
  }
  for (const key of Object.keys(prefix)) if (key !== 'separator') add(`/partitionBy/idPrefix/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, 'is not a known member');
  const separator = prefix.separator;
  // eslint-disable-next-line no-control-regex
  if (typeof separator !== 'string' || separator.length === 0 || separator.length > MAX_PARTITION_SEPARATOR_LENGTH || /[\u0000-\u001f\u007f]/.test(separator)) {
    add('/partitionBy/idPrefix/separator', `must be 1–${MAX_PARTITION_SEPARATOR_LENGTH} characters, none of them a control character`);
  }
}

function checkQueueField(name: unknown, job: unknown, fields: Record<string, unknown>, add: (pointer: string, detail: string) => void): void {
  if (job !== true) add('/queueBy', 'only a job type (`job: true`) declares a queue');
  if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(fields, name)) {
    add('/queueBy', "must name one of the schema's fields");
    return;
  }
  const field = fields[name];
  if (!isRecord(field)) return;
  if (field.policy !== 'lww' || field.valueType !== 'string') add('/queueBy', `field "${name}" must be an lww field of value type "string"`);
}

/** Type guard over `validateEntityTypeSchema`. */
export function isEntityTypeSchema(input: unknown): input is EntityTypeSchema {
  return validateEntityTypeSchema(input).length === 0;
}
