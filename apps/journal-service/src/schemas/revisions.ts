// The rules of publishing a policy revision, as pure functions: what a PUT asks for, checked against the
// type's published schema versions, and what it may do given the revisions already published.
import { canonicalJson, type InvalidParam } from '@tidemark/contracts';
import { isEntityTypeSchema, registryKeepingOlder, validatePolicyRevision, type EntityTypeSchema, type PolicyRevision, type SchemaRegistry } from '@tidemark/merge';
import { pathErrors, type PublishedVersion } from './publish';

const REVISION = /^[1-9][0-9]{0,6}$/;

/** The published versions of a type as a registry, assembled as merge-service does (invalid rows left out, the older of contradicting versions kept). */
export function registryOf(type: string, published: readonly PublishedVersion[]): SchemaRegistry {
  const usable = published.map((p) => p.definition).filter((d): d is EntityTypeSchema => isEntityTypeSchema(d) && d.type === type);
  return registryKeepingOlder(usable);
}

export type RevisionRequest = { ok: true; revision: PolicyRevision } | { ok: false; errors: InvalidParam[] };

/**
 * Reads `PUT /v1/schemas/:type/revisions/:revision`: the path, the revision in the body (every problem by
 * JSON pointer, checked against every published version of the type), and that the body's `type` and
 * `revision` are the path's.
 */
export function readRevisionRequest(type: string, revision: string, body: unknown, published: readonly PublishedVersion[]): RevisionRequest {
  const errors = pathErrors(type);
  if (!REVISION.test(revision) || Number(revision) < 2) errors.push({ pointer: 'path:revision', detail: 'must be an integer from 2 (revision 1 is the declared policies)' });
  errors.push(...validatePolicyRevision(body, registryOf(type, published)));
  if (errors.length === 0) {
    const candidate = body as PolicyRevision;
    if (candidate.type !== type) errors.push({ pointer: '/type', detail: `must be "${type}", the type in the path` });
    if (candidate.revision !== Number(revision)) errors.push({ pointer: '/revision', detail: `must be ${revision}, the revision in the path` });
    if (errors.length === 0) return { ok: true, revision: candidate };
  }
  return { ok: false, errors };
}

/** What publishing a revision may do: insert it, or it is a retry of the same one, or the number is taken. */
export function decideRevisionPublish(candidate: PolicyRevision, existing: { definition: unknown } | undefined): 'insert' | 'identical' | 'immutable' {
  if (!existing) return 'insert';
  return canonicalJson(existing.definition) === canonicalJson(candidate) ? 'identical' : 'immutable';
}
