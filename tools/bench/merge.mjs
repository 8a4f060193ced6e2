// Pre-loads N events into the journal, then starts merge-service and measures projection throughput
// (events/s until every event has its receipt), with the raw Postgres batched upsert measured in the same run.
//   npm run bench:merge -- [--events 50000] [--entities 5000] [--partitions 8] [--batch 256] [--workspaces 1] [--devices 50]
// `--workspaces 8` spreads the devices over 8 workspaces: the same load, without one workspace's shared rows.
// TIDEMARK_PROFILE_DIR=<dir> writes merge-service's V8 CPU profile there.
import { parseArgs } from 'node:util';
import { benchStack, fmt, rawPostgresUpsert, table, loadJournal, rateFromFirstReceipt } from './_common.mjs';

export async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      events: { type: 'string', default: '50000' },
      entities: { type: 'string', default: '5000' },
      partitions: { type: 'string', default: '8' },
      batch: { type: 'string', default: '256' },
      workspaces: { type: 'string', default: '1' },
      devices: { type: 'string', default: '50' },
    },
  });
  const N = Number(values.events),
    E = Number(values.entities),
    P = Number(values.partitions);
  const { findFreePort } = await import('@tidemark/local-stack');
  const { startServiceProcess } = await import('@tidemark/testing');
  const { connectJetStream, applyTopology, journalTopology } = await import('@tidemark/messaging');
  const { default: pg } = await import('pg');
  const stack = await benchStack({ nats: true, postgres: true });
  let merge;
  try {
    const conn = await connectJetStream({ servers: stack.env.NATS_URL, name: 'bench-merge' });
    await applyTopology(conn.jsm, journalTopology({ partitions: P, duplicateWindowMs: 600_000, replicas: 1 }));
    const W = Number(values.workspaces);
    const loadSeconds = await loadJournal(conn.js, {
      count: N,
      entities: E,
      partitions: P,
      workspaces: W,
      devices: Number(values.devices),
      extraFields: (i) => ({ assetId: { op: 'set', value: `asset-${i}` } }),
    });
    await conn.close();

    const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
    await db.connect();
    const started = performance.now();
    merge = await startServiceProcess('merge-service', { ...stack.env, JOURNAL_PARTITIONS: String(P), MERGE_BATCH_SIZE: values.batch, HTTP_PORT: String(await findFreePort()), LOG_LEVEL: 'warn' });
    const ready = (performance.now() - started) / 1000;
    const { rate: steady } = await rateFromFirstReceipt(db, N);
    const seconds = (performance.now() - started) / 1000;
    // What the projection wrote: rows of every table it writes, and their bytes on disk (heap and TOAST, no indexes).
    const tablesWritten = ['entities', 'change_log', 'event_receipts', 'merge_decisions', 'outbox', 'entity_assets', 'device_sequences', 'consumer_checkpoints'];
    const sizes = (
      await db.query(
        `SELECT t AS table, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', t), false, true, '')))[1]::text::bigint AS rows,
        pg_table_size(t::regclass) AS bytes FROM unnest($1::text[]) AS t`,
        [tablesWritten],
      )
    ).rows.map((r) => ({ table: r.table, rows: Number(r.rows), bytes: Number(r.bytes) }));
    const written = sizes.reduce((sum, r) => sum + r.rows, 0);
    const bytes = sizes.reduce((sum, r) => sum + r.bytes, 0);
    await db.end();
    await merge.stop();
    merge = undefined;
    const raw = await rawPostgresUpsert(stack.env.DATABASE_URL);
    const rate = N / seconds;
    console.log(
      `\nmerge: ${fmt(N)} events pre-loaded in ${fmt(loadSeconds, 1)} s over ${P} partitions, ${W} workspace(s), ${values.devices} devices, ${E} entities, batch ${values.batch}; merge-service ready in ${fmt(ready, 1)} s`,
    );
    console.log(
      table([
        ['figure', 'per second', 'baseline', 'baseline/s', 'ratio'],
        ['projection (journal → receipt committed), events', fmt(rate), 'raw Postgres batched upsert, rows', fmt(raw.perSecond), `${fmt(rate / raw.perSecond, 2)}×`],
        ['  from the first receipt (start-up excluded)', fmt(steady), 'raw Postgres batched upsert, rows', fmt(raw.perSecond), `${fmt(steady / raw.perSecond, 2)}×`],
        [`  rows written (${fmt(written / N, 1)} per event)`, fmt(written / seconds), 'raw Postgres batched upsert, rows', fmt(raw.perSecond), `${fmt(written / seconds / raw.perSecond, 2)}×`],
      ]),
    );
    console.log(
      `written per event: ${fmt(written / N, 2)} rows, ${fmt(bytes / N)} bytes (tables without indexes): ${sizes.map((r) => `${r.table} ${fmt(r.rows / N, 2)} rows/${fmt(r.bytes / N)} B`).join(', ')}`,
    );
  } finally {
    await merge?.kill();
    await stack.stop();
  }
}
