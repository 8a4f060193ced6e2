import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';

/**
 * Everything the projector writes, as canonical JSON per table: rows in a stable order, minus the
 * columns that are operational rather than part of the projection (change-log cursors, consumer names,
 * wall-clock stamps of parking and publishing). The same journal replayed gives the same digest.
 */
const TABLES: { table: string; orderBy: string; drop: string[] }[] = [
  { table: 'entities', orderBy: 'workspace, entity_type, entity_id', drop: [] },
  { table: 'change_log', orderBy: 'stream_seq', drop: ['cursor'] },
  { table: 'event_receipts', orderBy: 'event_id, workspace', drop: [] },
  { table: 'merge_decisions', orderBy: 'event_id, workspace', drop: [] },
  { table: 'conflicts', orderBy: 'conflict_id, workspace', drop: [] },
  { table: 'repairs', orderBy: 'repair_id, workspace', drop: [] },
  { table: 'journal_duplicates', orderBy: 'stream_seq', drop: [] },
  { table: 'parked_events', orderBy: 'stream_seq', drop: ['consumer', 'parked_at'] },
  { table: 'outbox', orderBy: 'msg_id', drop: ['id', 'published_at'] },
  { table: 'device_sequences', orderBy: 'workspace, device_id', drop: [] },
  { table: 'entity_assets', orderBy: 'workspace, entity_type, entity_id, field, sha256', drop: [] },
];

export interface ProjectionDigest {
  digest: string;
  tables: Record<string, { rows: number; sha256: string }>;
}

export async function projectionDigest(ds: DataSource, schema = 'public'): Promise<ProjectionDigest> {
  const tables: ProjectionDigest['tables'] = {};
  const all = createHash('sha256');
  for (const { table, orderBy, drop } of TABLES) {
    const minus = drop.map((c) => ` - '${c}'`).join('');
    const rows: { doc: string; n: string }[] = await ds.query(
      `SELECT coalesce(jsonb_agg(to_jsonb(t)${minus} ORDER BY ${orderBy}), '[]'::jsonb)::text AS doc, count(*) AS n FROM "${schema}"."${table}" t`,
    );
    const sha256 = createHash('sha256').update(rows[0]!.doc).digest('hex');
    tables[table] = { rows: Number(rows[0]!.n), sha256 };
    all.update(`${table}:${sha256}\n`);
  }
  return { digest: all.digest('hex'), tables };
}
