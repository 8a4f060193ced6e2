import { recordAudit, type OperatorPrincipal } from '@tidemark/auth';
import type { InvalidParam } from '@tidemark/contracts';
import type { EntityTypeSchema } from '@tidemark/merge';
import type { ActiveRevision, RevisionRecord, SchemaRecord, SchemaRepository } from '@tidemark/persistence';
import { decidePublish } from './publish';
import { decideRevisionPublish, readRevisionRequest } from './revisions';

export type { ActiveRevision, RevisionRecord, SchemaRecord };

export type PublishOutcome =
  { kind: 'created'; record: SchemaRecord } | { kind: 'identical'; record: SchemaRecord } | { kind: 'immutable'; record: SchemaRecord } | { kind: 'incompatible'; errors: InvalidParam[] };

/**
 * The schema registry's publishes: each checked against what is published, under the type's lock
 * (`SchemaRepository.lockType`), and audited in the same transaction.
 */
export class SchemaStore {
  constructor(private readonly schemas: SchemaRepository) {}

  /** Every published version, by type then version. */
  all(): Promise<SchemaRecord[]> {
    return this.schemas.all();
  }

  versions(type: string): Promise<SchemaRecord[]> {
    return this.schemas.versions(type);
  }

  get(type: string, version: number): Promise<SchemaRecord | undefined> {
    return this.schemas.get(type, version);
  }

  /**
   * Publishes a valid schema. Publishes of one type are serialised by a transaction-scoped advisory lock,
   * so the compatibility check sees every version published before it (two new versions that each fit
   * the published ones but not each other cannot both land); the insert is `ON CONFLICT DO NOTHING` and
   * the row is read back, so of two identical or conflicting writes exactly one creates the version.
   */
  async publish(schema: EntityTypeSchema, actor?: OperatorPrincipal): Promise<PublishOutcome> {
    return this.schemas.transaction(async (tx, q) => {
      await tx.lockType(schema.type);
      const published = await tx.versions(schema.type);
      const decision = decidePublish(schema, published);
      switch (decision.kind) {
        case 'incompatible':
          return decision;
        case 'identical':
        case 'immutable':
          return { kind: decision.kind, record: published.find((row) => row.version === schema.version)! };
        case 'insert':
          break;
      }
      const inserted = await tx.insert(schema.type, schema.version, schema);
      if (inserted) {
        // Who published it, in the same transaction: a version without its audit entry is never published.
        if (actor) await recordAudit(q, { actor, action: 'schema.publish', target: { type: schema.type, version: schema.version }, reason: schema.description ?? null, detail: schema });
        return { kind: 'created', record: inserted };
      }
      // Someone wrote the row without taking the lock (by hand, or an older instance): judge against it.
      const existing = await tx.get(schema.type, schema.version);
      const again = decidePublish(schema, [existing!]);
      return { kind: again.kind === 'identical' ? 'identical' : 'immutable', record: existing! };
    });
  }

  /** Every published policy revision of a type, oldest first, and which workspaces merge with which revision. */
  async revisions(type: string): Promise<{ revisions: RevisionRecord[]; active: ActiveRevision[] }> {
    const revisions = await this.schemas.revisions(type);
    return { revisions, active: await this.schemas.activeRevisions(type) };
  }

  revision(type: string, revision: number): Promise<RevisionRecord | undefined> {
    return this.schemas.revision(type, revision);
  }

  /**
   * Publishes a policy revision (pending: no workspace merges with it until a replay that rebuilt under it
   * is swapped). Checked against every published version of the type, serialised with schema publishes of
   * the type, never changed once published, and audited in the same transaction.
   */
  async publishRevision(type: string, revision: string, body: unknown, actor: OperatorPrincipal): Promise<RevisionOutcome> {
    return this.schemas.transaction(async (tx, q) => {
      await tx.lockType(type);
      const published = await tx.versions(type);
      const request = readRevisionRequest(type, revision, body, published);
      if (!request.ok) return { kind: 'invalid', errors: request.errors };
      const existing = await tx.revision(type, request.revision.revision);
      const decision = decideRevisionPublish(request.revision, existing);
      if (decision !== 'insert') return { kind: decision, record: existing! };
      const inserted = await tx.insertRevision(type, request.revision.revision, request.revision);
      await recordAudit(q, { actor, action: 'policy-revision.publish', target: { type, revision: request.revision.revision }, reason: request.revision.description ?? null, detail: request.revision });
      return { kind: 'created', record: inserted };
    });
  }
}

export type RevisionOutcome = { kind: 'created' | 'identical' | 'immutable'; record: RevisionRecord } | { kind: 'invalid'; errors: InvalidParam[] };
