import type { InvalidParam } from '@tidemark/contracts';
import type { EntityTypeSchema } from '@tidemark/merge';
import { inTransaction, type DataSource } from '@tidemark/persistence';
import { decidePublish } from './publish';

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
  async publish(schema: EntityTypeSchema): Promise<PublishOutcome> {
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
      if (inserted[0]) return { kind: 'created', record: toRecord(inserted[0]) };
      // Someone wrote the row without taking the lock (by hand, or an older instance): judge against it.
      const [existing]: Row[] = await q.query(`SELECT ${COLUMNS} FROM entity_schemas WHERE type = $1 AND version = $2`, [schema.type, schema.version]);
      const again = decidePublish(schema, [existing!]);
      return { kind: again.kind === 'identical' ? 'identical' : 'immutable', record: toRecord(existing!) };
    });
  }
}
