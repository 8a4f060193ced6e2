// The client SDK's local replica, in process over MemoryStorage (no server: a scripted gateway serves the pages):
// read latency (`get`, queries over N entities), the time from a local write to a subscription firing, opening
// a replica of N entities from storage, and the memory it holds.
//   npm run bench:client -- [--entities 10000] [--reads 20000] [--queries 300] [--writes 300] [--only <section>]
// One section per function, each printing its own figures: add a section by writing `async function name(ctx)` and
// listing it in SECTIONS.
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fmt, table } from './_common.mjs';

const SECTIONS = [
  ['open', openAndMemory],
  ['reads', readLatency],
  ['subscription', writeToSubscription],
];

export async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      entities: { type: 'string', default: '10000' },
      reads: { type: 'string', default: '20000' },
      queries: { type: 'string', default: '300' },
      writes: { type: 'string', default: '300' },
      only: { type: 'string', multiple: true },
    },
  });
  const ctx = { entities: Number(values.entities), reads: Number(values.reads), queries: Number(values.queries), writes: Number(values.writes), sdk: await import('@tidemark/client') };
  console.log(`\nclient replica: ${fmt(ctx.entities)} annotations, in process (MemoryStorage), node ${process.version}`);
  for (const [name, section] of SECTIONS.filter(([name]) => !values.only || values.only.includes(name))) {
    console.log(`\n— ${name}`);
    await section(ctx);
  }
}

/** Milliseconds as a figure: microseconds below a millisecond. */
const ms = (value) => (value < 1 ? `${fmt(value * 1000, 1)} µs` : `${fmt(value, 2)} ms`);
function percentiles(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  return { p50: at(50), p99: at(99), max: sorted.at(-1) };
}
function gc() {
  setFlagsFromString('--expose-gc');
  runInNewContext('gc')();
}

const LABELS = ['cat', 'dog', 'owl', 'fox', 'bee'];
/** N changes from another device: what a pull of N entities receives. */
function changesOf(n) {
  return Array.from({ length: n }, (_, i) => ({
    cursor: String(i + 1),
    entity: { type: 'annotation', id: `img-${String(i).padStart(6, '0')}` },
    version: 1 + (i % 3),
    deleted: false,
    state: { assetId: `asset-${i}`, confidence: ((i * 7919) % 1000) / 1000, label: LABELS[i % LABELS.length], tags: [...new Set([`t${i % 10}`, `t${i % 7}`])].sort(), votes: i % 50 },
    inConflict: [],
    eventId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    deviceId: 'laptop',
  }));
}

/** A fetch that answers pulls with `changes` (pages) and every push with `accepted`. */
function scriptedGateway(changes) {
  return async (url, init) => {
    const { pathname, searchParams } = new URL(url);
    let body;
    if (pathname === '/v1/changes') {
      const after = Number(searchParams.get('after') ?? '0');
      const limit = Number(searchParams.get('limit') ?? '100');
      const page = changes.slice(after, after + limit);
      body = { changes: page, conflicts: [], receipts: [], next: String(after + page.length), hasMore: after + page.length < changes.length };
    } else {
      body = { results: JSON.parse(init.body).events.map((e, i) => ({ eventId: e.eventId, status: 'accepted', seq: i + 1 })) };
    }
    const text = JSON.stringify(body);
    return { status: 200, headers: { get: (name) => (name.toLowerCase() === 'content-type' ? 'application/json' : null) }, text: async () => text };
  };
}

/** A client whose replica holds `n` annotations (pulled), over its own MemoryStorage. */
async function seededClient(sdk, n, storage = new sdk.MemoryStorage()) {
  const client = await sdk.TidemarkClient.open({ baseUrl: 'http://bench.test', storage, workspace: 'default', deviceId: 'bench', fetch: scriptedGateway(changesOf(n)), pullPageSize: 1000 });
  await client.pull();
  return { client, storage };
}

async function openAndMemory(ctx) {
  const { sdk, entities } = ctx;
  const pulled = performance.now();
  const { client, storage } = await seededClient(sdk, entities);
  const pullMs = performance.now() - pulled;
  await client.close();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const reopened = await sdk.TidemarkClient.open({ baseUrl: 'http://bench.test', storage, workspace: 'default', deviceId: 'bench', fetch: scriptedGateway([]) });
  const openMs = performance.now() - started;
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  const held = reopened.query({ type: 'annotation' }).length;
  await reopened.close();
  console.log(
    table([
      ['figure', 'value'],
      [`pull of ${fmt(entities)} changes into the replica (pages of 1000, stored per page)`, ms(pullMs)],
      [`open: load ${fmt(held)} entities from storage and index them`, ms(openMs)],
      ['memory held by the open replica (heap after − before open)', `${fmt((heapAfter - heapBefore) / 1024 / 1024, 1)} MiB`],
      ['  per entity (5 fields: a string label, numbers, a 2-tag set)', `${fmt((heapAfter - heapBefore) / held / 1024, 2)} KiB`],
    ]),
  );
}

async function readLatency(ctx) {
  const { sdk, entities, reads, queries } = ctx;
  const { client } = await seededClient(sdk, entities);
  const ids = Array.from({ length: reads }, (_, i) => `img-${String((i * 7919) % entities).padStart(6, '0')}`);
  for (const id of ids.slice(0, 2000)) client.get('annotation', id); // warm-up
  const getSamples = [];
  let found = 0;
  for (const id of ids) {
    const t = performance.now();
    const read = client.get('annotation', id);
    getSamples.push(performance.now() - t);
    if (read) found++;
  }
  if (found !== reads) throw new Error(`get found ${found} of ${reads}`);
  const shapes = [
    ['query: label = cat, order by -confidence, limit 20', { type: 'annotation', where: { label: 'cat' }, orderBy: '-confidence', limit: 20 }],
    ['query: confidence ≥ 0.5, order by votes, no limit', { type: 'annotation', where: { confidence: { gte: 0.5 } }, orderBy: ['votes', '-confidence'] }],
    ['query: every entity, order by id', { type: 'annotation' }],
  ];
  const rows = [['figure', 'p50', 'p99', 'max', 'results']];
  const g = percentiles(getSamples);
  rows.push([`get(type, id), ${fmt(reads)} reads over ${fmt(entities)} entities`, ms(g.p50), ms(g.p99), ms(g.max), '1']);
  for (const [label, query] of shapes) {
    for (let i = 0; i < 20; i++) client.query(query); // warm-up
    const samples = [];
    let size = 0;
    for (let i = 0; i < queries; i++) {
      const t = performance.now();
      size = client.query(query).length;
      samples.push(performance.now() - t);
    }
    const q = percentiles(samples);
    rows.push([`${label} (${fmt(entities)} entities)`, ms(q.p50), ms(q.p99), ms(q.max), fmt(size)]);
  }
  console.log(table(rows));
  await client.close();
}

async function writeToSubscription(ctx) {
  const { sdk, entities, writes } = ctx;
  const { client } = await seededClient(sdk, entities);
  const rows = [['figure', 'p50', 'p99', 'max']];
  // Each write raises the entity's confidence above every other, so each one changes both answers.
  let confidence = 10;
  for (const [label, target] of [
    ['entity subscription', (id) => ({ type: 'annotation', id })],
    [`query subscription (label = cat, -confidence, limit 20, over ${fmt(entities)})`, () => ({ type: 'annotation', where: { label: 'cat' }, orderBy: '-confidence', limit: 20 })],
  ]) {
    const samples = [];
    for (let i = 0; i < writes; i++) {
      const id = `img-${String((i * 5) % entities).padStart(6, '0')}`; // label cat: shown by the query
      let fired;
      let timer;
      const heard = new Promise((resolve, reject) => {
        fired = resolve;
        timer = setTimeout(() => reject(new Error(`${label}: no notification 5 s after the write to ${id}`)), 5_000);
      });
      const stop = client.subscribe(target(id), () => fired(performance.now()));
      const t = performance.now();
      void client.upsert('annotation', id, { confidence: confidence++ });
      samples.push((await heard) - t);
      clearTimeout(timer);
      stop();
    }
    const p = percentiles(samples);
    rows.push([`upsert → ${label} fired (outbox write included)`, ms(p.p50), ms(p.p99), ms(p.max)]);
  }
  console.log(table(rows));
  await client.close();
}
