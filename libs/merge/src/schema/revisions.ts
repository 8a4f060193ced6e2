import type { InvalidParam } from '@tidemark/contracts';
import { TYPE_NAME_PATTERN } from '@tidemark/contracts/core';
import { DELETE_CONFLICT_RULES, NULLABLE_POLICIES, POLICIES, POLICY_VALUE_TYPES, type DeleteConflictRule, type EntityTypeSchema, type FieldPolicy, type PolicyName } from './schema';
import { findSchema, type SchemaRegistry } from './registry';
import { merge, mergeWithRegistry } from '../merge/merge';
import type { MergeInput, MergeResult } from '../merge/result';
import type { EntityState } from '../state/entity-state';
import { validateEntityTypeSchema } from './validate-schema';
import { deepFreeze, own, sortedKeys } from './own';

/**
 * Revision 1 of every type: the policies its schema versions declare. Published revisions start at 2.
 */
export const DECLARED_REVISION = 1;
const MAX_REVISION = 1_000_000;

/** A field's merge policy as a revision restates it; `nullable` defaults to what the schema declares. */
export interface FieldPolicyRevision {
  policy: PolicyName;
  nullable?: boolean;
}

/**
 * A revision of an entity type's merge policies. It restates the policy of some fields (and optionally
 * the rule for edits racing a delete) for every schema version of the type at once; fields it does not
 * name keep their declared policy. A revision is pure data, published once and never changed; it takes
 * effect in a workspace only when a replay that rebuilt every entity of the type under it is swapped in,
 * so stored states and the policies merging new events never disagree.
 */
export interface PolicyRevision {
  type: string;
  /** 2, 3 … (1 is the declared policies). */
  revision: number;
  fields: Readonly<Record<string, FieldPolicyRevision>>;
  onDeleteConflict?: DeleteConflictRule;
  description?: string;
}

const REVISION_KEYS = ['type', 'revision', 'fields', 'onDeleteConflict', 'description'];
const FIELD_KEYS = ['policy', 'nullable'];
const TYPE_NAME = new RegExp(TYPE_NAME_PATTERN);

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const oneOf = (values: readonly string[]): string => values.map((v) => `"${v}"`).join(', ');

/**
 * The schema `schema` becomes under `revision`: the named fields take the revision's policy (and its
 * `nullable`, or the declared one), the delete rule is the revision's when it states one. A revision of
 * another type, or none, gives the schema unchanged.
 */
export function applyPolicyRevision(schema: EntityTypeSchema, revision: PolicyRevision | undefined): EntityTypeSchema {
  if (!revision || revision.type !== schema.type) return schema;
  const fields: Record<string, FieldPolicy> = {};
  for (const name of sortedKeys(schema.fields)) {
    const declared = schema.fields[name]!;
    const restated = own(revision.fields, name);
    if (!restated) {
      fields[name] = declared;
      continue;
    }
    const nullable = restated.nullable ?? declared.nullable;
    const { nullable: _drop, ...rest } = declared;
    fields[name] = { ...rest, policy: restated.policy, ...(nullable !== undefined ? { nullable } : {}) };
  }
  return { ...schema, fields, ...(revision.onDeleteConflict ? { onDeleteConflict: revision.onDeleteConflict } : {}) };
}

const applied = new WeakMap<PolicyRevision, WeakMap<EntityTypeSchema, EntityTypeSchema>>();

/** `applyPolicyRevision`, remembered per (revision, schema) object pair: merge calls it once per event. */
export function schemaUnderRevision(schema: EntityTypeSchema, revision: PolicyRevision | undefined): EntityTypeSchema {
  if (!revision || revision.type !== schema.type) return schema;
  let bySchema = applied.get(revision);
  if (!bySchema) {
    bySchema = new WeakMap();
    applied.set(revision, bySchema);
  }
  let result = bySchema.get(schema);
  if (!result) {
    result = deepFreeze(applyPolicyRevision(schema, revision));
    bySchema.set(schema, result);
  }
  return result;
}

/**
 * Checks a policy revision against the registry and returns every problem, each named by JSON pointer:
 * its shape, that the type is known, that every field it names is declared by a version of the type, and
 * that each version of the type is still a valid schema under it (a policy must merge the field's value
 * type; only `lww` and `review` may be nullable). An empty list means it is valid.
 */
export function validatePolicyRevision(input: unknown, registry: SchemaRegistry): InvalidParam[] {
  const errors: InvalidParam[] = [];
  const add = (pointer: string, detail: string) => errors.push({ pointer, detail });
  if (!isRecord(input)) return [{ pointer: '/', detail: 'a policy revision must be an object' }];
  for (const key of sortedKeys(input)) if (!REVISION_KEYS.includes(key)) add(`/${key}`, 'unknown member');
  if (typeof input.type !== 'string' || !TYPE_NAME.test(input.type)) add('/type', `must match ${TYPE_NAME.source}`);
  if (!Number.isInteger(input.revision) || (input.revision as number) <= DECLARED_REVISION || (input.revision as number) > MAX_REVISION) {
    add('/revision', `must be an integer from ${DECLARED_REVISION + 1} to ${MAX_REVISION} (revision ${DECLARED_REVISION} is the declared policies)`);
  }
  if (input.onDeleteConflict !== undefined && (typeof input.onDeleteConflict !== 'string' || !(DELETE_CONFLICT_RULES as readonly string[]).includes(input.onDeleteConflict))) {
    add('/onDeleteConflict', `must be one of ${oneOf(DELETE_CONFLICT_RULES)}`);
  }
  if (input.description !== undefined && typeof input.description !== 'string') add('/description', 'must be a string');
  if (!isRecord(input.fields)) {
    add('/fields', 'must be an object of field policies');
    return errors;
  }
  const versions = typeof input.type === 'string' ? registry.schemas.filter((s) => s.type === input.type) : [];
  if (typeof input.type === 'string' && TYPE_NAME.test(input.type) && versions.length === 0) add('/type', `no schema is published for entity type "${input.type}"`);
  for (const name of sortedKeys(input.fields)) {
    const at = `/fields/${name}`;
    const field = input.fields[name];
    if (!isRecord(field)) {
      add(at, 'must be an object with a policy');
      continue;
    }
    for (const key of sortedKeys(field)) if (!FIELD_KEYS.includes(key)) add(`${at}/${key}`, 'unknown member');
    if (typeof field.policy !== 'string' || !(POLICIES as readonly string[]).includes(field.policy)) add(`${at}/policy`, `must be one of ${oneOf(POLICIES)}`);
    if (field.nullable !== undefined && typeof field.nullable !== 'boolean') add(`${at}/nullable`, 'must be a boolean');
    if (versions.length > 0 && !versions.some((s) => own(s.fields, name))) add(at, `no version of ${input.type as string} declares field "${name}"`);
  }
  if (errors.length > 0) return errors;
  // Every version of the type must still be a valid schema with the revision applied.
  const revision = input as unknown as PolicyRevision;
  for (const schema of versions) {
    for (const problem of validateEntityTypeSchema(applyPolicyRevision(schema, revision))) {
      const field = /^\/fields\/([^/]+)/.exec(problem.pointer)?.[1];
      const declared = field ? own(schema.fields, field) : undefined;
      const restated = field ? own(revision.fields, field) : undefined;
      if (field && declared && restated) {
        const allowed = POLICY_VALUE_TYPES[restated.policy];
        const detail = !(allowed as readonly string[]).includes(declared.valueType)
          ? `policy "${restated.policy}" merges ${oneOf(allowed)}, but ${schema.type} v${schema.version} declares "${field}" as "${declared.valueType}"`
          : (restated.nullable ?? declared.nullable) && !NULLABLE_POLICIES.includes(restated.policy)
            ? `${schema.type} v${schema.version} declares "${field}" nullable, and only ${oneOf(NULLABLE_POLICIES)} fields may be; state "nullable": false`
            : `${schema.type} v${schema.version}: ${problem.detail}`;
        if (!errors.some((e) => e.pointer === `/fields/${field}` && e.detail === detail)) add(`/fields/${field}`, detail);
      } else add(problem.pointer, `${schema.type} v${schema.version}: ${problem.detail}`);
    }
  }
  return errors;
}

/** Type guard over `validatePolicyRevision`. */
export function isPolicyRevision(input: unknown, registry: SchemaRegistry): input is PolicyRevision {
  return validatePolicyRevision(input, registry).length === 0;
}

/**
 * `mergeWithRegistry` under a policy revision: the event's schema version is looked up as usual, then
 * merged with the revision's policies when the revision is of the event's type. Which revision applies
 * is an input (merge-service passes the workspace's active one, a replay the one it rebuilds with).
 */
export function mergeWithRevision(state: EntityState | undefined, input: MergeInput, registry: SchemaRegistry, revision: PolicyRevision | undefined): MergeResult {
  if (!revision) return mergeWithRegistry(state, input, registry);
  const found = findSchema(registry, input.event.entity.type, input.event.schemaVersion);
  if (!found.ok) return mergeWithRegistry(state, input, registry);
  return merge(state, input, schemaUnderRevision(found.schema, revision));
}
