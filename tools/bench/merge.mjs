// Pre-loads N events into the journal, then starts merge-service and measures projection throughput
// (events/s until every event has its receipt), with the raw Postgres batched upsert measured in the same run.
//   npm run bench:merge -- [--events 50000] [--entities 5000] [--partitions 8] [--batch 256]
import { parseArgs } from 'node:util';
import { benchStack, fmt, rawPostgresUpsert, table, loadJournal } from './_common.mjs';

export async function main(argv) {
  const { values } = parseArgs({ args: argv, options: { events: { type: 'string', default: '50000' }, entities: { type: 'string', default: '5000' }, partitions: { type: 'string', default: '8' }, batch: { type: 'string', default: '256' } } });
  const N = Number(values.events), E = Number(values.entities), P = Number(values.partitions);
  const { findFreePort } = await import('@tidemark/local-stack');
  const { startServiceProcess } = await import('@tidemark/testing');
  const { connectJetStream, applyTopology, journalTopology } = await import('@tidemark/messaging');
  const { default: pg } = await import('pg');
  const stack = await benchStack({ nats: true, postgres: true });
  let merge;
  try {
    const conn = await connectJetStream({ servers: stack.env.NATS_URL, name: 'bench-merge' });
    await applyTopology(conn.jsm, journalTopology({ partitions: P, duplicateWindowMs: 600_000, replicas: 1 }));
    const loadSeconds = await loadJournal(conn.js, { count: N, entities: E, partitions: P, extraFields: (i) => ({ assetId: { op: 'set', value: `asset-${i}` } }) });
    await conn.close();

    const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
    await db.connect();
    const started = performance.now();
    merge = await startServiceProcess('merge-service', { ...stack.env, JOURNAL_PARTITIONS: String(P), MERGE_BATCH_SIZE: values.batch, HTTP_PORT: String(await findFreePort()), LOG_LEVEL: 'warn' });
    const ready = (performance.now() - started) / 1000;
    let projected = 0;
    while (projected < N) {
      projected = Number((await db.query('SELECT count(*) AS n FROM event_receipts')).rows[0].n);
      if (projected < N) await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - started) / 1000;
    const written = Number((await db.query(`SELECT (SELECT count(*) FROM entities) + (SELECT count(*) FROM change_log) + (SELECT count(*) FROM event_receipts)
      + (SELECT count(*) FROM merge_decisions) + (SELECT count(*) FROM outbox) AS n`)).rows[0].n);
    await db.end();
    await merge.stop();
    merge = undefined;
    const raw = await rawPostgresUpsert(stack.env.DATABASE_URL);
    const rate = N / seconds;
    console.log(`\nmerge: ${fmt(N)} events pre-loaded in ${fmt(loadSeconds, 1)} s over ${P} partitions, ${E} entities, batch ${values.batch}; merge-service ready in ${fmt(ready, 1)} s`);
    console.log(table([
      ['figure', 'per second', 'baseline', 'baseline/s', 'ratio'],
      ['projection (journal → receipt committed), events', fmt(rate), 'raw Postgres batched upsert, rows', fmt(raw.perSecond), `${fmt(rate / raw.perSecond, 2)}×`],
      [`  rows written (${fmt(written / N, 1)} per event)`, fmt(written / seconds), 'raw Postgres batched upsert, rows', fmt(raw.perSecond), `${fmt(written / seconds / raw.perSecond, 2)}×`],
    ]));
  } finally {
    await merge?.kill();
    await stack.stop();
  }
}
