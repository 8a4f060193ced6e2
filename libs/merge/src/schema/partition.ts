import { partitionValue } from '@tidemark/contracts/core';
import type { SchemaRegistry } from './registry';
import type { PartitionBy } from './schema';

/**
 * What partitions `type` for partial sync (`partitionBy`), undefined when it is not partitioned. Every version of a
 * type declares the same (the registry refuses a change), so the first found is the type's.
 */
export function partitionOf(registry: SchemaRegistry, type: string): PartitionBy | undefined {
  return registry.schemas.find((schema) => schema.type === type)?.partitionBy;
}

/**
 * The partition of a record: the value of its partition field (`partitionValue`: a string as it is, an integer in
 * decimal, anything else ''), or its id up to the first separator ('' when the id holds none).
 */
export function recordPartition(rule: PartitionBy, id: string, values: Readonly<Record<string, unknown>>): string {
  if (typeof rule === 'string') return partitionValue(Object.prototype.hasOwnProperty.call(values, rule) ? values[rule] : undefined);
  const at = id.indexOf(rule.idPrefix.separator);
  return at < 0 ? '' : id.slice(0, at);
}

/** How a partition rule reads in a message: `field "project"` or `the id up to "/"`. */
export function describePartition(rule: PartitionBy | undefined): string {
  if (rule === undefined) return '(nothing)';
  return typeof rule === 'string' ? `field "${rule}"` : `the id up to "${rule.idPrefix.separator}"`;
}

/** Whether two partition rules are the same. */
export function samePartition(a: PartitionBy | undefined, b: PartitionBy | undefined): boolean {
  if (a === undefined || b === undefined || typeof a === 'string' || typeof b === 'string') return a === b;
  return a.idPrefix.separator === b.idPrefix.separator;
}

/**
 * The field that names a job's queue (`queueBy`), undefined when the type declares none. Every version of a type
 * declares the same one (the registry refuses a change).
 */
export function queueFieldOf(registry: SchemaRegistry, type: string): string | undefined {
  return registry.schemas.find((schema) => schema.type === type)?.queueBy;
}
