import { compareText, own, sortedKeys } from './own';
import type { SchemaRegistry } from './registry';
import { ASSET_REF_PATTERN } from './values';

/** One asset an entity points at: the field holding the reference and the asset's sha256. */
export interface AssetRef {
  field: string;
  sha256: string;
}

/**
 * The fields of `type` whose values are asset references (`valueType: 'asset'`), sorted. Every version of
 * the type counts: a field keeps its value type across versions, and state written under an older version
 * stays in the entity.
 */
export function assetFieldsOf(registry: SchemaRegistry, type: string): string[] {
  const fields = new Set<string>();
  for (const schema of registry.schemas) {
    if (schema.type !== type) continue;
    for (const name of sortedKeys(schema.fields)) if (schema.fields[name]!.valueType === 'asset') fields.add(name);
  }
  return [...fields].sort(compareText);
}

/**
 * The asset references an entity holds now, from the values devices see (`view(state).values`: empty while
 * the entity is deleted): a single reference (`lww`, `review`) or every element of a `set` / `append` list.
 * Sorted by field then sha256, each pair once, `null` and anything that is not a reference left out.
 */
export function assetRefsOf(values: Readonly<Record<string, unknown>>, fields: readonly string[]): AssetRef[] {
  const refs = new Map<string, AssetRef>();
  for (const field of fields) {
    const value = own(values, field);
    for (const item of Array.isArray(value) ? (value as unknown[]) : [value]) {
      if (typeof item === 'string' && ASSET_REF_PATTERN.test(item)) refs.set(`${field}\u0000${item}`, { field, sha256: item });
    }
  }
  return [...refs.values()].sort((a, b) => compareText(a.field, b.field) || compareText(a.sha256, b.sha256));
}
