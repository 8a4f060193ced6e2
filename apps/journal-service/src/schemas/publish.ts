// The rules of publishing an entity type schema, as pure functions: what a PUT asks for, and what it may
// do given the versions of the type already published. The controller and the store do the I/O.
import { TypeName, canonicalJson, type InvalidParam } from '@tidemark/contracts';
import { createSchemaRegistry, isEntityTypeSchema, validateEntityTypeSchema, type EntityTypeSchema } from '@tidemark/merge';

const TYPE_NAME = new RegExp(TypeName.pattern ?? '^[a-z][a-z0-9_]{0,63}$');
const VERSION = /^[1-9][0-9]{0,6}$/;

/** Checks path parameters of a schema route; the pointers name them as `path:type` and `path:version`. */
export function pathErrors(type: string, version?: string): InvalidParam[] {
  const errors: InvalidParam[] = [];
  if (!TYPE_NAME.test(type)) errors.push({ pointer: 'path:type', detail: `must match ${TYPE_NAME.source}` });
  if (version !== undefined && !VERSION.test(version)) errors.push({ pointer: 'path:version', detail: 'must be a positive integer' });
  return errors;
}

export type PublishRequest = { ok: true; schema: EntityTypeSchema } | { ok: false; errors: InvalidParam[] };

/**
 * Reads `PUT /v1/schemas/:type/:version`: the path, the definition in the body (every problem named by
 * JSON pointer), and that the body's `type` and `version` are the ones the path names.
 */
export function readPublishRequest(type: string, version: string, body: unknown): PublishRequest {
  const errors = [...pathErrors(type, version), ...validateEntityTypeSchema(body)];
  if (errors.length === 0 && isEntityTypeSchema(body)) {
    if (body.type !== type) errors.push({ pointer: '/type', detail: `must be "${type}", the type in the path` });
    if (body.version !== Number(version)) errors.push({ pointer: '/version', detail: `must be ${version}, the version in the path` });
    if (errors.length === 0) return { ok: true, schema: body };
  }
  return { ok: false, errors };
}

/** A version of the type as stored (the definition is whatever the row holds). */
export interface PublishedVersion {
  version: number;
  definition: unknown;
}

export type PublishDecision =
  /** New and compatible with every published version: insert it. */
  | { kind: 'insert' }
  /** Already published with exactly this definition: a retry, nothing to do. */
  | { kind: 'identical' }
  /** Already published with another definition: published versions never change. */
  | { kind: 'immutable' }
  /** New, but it changes what a published version declared. */
  | { kind: 'incompatible'; errors: InvalidParam[] };

/**
 * What publishing `candidate` may do, given the published versions of its type. Definitions compare as
 * canonical JSON (member order is not part of a schema). Compatibility is `createSchemaRegistry`'s:
 * shared fields keep their policy and value type, the job flag never changes. A stored row that is not a
 * valid schema is left out, as merge-service leaves it out of its registry.
 */
export function decidePublish(candidate: EntityTypeSchema, published: readonly PublishedVersion[]): PublishDecision {
  const same = published.find((p) => p.version === candidate.version);
  if (same) return canonicalJson(same.definition) === canonicalJson(candidate) ? { kind: 'identical' } : { kind: 'immutable' };
  const usable = published.map((p) => p.definition).filter((d): d is EntityTypeSchema => isEntityTypeSchema(d) && d.type === candidate.type);
  const registry = createSchemaRegistry([...usable, candidate]);
  if (registry.ok) return { kind: 'insert' };
  // Pointers are into the list given to the registry; each error is about a field or flag of the
  // candidate (against one published version, named in the detail), so point into the request body.
  return { kind: 'incompatible', errors: registry.errors.map((e) => ({ pointer: e.pointer.replace(/^\/\d+/, '') || '/', detail: e.detail })) };
}
