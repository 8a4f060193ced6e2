// The clustered shape: a three-node JetStream cluster on loopback with the journal at R3. Pre-loads N events
// into the journal, then projects them twice, each time into a fresh database with its own durable consumers:
// with one merge-service replica, then with two sharing the partitions. Prints events/s projected for each,
// measured from the moment the replicas are ready to the last receipt, the ratio of two to one, and both against the raw baselines measured in the same run (R3 JetStream publish,
// Postgres batched upsert).
//   npm run bench:cluster -- [--events 20000] [--entities 5000] [--partitions 8] [--batch 256]
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchStack, fmt, rawJetStreamPublish, rawPostgresUpsert, table, loadJournal } from './_common.mjs';

export async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: { events: { type: 'string', default: '20000' }, entities: { type: 'string', default: '5000' }, partitions: { type: 'string', default: '8' }, batch: { type: 'string', default: '256' } },
  });
  const N = Number(values.events),
    E = Number(values.entities),
    P = Number(values.partitions);
  const { ensureSystemDeps, findFreePort, startNatsCluster } = await import('@tidemark/local-stack');
  const { startServiceProcess } = await import('@tidemark/testing');
  const { connectJetStream, applyTopology, journalTopology } = await import('@tidemark/messaging');
  const { default: pg } = await import('pg');
  await ensureSystemDeps(['nats'], { install: true });
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-bench-cluster-'));
  const cluster = await startNatsCluster({ dataDir: dir });
  const stack = await benchStack({ nats: false, postgres: true });
  const env = { ...stack.env, NATS_URL: cluster.urls, JOURNAL_REPLICAS: '3', JOURNAL_PARTITIONS: String(P), MERGE_BATCH_SIZE: values.batch, LOG_LEVEL: 'warn' };
  const procs = [];
  try {
    const conn = await connectJetStream({ servers: cluster.urls, name: 'bench-cluster' });
    await applyTopology(conn.jsm, journalTopology({ partitions: P, duplicateWindowMs: 600_000, replicas: 3 }));
    const loadSeconds = await loadJournal(conn.js, { count: N, entities: E, partitions: P });
    await conn.close();

    /** Projects the whole journal into a fresh database with `replicas` merge-service processes; events/s from start to the last receipt. */
    const project = async (replicas) => {
      const prefix = `bench${replicas}`;
      const { default: pgAdmin } = await import('pg');
      const admin = new pgAdmin.Client({ connectionString: stack.env.DATABASE_URL });
      await admin.connect();
      const name = `bench_cluster_${replicas}_${Date.now()}`;
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const url = new URL(stack.env.DATABASE_URL);
      url.pathname = `/${name}`;
      const databaseUrl = url.toString();
      const started = performance.now();
      const mine = await Promise.all(
        Array.from({ length: replicas }, async (_, r) =>
          startServiceProcess(
            'merge-service',
            { ...env, DATABASE_URL: databaseUrl, MERGE_CONSUMER_PREFIX: prefix, TIDEMARK_INSTANCE: `${prefix}-${r}`, HTTP_PORT: String(await findFreePort()) },
            { readyTimeoutMs: 120_000 },
          ),
        ),
      );
      procs.push(...mine);
      const ready = (performance.now() - started) / 1000;
      const db = new pg.Client({ connectionString: databaseUrl });
      await db.connect();
      // Projection alone: from the moment every replica is ready (process start-up excluded) to the last receipt.
      const readyAt = performance.now();
      const atReady = Number((await db.query('SELECT count(*) AS n FROM event_receipts')).rows[0].n);
      let projected = 0;
      const shares = new Map();
      while (projected < N) {
        projected = Number((await db.query('SELECT count(*) AS n FROM event_receipts')).rows[0].n);
        // Which replica holds which partition (its claims session's application_name names it).
        const held = (
          await db.query(
            "SELECT a.application_name AS holder, count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.classid = 29805 AND l.objsubid = 2 AND l.granted AND a.application_name LIKE 'tidemark-merge-claims %' GROUP BY 1",
          )
        ).rows;
        for (const h of held) {
          const who = h.holder.replace('tidemark-merge-claims ', '');
          shares.set(who, Math.max(shares.get(who) ?? 0, h.n));
        }
        if (projected < N) await new Promise((r) => setTimeout(r, 100));
      }
      const end = performance.now();
      const seconds = (end - started) / 1000;
      await db.end();
      for (const p of mine) await p.stop();
      return { rate: (N - atReady) / ((end - readyAt) / 1000), overall: N / seconds, atReady, seconds, ready, shares: [...shares].map(([k, v]) => `${k}: up to ${v}`).join(', ') };
    };
    const one = await project(1);
    const two = await project(2);
    const rawJs = await rawJetStreamPublish(cluster.urls, { replicas: 3, count: 10_000 });
    const rawPg = await rawPostgresUpsert(stack.env.DATABASE_URL);
    console.log(`\ncluster: 3 nats-server nodes (R3 journal), ${fmt(N)} events pre-loaded in ${fmt(loadSeconds, 1)} s over ${P} partitions, ${E} entities, batch ${values.batch}`);
    for (const [label, r] of [
      ['1 replica', one],
      ['2 replicas', two],
    ])
      console.log(
        `  ${label}: ready in ${fmt(r.ready, 1)} s (${fmt(r.atReady)} projected by then), all projected ${fmt(r.seconds, 1)} s after start (${fmt(r.overall)} events/s start-up included); partitions held: ${r.shares}`,
      );
    console.log(
      table([
        ['figure', 'per second', 'baseline', 'baseline/s', 'ratio'],
        ['projected, 1 merge replica, events', fmt(one.rate), 'raw Postgres batched upsert, rows', fmt(rawPg.perSecond), `${fmt(one.rate / rawPg.perSecond, 2)}×`],
        ['projected, 2 merge replicas, events', fmt(two.rate), 'raw Postgres batched upsert, rows', fmt(rawPg.perSecond), `${fmt(two.rate / rawPg.perSecond, 2)}×`],
        ['  2 replicas vs 1', '', '', '', `${fmt(two.rate / one.rate, 2)}×`],
        ['raw R3 JetStream publish, pipelined, msgs', fmt(rawJs.pipelined), '', '', ''],
      ]),
    );
  } finally {
    for (const p of procs) await p.kill();
    await stack.stop();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
