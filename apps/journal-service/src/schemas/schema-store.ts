import { recordAudit, type OperatorPrincipal } from '@tidemark/auth';
import type { InvalidParam } from '@tidemark/contracts';
import type { EntityTypeSchema } from '@tidemark/merge';
import { inTransaction, type DataSource } from '@tidemark/persistence';
import { decidePublish } from './publish';
import { decideRevisionPublish, readRevisionRequest } from './revisions';

/** One published version of an entity type, as the API shows it. */
export interface SchemaRecord {
  type: string;
  version: number;
  createdAt: string;
  definition: unknown;
}

export type PublishOutcome =
  | { kind: 'created'; record: SchemaRecord }
  | { kind: 'identical'; record: SchemaRecord }
  | { kind: 'immutable'; record: SchemaRecord }
  | { kind: 'incompatible'; errors: InvalidParam[] };

interface Row {
  type: string;
  version: number;
  definition: unknown;
  created_at: Date;
}

const COLUMNS = 'type, version, definition, created_at';
const toRecord = (row: Row): SchemaRecord => ({ type: row.type, version: row.version, createdAt: row.created_at.toISOString(), definition: row.definition });

/** The `entity_schemas` table: the schema registry merge-service reads. */
export class SchemaStore {
  constructor(private readonly ds: DataSource) {}

  /** Every published version, by type then version. */
  async all(): Promise<SchemaRecord[]> {
    const rows: Row[] = await this.ds.query(`SELECT ${COLUMNS} FROM entity_schemas ORDER BY type COLLATE "C", version`);
    return rows.map(toRecord);
  }

  async versions(type: string): Promise<SchemaRecord[]> {
    const rows: Row[] = await this.ds.query(`SELECT ${COLUMNS} FROM entity_schemas WHERE type = $1 ORDER BY version`, [type]);
    return rows.map(toRecord);
  }

  async get(type: string, version: number): Promise<SchemaRecord | undefined> {
    const rows: Row[] = await this.ds.query(`SELECT ${COLUMNS} FROM entity_schemas WHERE type = $1 AND version = $2`, [type, version]);
    return rows[0] && toRecord(rows[0]);
  }

  /**
   * Publishes a valid schema. Publishes of one type are serialised by a transaction-scoped advisory lock,
   * so the compatibility check sees every version published before it (two new versions that each fit
   * the published ones but not each other cannot both land); the insert is `ON CONFLICT DO NOTHING` and
   * the row is read back, so of two identical or conflicting writes exactly one creates the version.
   */
  async publish(schema: EntityTypeSchema, actor?: OperatorPrincipal): Promise<PublishOutcome> {
    return inTransaction(this.ds, async (q) => {
      await q.query(`SELECT pg_advisory_xact_lock(hashtext('tidemark.entity_schemas'), hashtext($1))`, [schema.type]);
      const published: Row[] = await q.query(`SELECT ${COLUMNS} FROM entity_schemas WHERE type = $1 ORDER BY version`, [schema.type]);
      const decision = decidePublish(schema, published);
      switch (decision.kind) {
        case 'incompatible':
          return decision;
        case 'identical':
        case 'immutable':
          return { kind: decision.kind, record: toRecord(published.find((row) => row.version === schema.version)!) };
        case 'insert':
          break;
      }
      const inserted: Row[] = await q.query(
        `INSERT INTO entity_schemas (type, version, definition) VALUES ($1, $2, $3::jsonb) ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
        [schema.type, schema.version, JSON.stringify(schema)],
      );
      if (inserted[0]) {
        // Who published it, in the same transaction: a version without its audit entry is never published.
        if (actor) await recordAudit(q, { actor, action: 'schema.publish', target: { type: schema.type, version: schema.version }, reason: schema.description ?? null, detail: schema });
        return { kind: 'created', record: toRecord(inserted[0]) };
      }
      // Someone wrote the row without taking the lock (by hand, or an older instance): judge against it.
      const [existing]: Row[] = await q.query(`SELECT ${COLUMNS} FROM entity_schemas WHERE type = $1 AND version = $2`, [schema.type, schema.version]);
      const again = decidePublish(schema, [existing!]);
      return { kind: again.kind === 'identical' ? 'identical' : 'immutable', record: toRecord(existing!) };
    });
  }

  /** Every published policy revision of a type, oldest first, and which workspaces merge with which revision. */
  async revisions(type: string): Promise<{ revisions: RevisionRecord[]; active: ActiveRevision[] }> {
    const rows: RevisionRow[] = await this.ds.query('SELECT type, revision, definition, created_at FROM policy_revisions WHERE type = $1 ORDER BY revision', [type]);
    const active: { workspace: string; revision: number; activated_at: Date; replay_id: string | null }[] = await this.ds.query(
      'SELECT DISTINCT ON (workspace) workspace, revision, activated_at, replay_id FROM policy_activations WHERE type = $1 ORDER BY workspace, id DESC',
      [type],
    );
    return { revisions: rows.map(toRevision), active: active.map((a) => ({ workspace: a.workspace, revision: a.revision, activatedAt: a.activated_at.toISOString(), replayId: a.replay_id })) };
  }

  async revision(type: string, revision: number): Promise<RevisionRecord | undefined> {
    const rows: RevisionRow[] = await this.ds.query('SELECT type, revision, definition, created_at FROM policy_revisions WHERE type = $1 AND revision = $2', [type, revision]);
    return rows[0] && toRevision(rows[0]);
  }

  /**
   * Publishes a policy revision (pending: no workspace merges with it until a replay that rebuilt under it
   * is swapped). Checked against every published version of the type, serialised with schema publishes of
   * the type, never changed once published, and audited in the same transaction.
   */
  async publishRevision(type: string, revision: string, body: unknown, actor: OperatorPrincipal): Promise<RevisionOutcome> {
    return inTransaction(this.ds, async (q) => {
      await q.query(`SELECT pg_advisory_xact_lock(hashtext('tidemark.entity_schemas'), hashtext($1))`, [type]);
      const published: Row[] = await q.query(`SELECT ${COLUMNS} FROM entity_schemas WHERE type = $1 ORDER BY version`, [type]);
      const request = readRevisionRequest(type, revision, body, published);
      if (!request.ok) return { kind: 'invalid', errors: request.errors };
      const existing: RevisionRow[] = await q.query('SELECT type, revision, definition, created_at FROM policy_revisions WHERE type = $1 AND revision = $2', [type, request.revision.revision]);
      const decision = decideRevisionPublish(request.revision, existing[0]);
      if (decision !== 'insert') return { kind: decision, record: toRevision(existing[0]!) };
      const inserted: RevisionRow[] = await q.query(
        'INSERT INTO policy_revisions (type, revision, definition) VALUES ($1, $2, $3::jsonb) RETURNING type, revision, definition, created_at',
        [type, request.revision.revision, JSON.stringify(request.revision)],
      );
      await recordAudit(q, { actor, action: 'policy-revision.publish', target: { type, revision: request.revision.revision }, reason: request.revision.description ?? null, detail: request.revision });
      return { kind: 'created', record: toRevision(inserted[0]!) };
    });
  }
}

/** A published policy revision, as the API shows it. */
export interface RevisionRecord {
  type: string;
  revision: number;
  createdAt: string;
  definition: unknown;
}

/** The revision a workspace merges a type with (the latest activation). */
export interface ActiveRevision {
  workspace: string;
  revision: number;
  activatedAt: string;
  replayId: string | null;
}

export type RevisionOutcome =
  | { kind: 'created' | 'identical' | 'immutable'; record: RevisionRecord }
  | { kind: 'invalid'; errors: InvalidParam[] };

interface RevisionRow {
  type: string;
  revision: number;
  definition: unknown;
  created_at: Date;
}

const toRevision = (row: RevisionRow): RevisionRecord => ({ type: row.type, revision: row.revision, createdAt: row.created_at.toISOString(), definition: row.definition });
