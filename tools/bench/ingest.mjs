// Pushes N events through the gateway (real HTTP, concurrent batches) and reports accepted events/s and
// projected events/s, each against the raw baseline measured in the same run.
//   npm run bench:ingest -- [--events 50000] [--batch 500] [--concurrency 8] [--entities 5000]
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { benchDevice, benchPipeline, benchStack, fmt, rawJetStreamPublish, rawPostgresUpsert, table } from './_common.mjs';

export async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: { events: { type: 'string', default: '50000' }, batch: { type: 'string', default: '500' }, concurrency: { type: 'string', default: '8' }, entities: { type: 'string', default: '5000' } },
  });
  const N = Number(values.events),
    B = Number(values.batch),
    C = Number(values.concurrency),
    E = Number(values.entities);
  const { default: pg } = await import('pg');
  const stack = await benchStack({ nats: true, postgres: true });
  const procs = [];
  try {
    const pipeline = await benchPipeline(stack);
    procs.push(...pipeline.procs);
    const { gateway } = pipeline;
    const auth = new Map();
    for (let d = 0; d < 50; d++) auth.set(`bench-dev-${d}`, await benchDevice(stack.env, 'default', `bench-dev-${d}`));
    const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
    await db.connect();

    const batches = [];
    const owners = [];
    let seq = 0;
    for (let b = 0; b < N / B; b++) {
      const device = `bench-dev-${b % 50}`;
      owners.push(device);
      batches.push(
        JSON.stringify({
          events: Array.from({ length: B }, (_, i) => ({
            eventId: randomUUID(),
            deviceId: device,
            deviceSeq: ++seq,
            hlc: { wall: 1_764_000_000_000 + seq, counter: 0 },
            entity: { type: 'annotation', id: `e${(b * B + i) % E}` },
            op: 'upsert',
            baseVersion: 0,
            fields: { votes: { op: 'inc', by: 1 }, confidence: { op: 'set', value: (seq % 100) / 100 }, assetId: { op: 'set', value: `asset-${seq}` } },
            schemaVersion: 1,
          })),
        }),
      );
    }
    const started = performance.now();
    let next = 0;
    let accepted = 0;
    await Promise.all(
      Array.from({ length: C }, async () => {
        while (next < batches.length) {
          const i = next++;
          const body = batches[i];
          const response = await fetch(`${gateway}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth.get(owners[i]) }, body });
          const json = await response.json();
          if (response.status !== 200) throw new Error(`push failed: ${response.status} ${JSON.stringify(json).slice(0, 300)}`);
          accepted += json.results.filter((r) => r.status === 'accepted').length;
        }
      }),
    );
    const acceptSeconds = (performance.now() - started) / 1000;
    const statuses = async () => (await db.query('SELECT status, count(*)::int AS n FROM event_receipts GROUP BY status ORDER BY status')).rows.map((r) => `${r.status} ${r.n}`).join(', ');
    let projected = 0;
    while (projected < accepted) {
      projected = Number((await db.query('SELECT count(*) AS n FROM event_receipts')).rows[0].n);
      if (projected < accepted) await new Promise((r) => setTimeout(r, 100));
    }
    const projectSeconds = (performance.now() - started) / 1000;
    const receiptSummary = await statuses();
    await db.end();
    for (const p of procs.splice(0)) await p.stop();

    const js = await rawJetStreamPublish(stack.env.NATS_URL);
    const pgRaw = await rawPostgresUpsert(stack.env.DATABASE_URL);
    const acceptedRate = accepted / acceptSeconds;
    const projectedRate = accepted / projectSeconds;
    console.log(`\ningest: ${fmt(accepted)} events accepted in ${N / B} batches of ${B}, ${C} concurrent requests, ${E} entities, 8 partitions`);
    console.log(`receipts: ${receiptSummary}`);
    console.log(
      table([
        ['figure', 'events/s', 'baseline', 'baseline/s', 'ratio'],
        ['accepted (HTTP push → JetStream ack)', fmt(acceptedRate), 'raw JetStream publish, pipelined', fmt(js.pipelined), `${fmt(acceptedRate / js.pipelined, 2)}×`],
        ['projected (push → receipt committed)', fmt(projectedRate), 'raw Postgres batched upsert', fmt(pgRaw.perSecond), `${fmt(projectedRate / pgRaw.perSecond, 2)}×`],
      ]),
    );
  } finally {
    for (const p of procs) await p.kill();
    await stack.stop();
  }
}
