import { describePartition, samePartition } from './partition';
import type { InvalidParam, Validated } from '@tidemark/contracts';
import type { EntityTypeSchema } from './schema';
import { validateEntityTypeSchema } from './validate-schema';
import { cloneJson } from './values';
import { compareText, deepFreeze, own, sortedKeys } from './own';

/**
 * Every known version of every entity type, as plain data sorted by type then version.
 * Build one with `createSchemaRegistry`, which validates it; the schemas inside are frozen copies.
 */
export interface SchemaRegistry {
  readonly schemas: readonly EntityTypeSchema[];
}

export type SchemaLookup = { ok: true; schema: EntityTypeSchema } | { ok: false; code: 'unknown-entity-type' | 'unknown-schema-version'; reason: string };

/**
 * Validates and assembles a registry. Besides each schema's own rules, versions of one type must agree:
 * a field present in two versions keeps its policy and value type (a later version may add fields),
 * and the `job` flag, the partition field (`partitionBy`) and the queue field (`queueBy`) never change — a field's merge rule is fixed for the life of its type, so events
 * written against any version merge the same way.
 */
export function createSchemaRegistry(schemas: readonly EntityTypeSchema[]): Validated<SchemaRegistry> {
  const errors: InvalidParam[] = [];
  schemas.forEach((schema, index) => {
    for (const error of validateEntityTypeSchema(schema)) errors.push({ pointer: `/${index}${error.pointer === '/' ? '' : error.pointer}`, detail: error.detail });
  });
  if (errors.length > 0) return { ok: false, errors };
  const sorted = schemas.map((schema, index) => ({ schema, index })).sort((a, b) => compareText(a.schema.type, b.schema.type) || a.schema.version - b.schema.version);
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1]!;
    const current = sorted[i]!;
    if (previous.schema.type !== current.schema.type) continue;
    const at = `/${current.index}`;
    if (previous.schema.version === current.schema.version) {
      errors.push({ pointer: `${at}/version`, detail: `${current.schema.type} v${current.schema.version} is declared twice (also at /${previous.index})` });
      continue;
    }
    if (Boolean(previous.schema.job) !== Boolean(current.schema.job)) {
      errors.push({ pointer: `${at}/job`, detail: `${current.schema.type} v${current.schema.version} changes the job flag of v${previous.schema.version}` });
    }
    if (previous.schema.queueBy !== current.schema.queueBy) {
      errors.push({
        pointer: `${at}/queueBy`,
        detail: `${current.schema.type} v${current.schema.version} names its queue by ${current.schema.queueBy ?? '(nothing)'}, but v${previous.schema.version} by ${previous.schema.queueBy ?? '(nothing)'}; a job type's queue field cannot change`,
      });
    }
    if (!samePartition(previous.schema.partitionBy, current.schema.partitionBy)) {
      errors.push({
        pointer: `${at}/partitionBy`,
        detail: `${current.schema.type} v${current.schema.version} partitions by ${describePartition(current.schema.partitionBy)}, but v${previous.schema.version} by ${describePartition(previous.schema.partitionBy)}; a type's partition cannot change`,
      });
    }
  }
  // Every pair of versions of a type must agree on the fields they share.
  for (const a of sorted) {
    for (const b of sorted) {
      if (a.schema.type !== b.schema.type || a.schema.version >= b.schema.version) continue;
      for (const name of sortedKeys(b.schema.fields)) {
        const older = own(a.schema.fields, name);
        const newer = own(b.schema.fields, name)!;
        if (older && (older.policy !== newer.policy || older.valueType !== newer.valueType)) {
          errors.push({
            pointer: `/${b.index}/fields/${name}`,
            detail: `${b.schema.type} v${b.schema.version} declares ${name} as ${newer.policy}/${newer.valueType}, but v${a.schema.version} declared ${older.policy}/${older.valueType}; a field's merge rule cannot change`,
          });
        }
      }
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: deepFreeze({ schemas: sorted.map(({ schema }) => cloneJson(schema)) }) };
}

/**
 * The registry of the schemas that agree: the whole list when it is consistent; otherwise, in version
 * order, each schema that agrees with the ones kept so far (the older wins), with `skip` told of each
 * newer one left out and why. What merge-service merges with, and what a policy revision is checked against.
 */
export function registryKeepingOlder(schemas: readonly EntityTypeSchema[], skip: (schema: EntityTypeSchema, reason: string) => void = () => undefined): SchemaRegistry {
  const whole = createSchemaRegistry(schemas);
  if (whole.ok) return whole.value;
  let accepted: EntityTypeSchema[] = [];
  let registry: SchemaRegistry = { schemas: [] };
  for (const schema of [...schemas].sort((a, b) => compareText(a.type, b.type) || a.version - b.version)) {
    const next = createSchemaRegistry([...accepted, schema]);
    if (next.ok) {
      accepted = [...accepted, schema];
      registry = next.value;
    } else {
      skip(schema, next.errors.map((e) => e.detail).join('; '));
    }
  }
  return registry;
}

/** Like `createSchemaRegistry`, for schemas shipped with the code: an invalid set is a bug and throws. */
export function schemaRegistryOf(schemas: readonly EntityTypeSchema[]): SchemaRegistry {
  const result = createSchemaRegistry(schemas);
  if (!result.ok) throw new Error(`invalid schema registry: ${result.errors.map((e) => `${e.pointer} ${e.detail}`).join('; ')}`);
  return result.value;
}

/** The schema an event names by entity type and schema version, or a precise reason why there is none. */
export function findSchema(registry: SchemaRegistry, type: string, version: number): SchemaLookup {
  const versions = registry.schemas.filter((schema) => schema.type === type);
  if (versions.length === 0) {
    const known = [...new Set(registry.schemas.map((s) => s.type))].sort(compareText).join(', ');
    return { ok: false, code: 'unknown-entity-type', reason: `unknown entity type "${type}" (known: ${known || 'none'})` };
  }
  const schema = versions.find((candidate) => candidate.version === version);
  if (!schema) {
    return {
      ok: false,
      code: 'unknown-schema-version',
      reason: `entity type "${type}" has no schema version ${version} (known: ${versions.map((s) => s.version).join(', ')})`,
    };
  }
  return { ok: true, schema };
}

/** The latest version of a type, if the registry knows the type. */
export function latestSchema(registry: SchemaRegistry, type: string): EntityTypeSchema | undefined {
  return registry.schemas.filter((schema) => schema.type === type).at(-1);
}
