// A new device becoming current in a large workspace: the SDK with fresh storage bootstrapping from the snapshot
// (GET /v1/snapshot, then the changes since its cursor) against pulling every change from cursor 0, each with and
// without compression. Reports seconds until `pull()` resolves and the bytes that crossed the wire.
//   npm run bench:client:bootstrap -- [--entities 50000] [--versions 4] [--page 1000] [--only snapshot-br,changes-identity]
//
// The workspace's change log and projection are written in SQL, in the shape merge-service writes them (one
// change-log row per version with the entity's whole view, the projection row of its last version): what is
// measured is the read path (gateway, Postgres, wire, SDK, FileStorage), and a 50 000-entity workspace with
// several versions each is ready in seconds instead of the minutes pushing it through the journal would take.
// `bootstrapSection(options)` is exported for a combined client benchmark to call.
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchDevice, benchStack, fmt, table } from './_common.mjs';

const VARIANTS = {
  'snapshot-br': { bootstrapFromSnapshot: true, acceptEncoding: undefined, label: 'snapshot + changes since, br (SDK default)' },
  'snapshot-gzip': { bootstrapFromSnapshot: true, acceptEncoding: 'gzip', label: 'snapshot + changes since, gzip' },
  'snapshot-identity': { bootstrapFromSnapshot: true, acceptEncoding: 'identity', label: 'snapshot + changes since, uncompressed' },
  'changes-br': { bootstrapFromSnapshot: false, acceptEncoding: undefined, label: 'every change from cursor 0, br' },
  'changes-identity': { bootstrapFromSnapshot: false, acceptEncoding: 'identity', label: 'every change from cursor 0, uncompressed (before)' },
  // The same requests without the SDK (no listeners, no FileStorage writes): gateway, Postgres and wire only.
  'raw-snapshot-br': { raw: true, bootstrapFromSnapshot: true, acceptEncoding: 'br', label: 'wire only: snapshot + changes since, br' },
  'raw-changes-identity': { raw: true, bootstrapFromSnapshot: false, acceptEncoding: 'identity', label: 'wire only: every change, uncompressed' },
};

/** What a device does, without the SDK: every page of the snapshot (or none), then every change after its cursor. */
async function rawBootstrap(gateway, headers, page, { bootstrapFromSnapshot }, fetchImpl) {
  const held = new Map();
  const apply = (change) => (change.deleted ? held.delete(`${change.entity.type}/${change.entity.id}`) : held.set(`${change.entity.type}/${change.entity.id}`, change));
  let after = '0';
  let entries = 0;
  let changes = 0;
  if (bootstrapFromSnapshot) {
    let query = `limit=${page}`;
    for (;;) {
      const body = await (await fetchImpl(`${gateway}/v1/snapshot?${query}`, { headers })).json();
      body.changes.forEach(apply);
      entries += body.changes.length;
      after = body.cursor;
      if (!body.hasMore) break;
      query = `limit=${page}&cursor=${body.cursor}&after=${encodeURIComponent(body.next)}`;
    }
  }
  for (;;) {
    const body = await (await fetchImpl(`${gateway}/v1/changes?limit=${page}&after=${after}`, { headers })).json();
    body.changes.forEach(apply);
    changes += body.changes.length;
    after = body.next;
    if (!body.hasMore) break;
  }
  return { held, entries, changes };
}

export async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: { entities: { type: 'string', default: '50000' }, versions: { type: 'string', default: '4' }, page: { type: 'string', default: '1000' }, only: { type: 'string' } },
  });
  await bootstrapSection({ entities: Number(values.entities), versions: Number(values.versions), page: Number(values.page), only: values.only?.split(',') });
}

/** Seeds the workspace, runs each variant with a fresh device and storage, prints a table; returns the rows. */
export async function bootstrapSection({ entities = 50_000, versions = 4, page = 1000, only } = {}) {
  const stack = await benchStack({ nats: true, postgres: true });
  const { findFreePort } = await import('@tidemark/local-stack');
  const { startServiceProcess } = await import('@tidemark/testing');
  const { FileStorage, TidemarkClient } = await import('@tidemark/client/node');
  const { default: pg } = await import('pg');
  let gatewayProc;
  const dirs = [];
  try {
    gatewayProc = await startServiceProcess('gateway', { ...stack.env, HTTP_PORT: String(await findFreePort()), LOG_LEVEL: 'warn' });
    const gateway = gatewayProc.url;
    const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
    await db.connect();
    const t0 = performance.now();
    await seed(db, entities, versions);
    const sizes = (await db.query("SELECT count(*) AS rows, pg_size_pretty(pg_total_relation_size('change_log')) AS log FROM change_log WHERE workspace = 'bench'")).rows[0];
    await db.end();
    console.log(
      `workspace: ${fmt(entities)} annotations × ${versions} versions = ${fmt(Number(sizes.rows))} changes (change_log ${sizes.log}), seeded in ${fmt((performance.now() - t0) / 1000, 1)} s; pages of ${page}`,
    );

    const rows = [['variant', 'seconds', 'wire MB', 'requests', 'entries', 'changes', 'entities held']];
    const results = [];
    for (const [name, variant] of Object.entries(VARIANTS)) {
      if (only && !only.includes(name)) continue;
      const deviceId = `bootstrap-${name}`;
      const headers = await benchDevice(stack.env, 'bench', deviceId);
      const dir = mkdtempSync(join(tmpdir(), `tidemark-bench-${name}-`));
      dirs.push(dir);
      let wireBytes = 0;
      let requests = 0;
      // The bytes as sent: Content-Length is the encoded length (fetch decodes the body, not the header).
      const countingFetch = async (url, init) => {
        const response = await fetch(url, init);
        requests++;
        wireBytes += Number(response.headers.get('content-length') ?? 0);
        return response;
      };
      const started = performance.now();
      let held, entries, changes;
      if (variant.raw) {
        ({ held, entries, changes } = await rawBootstrap(gateway, { ...headers, 'accept-encoding': variant.acceptEncoding }, page, variant, countingFetch));
      } else {
        held = new Map();
        const client = await TidemarkClient.open({
          baseUrl: gateway,
          storage: await FileStorage.open(dir),
          workspace: 'bench',
          deviceId,
          headers: { ...headers, ...(variant.acceptEncoding ? { 'accept-encoding': variant.acceptEncoding } : {}) },
          fetch: countingFetch,
          pullPageSize: page,
          bootstrapFromSnapshot: variant.bootstrapFromSnapshot,
          requestTimeoutMs: 120_000,
          onChange: (change) => {
            if (change.deleted) held.delete(`${change.entity.type}/${change.entity.id}`);
            else held.set(`${change.entity.type}/${change.entity.id}`, change);
          },
        });
        const summary = await client.pull();
        await client.close();
        entries = summary.snapshot?.entries ?? 0;
        changes = summary.changes;
      }
      const seconds = (performance.now() - started) / 1000;
      if (held.size !== entities) throw new Error(`${name}: the device holds ${held.size} entities, the workspace ${entities}`);
      rows.push([variant.label, fmt(seconds, 2), fmt(wireBytes / 1e6, 2), fmt(requests), fmt(entries), fmt(changes), fmt(held.size)]);
      results.push({ name, seconds, wireBytes, requests, entries, changes });
    }
    console.log(table(rows));
    return results;
  } finally {
    await gatewayProc?.kill();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await stack.stop();
  }
}

/**
 * `entities` annotations, `versions` versions each, written round by round (all first versions, then all
 * second ones …) as a team's edits arrive; each change carries the entity's whole view, as merge-service writes it.
 */
async function seed(db, entities, versions) {
  const view = (v) => `jsonb_build_object(
      'values', jsonb_build_object(
        'label', (ARRAY['cat', 'dog', 'bird', 'car', 'tree'])[1 + (i + ${v}) % 5],
        'confidence', round((0.5 + ((i * 7 + ${v}) % 50) / 100.0)::numeric, 2),
        'tags', jsonb_build_array('batch-' || (i % 40), 'reviewed-' || ${v}),
        'notes', (SELECT jsonb_agg('note ' || n || ' on image ' || i) FROM generate_series(1, ${v}) n),
        'assetId', md5(i::text) || md5((i + 1)::text),
        'reviewedBy', 'annotator-' || (i % 25)),
      'inConflict', '[]'::jsonb)`;
  for (let v = 1; v <= versions; v++) {
    await db.query(
      `INSERT INTO change_log (workspace, entity_type, entity_id, version, deleted, view, scope_key, event_id, device_id, stream_seq)
      SELECT 'bench', 'annotation', 'img-' || lpad(i::text, 6, '0'), ${v}, false, ${view(v)}, 'annotation', gen_random_uuid(), 'annotator-' || (i % 25), ${v}::bigint * $1 + i
        FROM generate_series(1, $1::int) i ORDER BY i`,
      [entities],
    );
  }
  await db.query(
    `INSERT INTO entities (workspace, entity_type, entity_id, version, deleted, state, view, scope_key, last_event_id, last_stream_seq)
    SELECT 'bench', 'annotation', 'img-' || lpad(i::text, 6, '0'), ${versions}, false, '{}'::jsonb, ${view(versions)}, 'annotation', gen_random_uuid(), ${versions}::bigint * $1 + i
      FROM generate_series(1, $1::int) i`,
    [entities],
  );
  await db.query('ANALYZE change_log');
  await db.query('ANALYZE entities');
}
