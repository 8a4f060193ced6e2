import type { DataSource } from 'typeorm';
import { inTransaction } from './data-source';
import type { Sql } from './sql';

/** One published version of an entity type (`entity_schemas`), as the API shows it. */
export interface SchemaRecord {
  type: string;
  version: number;
  createdAt: string;
  definition: unknown;
}

/** A published policy revision (`policy_revisions`), as the API shows it. */
export interface RevisionRecord {
  type: string;
  revision: number;
  createdAt: string;
  definition: unknown;
}

/** The revision a workspace merges a type with (its latest `policy_activations` row). */
export interface ActiveRevision {
  workspace: string;
  revision: number;
  activatedAt: string;
  replayId: string | null;
}

interface SchemaRow {
  type: string;
  version: number;
  definition: unknown;
  created_at: Date;
}

interface RevisionRow {
  type: string;
  revision: number;
  definition: unknown;
  created_at: Date;
}

const COLUMNS = 'type, version, definition, created_at';
const REVISION_COLUMNS = 'type, revision, definition, created_at';
const toRecord = (row: SchemaRow): SchemaRecord => ({ type: row.type, version: row.version, createdAt: row.created_at.toISOString(), definition: row.definition });
const toRevision = (row: RevisionRow): RevisionRecord => ({ type: row.type, revision: row.revision, createdAt: row.created_at.toISOString(), definition: row.definition });

/**
 * The schema registry: entity type schemas (`entity_schemas`, read by merge-service), policy revisions
 * (`policy_revisions`) and which revision each workspace merges with (`policy_activations`, written by a replay swap).
 * Publishes run in {@link transaction}, serialised per type by {@link lockType}.
 */
export class SchemaRepository {
  private constructor(
    private readonly sql: Sql,
    private readonly begin: (<T>(fn: (q: Sql) => Promise<T>) => Promise<T>) | undefined,
  ) {}

  static of(ds: DataSource): SchemaRepository {
    return new SchemaRepository(ds, (fn) => inTransaction(ds, fn));
  }

  /**
   * Runs `fn` in one transaction with a repository bound to it; `q` is the transaction's executor, for what must
   * commit with the change (its audit entry).
   */
  transaction<T>(fn: (tx: SchemaRepository, q: Sql) => Promise<T>): Promise<T> {
    if (!this.begin) throw new Error('a transaction is already open');
    return this.begin((q) => fn(new SchemaRepository(q, undefined), q));
  }

  /** Holds, to the end of the transaction, the lock that serialises schema and revision publishes of a type. */
  async lockType(type: string): Promise<void> {
    await this.sql.query(`SELECT pg_advisory_xact_lock(hashtext('tidemark.entity_schemas'), hashtext($1))`, [type]);
  }

  /** Every published version, by type then version. */
  async all(): Promise<SchemaRecord[]> {
    const rows = (await this.sql.query(`SELECT ${COLUMNS} FROM entity_schemas ORDER BY type COLLATE "C", version`)) as SchemaRow[];
    return rows.map(toRecord);
  }

  async versions(type: string): Promise<SchemaRecord[]> {
    const rows = (await this.sql.query(`SELECT ${COLUMNS} FROM entity_schemas WHERE type = $1 ORDER BY version`, [type])) as SchemaRow[];
    return rows.map(toRecord);
  }

  async get(type: string, version: number): Promise<SchemaRecord | undefined> {
    const rows = (await this.sql.query(`SELECT ${COLUMNS} FROM entity_schemas WHERE type = $1 AND version = $2`, [type, version])) as SchemaRow[];
    return rows[0] && toRecord(rows[0]);
  }

  /** Inserts a version unless the (type, version) exists: the new record, or undefined when it existed. */
  async insert(type: string, version: number, definition: unknown): Promise<SchemaRecord | undefined> {
    const rows = (await this.sql.query(`INSERT INTO entity_schemas (type, version, definition) VALUES ($1, $2, $3::jsonb) ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`, [
      type,
      version,
      JSON.stringify(definition),
    ])) as SchemaRow[];
    return rows[0] && toRecord(rows[0]);
  }

  /** Every published policy revision of a type, oldest first. */
  async revisions(type: string): Promise<RevisionRecord[]> {
    const rows = (await this.sql.query(`SELECT ${REVISION_COLUMNS} FROM policy_revisions WHERE type = $1 ORDER BY revision`, [type])) as RevisionRow[];
    return rows.map(toRevision);
  }

  async revision(type: string, revision: number): Promise<RevisionRecord | undefined> {
    const rows = (await this.sql.query(`SELECT ${REVISION_COLUMNS} FROM policy_revisions WHERE type = $1 AND revision = $2`, [type, revision])) as RevisionRow[];
    return rows[0] && toRevision(rows[0]);
  }

  async insertRevision(type: string, revision: number, definition: unknown): Promise<RevisionRecord> {
    const rows = (await this.sql.query(`INSERT INTO policy_revisions (type, revision, definition) VALUES ($1, $2, $3::jsonb) RETURNING ${REVISION_COLUMNS}`, [
      type,
      revision,
      JSON.stringify(definition),
    ])) as RevisionRow[];
    return toRevision(rows[0]!);
  }

  /** Which revision of a type each workspace merges with (its latest activation), by workspace. */
  async activeRevisions(type: string): Promise<ActiveRevision[]> {
    const rows = (await this.sql.query('SELECT DISTINCT ON (workspace) workspace, revision, activated_at, replay_id FROM policy_activations WHERE type = $1 ORDER BY workspace, id DESC', [type])) as {
      workspace: string;
      revision: number;
      activated_at: Date;
      replay_id: string | null;
    }[];
    return rows.map((a) => ({ workspace: a.workspace, revision: a.revision, activatedAt: a.activated_at.toISOString(), replayId: a.replay_id }));
  }
}
