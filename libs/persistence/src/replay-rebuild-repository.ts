import { quoteIdent } from './sql';
import { entityKey, type EntitySide } from '@tidemark/replay';
import type { DataSource } from 'typeorm';
import { inTransaction } from './data-source';
import type { SqlRunner } from './replay-job-repository';

const ident = quoteIdent;

/** An entity a replay rebuilds: its key and partition. */
export interface ReplayEntityKey {
  workspace: string;
  type: string;
  id: string;
  partition: string;
}

/** What a plan found of one entity: its key and how many selected events touched it. */
export interface FoundEntity extends ReplayEntityKey {
  selected: number;
}

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

/** Creates the shadow schema and its tables if missing, in one transaction (a crash leaves all or nothing). */
export async function createShadow(ds: DataSource, schema: string): Promise<void> {
  await inTransaction(ds, async (q) => {
    await q.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
    const tables: { table_name: string }[] = await q.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name = ANY($1::text[])", [[...SHADOW_TABLES]]);
    for (const { table_name: table } of tables) {
      await q.query(`CREATE TABLE IF NOT EXISTS ${ident(schema)}.${ident(table)} (LIKE public.${ident(table)} INCLUDING ALL)`);
      // LIKE copies a serial column's default, which draws from the live sequence: give the shadow its own.
      const serials: { column_name: string }[] = await q.query("SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_default LIKE 'nextval(%'", [
        schema,
        table,
      ]);
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

/**
 * What a replay rebuilds and compares (`replay_entities`), and the shadow schema it rebuilds into, as
 * merge-service's replay worker uses them.
 */
export class ReplayRebuildRepository {
  constructor(private readonly ds: DataSource) {}

  /** The stream sequence each named live consumer has applied (absent: none). */
  async liveCheckpoints(consumers: readonly string[]): Promise<Map<string, number>> {
    const rows: { consumer: string; stream_seq: string }[] = await this.ds.query('SELECT consumer, stream_seq FROM consumer_checkpoints WHERE consumer = ANY($1::text[])', [consumers]);
    return new Map(rows.map((r) => [r.consumer, Number(r.stream_seq)]));
  }

  /** Adds what a stretch of the planning scan found (in `q`'s transaction, with the plan's progress). */
  async recordFound(q: SqlRunner, replayId: string, entries: readonly FoundEntity[]): Promise<void> {
    if (entries.length === 0) return;
    await q.query(
      `INSERT INTO replay_entities (replay_id, workspace, entity_type, entity_id, partition, selected_events)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int[])
       ON CONFLICT (replay_id, workspace, entity_type, entity_id) DO UPDATE SET selected_events = replay_entities.selected_events + EXCLUDED.selected_events`,
      [replayId, entries.map((e) => e.workspace), entries.map((e) => e.type), entries.map((e) => e.id), entries.map((e) => e.partition), entries.map((e) => e.selected)],
    );
  }

  /** Every entity a replay rebuilds. */
  async entities(replayId: string): Promise<ReplayEntityKey[]> {
    const rows: { workspace: string; entity_type: string; entity_id: string; partition: string }[] = await this.ds.query(
      'SELECT workspace, entity_type, entity_id, partition FROM replay_entities WHERE replay_id = $1',
      [replayId],
    );
    return rows.map((r) => ({ workspace: r.workspace, type: r.entity_type, id: r.entity_id, partition: r.partition }));
  }

  /** Up to two distinct values of each subject token over a replay's entities (enough to tell one from many). */
  async subjectTokens(replayId: string): Promise<{ workspace: string[]; partition: string[]; type: string[]; id: string[] }> {
    const rows: { workspace: string[] | null; partition: string[] | null; type: string[] | null; id: string[] | null }[] = await this.ds.query(
      `SELECT (array_agg(DISTINCT workspace))[1:2] AS workspace, (array_agg(DISTINCT partition))[1:2] AS partition,
              (array_agg(DISTINCT entity_type))[1:2] AS type, (array_agg(DISTINCT entity_id))[1:2] AS id
         FROM replay_entities WHERE replay_id = $1`,
      [replayId],
    );
    const r = rows[0]!;
    return { workspace: r.workspace ?? [], partition: r.partition ?? [], type: r.type ?? [], id: r.id ?? [] };
  }

  /** The stream sequence each named consumer has applied in a shadow. */
  async shadowCheckpoints(shadow: string, consumers: readonly string[]): Promise<Map<string, number>> {
    const rows: { consumer: string; stream_seq: string }[] = await this.ds.query(`SELECT consumer, stream_seq FROM ${ident(shadow)}.consumer_checkpoints WHERE consumer = ANY($1::text[])`, [
      consumers,
    ]);
    return new Map(rows.map((r) => [r.consumer, Number(r.stream_seq)]));
  }

  /** The journal messages a shadow has taken in: receipts, duplicates and parked entries without an event. */
  async shadowMessages(shadow: string): Promise<number> {
    const counted: { n: string }[] = await this.ds.query(
      `SELECT (SELECT count(*) FROM ${ident(shadow)}.event_receipts) + (SELECT count(*) FROM ${ident(shadow)}.journal_duplicates)
              + (SELECT count(*) FROM ${ident(shadow)}.parked_events WHERE event_id IS NULL) AS n`,
    );
    return Number(counted[0]!.n);
  }

  /** A page of a replay's entities in entity order (code units), after `after`. */
  async entityPage(replayId: string, after: [string, string, string] | undefined, limit: number): Promise<{ workspace: string; type: string; id: string }[]> {
    const page: { workspace: string; entity_type: string; entity_id: string }[] = await this.ds.query(
      `SELECT workspace, entity_type, entity_id FROM replay_entities
        WHERE replay_id = $1 AND ($2::text IS NULL OR (workspace COLLATE "C", entity_type COLLATE "C", entity_id COLLATE "C") > ($2::text COLLATE "C", $3::text COLLATE "C", $4::text COLLATE "C"))
        ORDER BY workspace COLLATE "C", entity_type COLLATE "C", entity_id COLLATE "C" LIMIT $5`,
      [replayId, after?.[0] ?? null, after?.[1] ?? null, after?.[2] ?? null, limit],
    );
    return page.map((r) => ({ workspace: r.workspace, type: r.entity_type, id: r.entity_id }));
  }

  /** Records each entity's diff (its `change` and the whole diff). */
  async recordDiffs(replayId: string, diffs: readonly { workspace: string; type: string; id: string; change: string; diff: unknown }[]): Promise<void> {
    await this.ds.query(
      `UPDATE replay_entities r SET change = u.change, diff = u.diff
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[]) AS u(workspace, entity_type, entity_id, change, diff)
        WHERE r.replay_id = $1 AND r.workspace = u.workspace AND r.entity_type = u.entity_type AND r.entity_id = u.entity_id`,
      [replayId, diffs.map((d) => d.workspace), diffs.map((d) => d.type), diffs.map((d) => d.id), diffs.map((d) => d.change), diffs.map((d) => JSON.stringify(d.diff))],
    );
  }

  /**
   * Entities as one schema's projection tables hold them (`public` is live). Receipts are read by event id
   * (`eventIds`, live) or, in a shadow, all of them (a shadow holds only the replay's entities).
   */
  sides(schema: string, keys: readonly { workspace: string; type: string; id: string }[], eventIds?: readonly string[]): Promise<Map<string, EntitySide>> {
    return loadSides(this.ds, schema, keys, eventIds);
  }

  createShadow(schema: string): Promise<void> {
    return createShadow(this.ds, schema);
  }

  dropShadow(schema: string): Promise<void> {
    return dropShadow(this.ds, schema);
  }

  shadowExists(schema: string): Promise<boolean> {
    return shadowExists(this.ds, schema);
  }
}

async function loadSides(ds: DataSource, schema: string, keys: readonly { workspace: string; type: string; id: string }[], eventIds?: readonly string[]): Promise<Map<string, EntitySide>> {
  const s = ident(schema);
  const params = [keys.map((k) => k.workspace), keys.map((k) => k.type), keys.map((k) => k.id)];
  const join = 'JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(w, t, i) ON x.workspace = k.w AND x.entity_type = k.t AND x.entity_id = k.i';
  // Three reads at once, each on its own pooled connection: the rows do not depend on each other.
  const [entities, conflicts, receipts] = await Promise.all([
    ds.query(`SELECT x.workspace, x.entity_type, x.entity_id, x.version, x.deleted, x.view FROM ${s}.entities x ${join}`, params) as Promise<
      { workspace: string; entity_type: string; entity_id: string; version: string; deleted: boolean; view: EntitySide['view'] }[]
    >,
    ds.query(`SELECT x.workspace, x.entity_type, x.entity_id, x.conflict_id, x.field, x.status FROM ${s}.conflicts x ${join}`, params) as Promise<
      { workspace: string; entity_type: string; entity_id: string; conflict_id: string; field: string; status: string }[]
    >,
    (eventIds
      ? ds.query(`SELECT x.workspace, x.entity_type, x.entity_id, x.event_id, x.status FROM ${s}.event_receipts x ${join} WHERE x.event_id = ANY($4::uuid[])`, [...params, eventIds])
      : ds.query(`SELECT x.workspace, x.entity_type, x.entity_id, x.event_id, x.status FROM ${s}.event_receipts x ${join}`, params)) as Promise<
      { workspace: string; entity_type: string; entity_id: string; event_id: string; status: string }[]
    >,
  ]);
  type Side = { version: number; deleted: boolean; view: EntitySide['view']; conflicts: { id: string; field: string; status: string }[]; receipts: { eventId: string; status: string }[] };
  const sides = new Map<string, Side>();
  for (const e of entities) {
    sides.set(entityKey({ workspace: e.workspace, type: e.entity_type, id: e.entity_id }), {
      version: Number(e.version),
      deleted: e.deleted,
      view: { values: e.view.values, inConflict: e.view.inConflict, ...(e.view.job !== undefined ? { job: e.view.job } : {}) },
      conflicts: [],
      receipts: [],
    });
  }
  for (const c of conflicts) sides.get(entityKey({ workspace: c.workspace, type: c.entity_type, id: c.entity_id }))?.conflicts.push({ id: c.conflict_id, field: c.field, status: c.status });
  for (const r of receipts) sides.get(entityKey({ workspace: r.workspace, type: r.entity_type, id: r.entity_id }))?.receipts.push({ eventId: r.event_id, status: r.status });
  return sides;
}
