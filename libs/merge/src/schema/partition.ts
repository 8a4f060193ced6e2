import type { SchemaRegistry } from './registry';

/**
 * The field that partitions `type` for partial sync (`partitionBy`), undefined when it is not partitioned. Every
 * version of a type declares the same one (the registry refuses a change), so the first found is the type's.
 */
export function partitionFieldOf(registry: SchemaRegistry, type: string): string | undefined {
  return registry.schemas.find((schema) => schema.type === type)?.partitionBy;
}
