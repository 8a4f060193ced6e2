import type { InvalidParam } from '@tidemark/contracts';
import { FIELD_NAME_PATTERN, TYPE_NAME_PATTERN } from '@tidemark/contracts/core';
import { MAX_RULES_VERSION, ROLE_NAME_PATTERN, type AccessRules } from './declaration';

// The same name rules the event envelope enforces, taken from the contracts so they cannot drift.
const TYPE_NAME = new RegExp(TYPE_NAME_PATTERN);
const FIELD_NAME = new RegExp(FIELD_NAME_PATTERN);
const ROLE_NAME = new RegExp(ROLE_NAME_PATTERN);

/** How many roles one workspace may declare. */
export const MAX_ROLES = 64;
/** How many read scopes one workspace may declare, and how many entity types one scope may name. */
export const MAX_SCOPES = 64;
export const MAX_SCOPE_TYPES = 32;
/** Claim names: as field names. */
const CLAIM_NAME = FIELD_NAME;
const MAX_DESCRIPTION = 1000;

const RULES_KEYS = ['version', 'roles', 'defaultRole', 'scopes', 'description'];
const ROLE_KEYS = ['write', 'resolve', 'read', 'description'];
const SCOPE_KEYS = ['types', 'partition', 'description'];
const DETAIL_KEYS = ['fields', 'delete', 'transition'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Escapes a member name for a JSON pointer (RFC 6901). */
export function pointerToken(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

const sorted = (record: Record<string, unknown>): string[] => Object.keys(record).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * Checks a workspace's access rules (for example a body sent to the admin API) and returns every problem, each
 * named by JSON pointer; an empty list means the rules are valid. Entity types and fields are checked against the
 * envelope's name rules, not against the published schemas: rules may name a type before its schema is published.
 */
export function validateAccessRules(input: unknown): InvalidParam[] {
  const errors: InvalidParam[] = [];
  const add = (pointer: string, detail: string) => errors.push({ pointer, detail });
  if (!isRecord(input)) return [{ pointer: '/', detail: 'access rules must be an object' }];
  for (const key of sorted(input)) if (!RULES_KEYS.includes(key)) add(`/${pointerToken(key)}`, 'unknown member');
  if (!Number.isInteger(input.version) || (input.version as number) < 1 || (input.version as number) > MAX_RULES_VERSION) {
    add('/version', `must be an integer from 1 to ${MAX_RULES_VERSION}`);
  }
  checkDescription(input.description, '/description', add);
  if (!isRecord(input.roles)) {
    add('/roles', 'must be an object of roles by name');
    return errors;
  }
  const scopes = checkScopes(input.scopes, add);
  const names = sorted(input.roles);
  if (names.length === 0) add('/roles', 'declares no roles');
  if (names.length > MAX_ROLES) add('/roles', `declares ${names.length} roles; the limit is ${MAX_ROLES}`);
  for (const name of names) checkRole(name, input.roles[name], scopes, add);
  if (input.defaultRole !== undefined) {
    if (typeof input.defaultRole !== 'string') add('/defaultRole', 'must be the name of a declared role');
    else if (!Object.prototype.hasOwnProperty.call(input.roles, input.defaultRole)) add('/defaultRole', `names "${input.defaultRole}", which is not a declared role`);
  }
  return errors;
}

type Add = (pointer: string, detail: string) => void;

function checkDescription(value: unknown, at: string, add: Add): void {
  if (value !== undefined && (typeof value !== 'string' || value.length > MAX_DESCRIPTION)) add(at, `must be a string of at most ${MAX_DESCRIPTION} characters`);
}

/** Checks the scopes and returns the names declared (valid or not), for the roles' `read` to name. */
function checkScopes(value: unknown, add: Add): Set<string> {
  if (value === undefined) return new Set();
  if (!isRecord(value)) {
    add('/scopes', 'must be an object of read scopes by name');
    return new Set();
  }
  const names = sorted(value);
  if (names.length > MAX_SCOPES) add('/scopes', `declares ${names.length} scopes; the limit is ${MAX_SCOPES}`);
  for (const name of names) {
    const at = `/scopes/${pointerToken(name)}`;
    if (!ROLE_NAME.test(name)) add(at, `scope name must match ${ROLE_NAME.source}`);
    const scope = value[name];
    if (!isRecord(scope)) {
      add(at, 'must be an object with types (and optionally partition)');
      continue;
    }
    for (const key of sorted(scope)) if (!SCOPE_KEYS.includes(key)) add(`${at}/${pointerToken(key)}`, 'unknown member');
    checkDescription(scope.description, `${at}/description`, add);
    if (!Array.isArray(scope.types) || scope.types.length === 0) add(`${at}/types`, 'must list the entity types the scope reads (at least one)');
    else {
      if (scope.types.length > MAX_SCOPE_TYPES) add(`${at}/types`, `names ${scope.types.length} types; the limit is ${MAX_SCOPE_TYPES}`);
      checkNames(`${at}/types`, scope.types, TYPE_NAME, 'entity type', add);
    }
    if (scope.partition !== undefined) checkPartition(`${at}/partition`, scope.partition, add);
  }
  return new Set(names);
}

function checkPartition(at: string, partition: unknown, add: Add): void {
  if (!isRecord(partition)) {
    add(at, 'must be an object with values: "*" or { "claim": <name> }');
    return;
  }
  for (const key of sorted(partition)) if (key !== 'values') add(`${at}/${pointerToken(key)}`, 'unknown member');
  const values = partition.values;
  if (values === '*') return;
  if (!isRecord(values) || Object.keys(values).length !== 1 || typeof values.claim !== 'string')
    add(`${at}/values`, 'must be "*" (any value) or { "claim": <name> } (the values the device\'s claims list under that name)');
  else if (!CLAIM_NAME.test(values.claim)) add(`${at}/values/claim`, `claim name must match ${CLAIM_NAME.source}`);
}

function checkRole(name: string, role: unknown, scopes: ReadonlySet<string>, add: Add): void {
  const at = `/roles/${pointerToken(name)}`;
  if (!ROLE_NAME.test(name)) add(at, `role name must match ${ROLE_NAME.source}`);
  if (!isRecord(role)) {
    add(at, 'must be an object with write (and optionally resolve)');
    return;
  }
  for (const key of sorted(role)) if (!ROLE_KEYS.includes(key)) add(`${at}/${pointerToken(key)}`, 'unknown member');
  const read = role.read;
  if (read !== undefined && read !== '*') {
    if (!Array.isArray(read)) add(`${at}/read`, 'must be "*" (the whole workspace) or a list of declared scopes');
    else
      read.forEach((scope, i) => {
        if (typeof scope !== 'string' || !scopes.has(scope)) add(`${at}/read/${i}`, `names ${JSON.stringify(scope)}, which is not a declared scope`);
        else if (read.indexOf(scope) !== i) add(`${at}/read/${i}`, `repeats scope "${scope}"`);
      });
  }
  checkDescription(role.description, `${at}/description`, add);
  const write = role.write;
  if (write === undefined) add(`${at}/write`, 'is required: "*" or the entity types the role may write ({} for none)');
  else if (write !== '*') {
    if (!isRecord(write)) add(`${at}/write`, 'must be "*" or an object of entity types');
    else for (const type of sorted(write)) checkTypeWrite(`${at}/write/${pointerToken(type)}`, type, write[type], add);
  }
  const resolve = role.resolve;
  if (resolve !== undefined && typeof resolve !== 'boolean') {
    if (!Array.isArray(resolve)) add(`${at}/resolve`, 'must be true, false or a list of entity types');
    else checkNames(`${at}/resolve`, resolve, TYPE_NAME, 'entity type', add);
  }
}

function checkTypeWrite(at: string, type: string, value: unknown, add: Add): void {
  if (!TYPE_NAME.test(type)) add(at, `entity type must match ${TYPE_NAME.source}`);
  if (value === '*') return;
  if (Array.isArray(value)) {
    if (value.length === 0) add(at, 'names no fields; leave the type out to grant nothing');
    checkNames(at, value, FIELD_NAME, 'field', add);
    return;
  }
  if (!isRecord(value)) {
    add(at, 'must be "*", a list of fields, or an object with fields, delete and transition');
    return;
  }
  for (const key of sorted(value)) if (!DETAIL_KEYS.includes(key)) add(`${at}/${pointerToken(key)}`, 'unknown member');
  if (value.fields !== undefined && value.fields !== '*') {
    if (!Array.isArray(value.fields)) add(`${at}/fields`, 'must be "*" or a list of fields');
    else checkNames(`${at}/fields`, value.fields, FIELD_NAME, 'field', add);
  }
  for (const flag of ['delete', 'transition'] as const) if (value[flag] !== undefined && typeof value[flag] !== 'boolean') add(`${at}/${flag}`, 'must be a boolean');
}

function checkNames(at: string, values: unknown[], pattern: RegExp, what: string, add: Add): void {
  const seen = new Set<string>();
  values.forEach((value, i) => {
    if (typeof value !== 'string' || !pattern.test(value)) add(`${at}/${i}`, `${what} name must match ${pattern.source}`);
    else if (seen.has(value)) add(`${at}/${i}`, `repeats ${what} "${value}"`);
    else seen.add(value);
  });
}

/** Type guard over `validateAccessRules`. */
export function isAccessRules(input: unknown): input is AccessRules {
  return validateAccessRules(input).length === 0;
}
