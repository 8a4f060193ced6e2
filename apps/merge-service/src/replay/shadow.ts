import { inTransaction, type DataSource } from '@tidemark/persistence';

/**
 * Every table the projector writes. A shadow has its own empty copy of each (`LIKE … INCLUDING ALL`, with
 * its own sequences), and the shadow projector's search path names only the shadow, so a table left out
 * here fails the replay loudly instead of being written live.
 */
export const SHADOW_TABLES = [
  'entities',
  'change_log',
  'event_receipts',
  'journal_duplicates',
  'consumer_checkpoints',
  'outbox',
  'parked_events',
  'merge_decisions',
  'conflicts',
  'repairs',
  'device_sequences',
  'entity_assets',
] as const;

const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Creates the shadow schema and its tables if missing, in one transaction (a crash leaves all or nothing). */
export async function createShadow(ds: DataSource, schema: string): Promise<void> {
  await inTransaction(ds, async (q) => {
    await q.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
    const tables: { table_name: string }[] = await q.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name = ANY($1::text[])", [[...SHADOW_TABLES]]);
    for (const { table_name: table } of tables) {
      await q.query(`CREATE TABLE IF NOT EXISTS ${ident(schema)}.${ident(table)} (LIKE public.${ident(table)} INCLUDING ALL)`);
      // LIKE copies a serial column's default, which draws from the live sequence: give the shadow its own.
      const serials: { column_name: string }[] = await q.query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_default LIKE 'nextval(%'",
        [schema, table],
      );
      for (const { column_name: column } of serials) {
        const sequence = `${ident(schema)}.${ident(`${table}_${column}_seq`)}`;
        await q.query(`CREATE SEQUENCE IF NOT EXISTS ${sequence}`);
        await q.query(`ALTER TABLE ${ident(schema)}.${ident(table)} ALTER COLUMN ${ident(column)} SET DEFAULT nextval('${sequence.replace(/'/g, "''")}')`);
      }
    }
  });
}

export async function dropShadow(ds: DataSource, schema: string): Promise<void> {
  await ds.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
}

export async function shadowExists(ds: DataSource, schema: string): Promise<boolean> {
  const rows: unknown[] = await ds.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema]);
  return rows.length > 0;
}
