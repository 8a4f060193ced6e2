// Partial sync at scale: a workspace of many records in many projects, a steady write load spread over every
// project, and many devices each subscribed to a few projects, long-polling their scoped changes.
//   npm run bench:scopes -- [--entities 200000] [--projects 200] [--devices 100] [--per-device 3] [--rate 200] [--seconds 20] [--burst 10000]
// (the figure the issue asks for: --entities 1000000 --projects 1000 --devices 500)
//
// Reports, all through the real services (journal-service, merge-service, gateway) on a local stack:
//   - push → visible for every subscriber of the written project (p50/p99 over every delivery), and whether every
//     delivery arrived;
//   - the bytes devices received against the bytes of the changes in their scopes, and changes received outside
//     their scopes (goal: none); what a device reading the whole workspace received over the same time;
//   - a new subscriber of one project: seconds and bytes until current (scoped snapshot, then pull);
//   - the projection rate for a burst of a partitioned type against the same burst of an unpartitioned one.
// The seeded records are written in SQL in the shape merge-service writes them (the read path is what they serve);
// the live writes go through the gateway.
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { benchDevice, benchPipeline, benchStack, fmt, table } from './_common.mjs';

const WORKSPACE = 'bench';
const TASK = {
  type: 'task',
  version: 1,
  onDeleteConflict: 'edit-wins',
  partitionBy: 'project',
  fields: { project: { policy: 'lww', valueType: 'string' }, label: { policy: 'lww', valueType: 'string' }, note: { policy: 'lww', valueType: 'string' } },
};
const NOTE = { ...TASK, type: 'note', partitionBy: undefined };
const RULES = {
  version: 1,
  scopes: { project: { types: ['task'], partition: { values: { claim: 'projects' } } } },
  roles: { annotator: { write: { task: ['label'] }, read: ['project'] }, lead: { write: '*' } },
};
const project = (i) => `p-${String(i).padStart(5, '0')}`;
const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);

export async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      entities: { type: 'string', default: '200000' },
      projects: { type: 'string', default: '200' },
      devices: { type: 'string', default: '100' },
      'per-device': { type: 'string', default: '3' },
      rate: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '20' },
      burst: { type: 'string', default: '10000' },
    },
  });
  const o = {
    entities: Number(values.entities),
    projects: Number(values.projects),
    devices: Number(values.devices),
    perDevice: Number(values['per-device']),
    rate: Number(values.rate),
    seconds: Number(values.seconds),
    burst: Number(values.burst),
  };
  const stack = await benchStack();
  const { default: pg } = await import('pg');
  const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
  let pipeline;
  try {
    pipeline = await benchPipeline(stack);
    await db.connect();
    const gateway = pipeline.gateway;
    console.log(`bench:scopes: ${fmt(o.entities)} records in ${fmt(o.projects)} projects, ${fmt(o.devices)} devices × ${o.perDevice} projects, ${fmt(o.rate)} writes/s for ${o.seconds} s`);

    // The workspace: schemas, rules, devices with their claims, and the seeded records.
    const lead = await benchDevice(stack.env, WORKSPACE, 'lead');
    // The steady load comes from several writers (a device may have only a few pushes in flight).
    const writers = [];
    for (let w = 0; w < 32; w++) writers.push({ id: `writer-${w}`, headers: await benchDevice(stack.env, WORKSPACE, `writer-${w}`), seq: 0 });
    for (const schema of [TASK, NOTE]) await db.query('INSERT INTO entity_schemas (type, version, definition) VALUES ($1, 1, $2)', [schema.type, JSON.stringify(schema)]);
    await db.query("INSERT INTO access_rules (workspace, version, rules, published_by) VALUES ($1, 1, $2, 'bench')", [WORKSPACE, JSON.stringify(RULES)]);
    await db.query("UPDATE devices SET role = 'lead' WHERE workspace = $1 AND (device_id = 'lead' OR device_id LIKE 'writer-%')", [WORKSPACE]);
    await warmUp(gateway, lead, db);
    const seedStart = Date.now();
    await seed(db, o.entities, o.projects);
    console.log(`seeded ${fmt(o.entities)} records in ${fmt((Date.now() - seedStart) / 1000, 1)} s`);
    const devices = [];
    for (let i = 0; i < o.devices; i++) {
      const id = `annotator-${i}`;
      const headers = await benchDevice(stack.env, WORKSPACE, id);
      const projects = Array.from({ length: o.perDevice }, (_, k) => project((i * o.perDevice + k) % o.projects));
      await db.query("UPDATE devices SET role = 'annotator', claims = $3 WHERE workspace = $1 AND device_id = $2", [WORKSPACE, id, JSON.stringify({ projects })]);
      const put = await fetch(`${gateway}/v1/subscriptions`, {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ subscriptions: projects.map((value) => ({ scope: 'project', value })) }),
      });
      if (!put.ok) throw new Error(`subscribing ${id}: ${put.status} ${await put.text()}`);
      devices.push({ id, headers, projects: new Set(projects), cursor: (await put.json()).cursor, seen: new Map(), bytes: 0, inScopeBytes: 0, outside: 0 });
    }
    const everything = {
      id: 'lead',
      headers: lead,
      projects: null,
      cursor: (await (await fetch(`${gateway}/v1/subscriptions`, { headers: lead })).json()).cursor,
      seen: new Map(),
      bytes: 0,
      inScopeBytes: 0,
      outside: 0,
    };

    // A new subscriber of one project becoming current.
    const newcomer = await becomeCurrent(gateway, stack.env, db, project(0));

    // Steady load over every project, every device long-polling its scoped changes.
    let running = true;
    const polls = [...devices, everything].map((d) => pollLoop(gateway, d, () => running));
    const sent = new Map();
    const events = [];
    const pushes = [];
    const tickMs = 100;
    const perTick = Math.max(1, Math.round((o.rate * tickMs) / 1000));
    let refusedPushes = 0;
    const loadStart = Date.now();
    for (let tick = 0; Date.now() - loadStart < o.seconds * 1000; tick++) {
      const writer = writers[tick % writers.length];
      const batch = Array.from({ length: perTick }, (_, k) => {
        const n = tick * perTick + k;
        const value = project(Math.floor(Math.random() * o.projects));
        const event = {
          eventId: randomUUID(),
          deviceId: writer.id,
          deviceSeq: ++writer.seq,
          hlc: { wall: Date.now(), counter: 0 },
          entity: { type: 'task', id: `live-${n}` },
          op: 'upsert',
          baseVersion: 0,
          schemaVersion: 1,
          fields: { project: { op: 'set', value }, label: { op: 'set', value: 'cat' } },
        };
        events.push({ eventId: event.eventId, project: value });
        return event;
      });
      const at = performance.now();
      for (const e of batch) sent.set(e.eventId, at);
      // Open loop: the next tick does not wait for this push's answer.
      // A 429 (the writer's pushes in flight, or the gateway's admission) is retried after Retry-After, as a client does;
      // the latency still counts from the first send.
      const send = async () => {
        for (;;) {
          const answer = await fetch(`${gateway}/v1/events`, { method: 'POST', headers: { ...writer.headers, 'content-type': 'application/json' }, body: JSON.stringify({ events: batch }) });
          if (answer.ok) return;
          if (answer.status !== 429) throw new Error(`push: ${answer.status} ${await answer.text()}`);
          refusedPushes++;
          await new Promise((resolve) => setTimeout(resolve, Number(answer.headers.get('retry-after') ?? 1) * 1000));
        }
      };
      pushes.push(send());
      const next = loadStart + (tick + 1) * tickMs;
      if (next > Date.now()) await new Promise((resolve) => setTimeout(resolve, next - Date.now()));
    }
    const offeredSeconds = (Date.now() - loadStart) / 1000;
    await Promise.all(pushes);
    // Wait (bounded) until every subscriber has every change of its projects.
    const expected = devices.reduce((n, d) => n + events.filter((e) => d.projects.has(e.project)).length, 0);
    const received = () => devices.reduce((n, d) => n + events.filter((e) => d.seen.has(e.eventId)).length, 0);
    const drainDeadline = Date.now() + 60_000;
    while (received() < expected && Date.now() < drainDeadline) await new Promise((resolve) => setTimeout(resolve, 200));
    running = false;
    await Promise.allSettled(polls);

    const latencies = [];
    for (const d of devices) for (const e of events) if (d.projects.has(e.project) && d.seen.has(e.eventId)) latencies.push(d.seen.get(e.eventId) - sent.get(e.eventId));
    latencies.sort((a, b) => a - b);
    const bytes = devices.reduce((n, d) => n + d.bytes, 0);
    const inScope = devices.reduce((n, d) => n + d.inScopeBytes, 0);
    const outside = devices.reduce((n, d) => n + d.outside, 0);

    // Projection: bursts of the partitioned type and of an unpartitioned one with the same fields, alternating
    // (unpartitioned, partitioned, unpartitioned, partitioned); the better of each pair is reported.
    let seq = events.length + 10;
    const rates = { task: [], note: [] };
    for (const [round, type] of [
      [1, 'note'],
      [1, 'task'],
      [2, 'note'],
      [2, 'task'],
    ]) {
      rates[type].push(await projectBurst(gateway, lead, db, type, o.burst, o.projects, seq, `burst${round}`));
      seq += o.burst;
    }
    const partitioned = Math.max(...rates.task);
    const unpartitioned = Math.max(...rates.note);

    console.log(
      table([
        ['figure', 'value'],
        [
          'writes offered',
          `${fmt(events.length)} in ${fmt(offeredSeconds, 1)} s (${fmt(events.length / offeredSeconds)} /s) over ${fmt(o.projects)} projects${refusedPushes ? `; ${fmt(refusedPushes)} pushes answered 429 and retried` : ''}`,
        ],
        ['deliveries to subscribers', `${fmt(latencies.length)} of ${fmt(expected)} expected`],
        ['push → visible on a subscriber, p50 / p99', `${fmt(quantile(latencies, 0.5), 1)} / ${fmt(quantile(latencies, 0.99), 1)} ms`],
        ['changes received outside the device’s scopes', fmt(outside)],
        ['bytes received by the subscribers / of the changes in their scopes', `${fmt(bytes / 1e6, 2)} MB / ${fmt(inScope / 1e6, 2)} MB (${fmt(bytes / Math.max(inScope, 1), 2)}×: page envelopes)`],
        [
          'bytes per subscriber / by a device reading everything',
          `${fmt(bytes / devices.length / 1e3, 1)} kB / ${fmt(everything.bytes / 1e3, 1)} kB (${fmt(everything.bytes / Math.max(bytes / devices.length, 1), 1)}×)`,
        ],
        [
          'new subscriber of one project: records, seconds, bytes',
          `${fmt(newcomer.records)} records, ${fmt(newcomer.seconds, 2)} s, ${fmt(newcomer.bytes / 1e3, 1)} kB (the workspace: ${fmt(o.entities + events.length)} records)`,
        ],
        ['projection, partitioned type (task), two bursts', `${rates.task.map((r) => fmt(r)).join(' / ')} events/s`],
        ['projection, unpartitioned type (note), two bursts', `${rates.note.map((r) => fmt(r)).join(' / ')} events/s (best partitioned ÷ best unpartitioned: ${fmt(partitioned / unpartitioned, 2)})`],
      ]),
    );
  } finally {
    await db.end().catch(() => {});
    for (const p of pipeline?.procs ?? []) await p.kill();
    await stack.stop();
  }
}

/** One event of each type through the whole pipeline, so the services have loaded the schemas before anything is measured. */
async function warmUp(gateway, headers, db) {
  const events = ['task', 'note'].map((type, i) => ({
    eventId: randomUUID(),
    deviceId: 'lead',
    deviceSeq: 1_000_000 + i,
    hlc: { wall: Date.now(), counter: 0 },
    entity: { type, id: 'warm-up' },
    op: 'upsert',
    baseVersion: 0,
    schemaVersion: 1,
    fields: { project: { op: 'set', value: project(0) } },
  }));
  const answer = await fetch(`${gateway}/v1/events`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
  if (!answer.ok) throw new Error(`warm-up push: ${answer.status} ${await answer.text()}`);
  const deadline = Date.now() + 60_000;
  while ((await db.query("SELECT count(*)::int AS n FROM event_receipts WHERE workspace = $1 AND entity_id = 'warm-up' AND status = 'applied'", [WORKSPACE])).rows[0].n < 2) {
    if (Date.now() > deadline) throw new Error('the warm-up events were not applied within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Records of `task` spread over the projects, with their change-log rows, as merge-service writes them. */
async function seed(db, entities, projects) {
  const view = `jsonb_build_object('values', jsonb_build_object('project', 'p-' || lpad((i % ${projects})::text, 5, '0'), 'label', 'seed-' || i), 'inConflict', '[]'::jsonb)`;
  const key = `'task' || chr(31) || 'p-' || lpad((i % ${projects})::text, 5, '0')`;
  await db.query(
    `INSERT INTO change_log (workspace, entity_type, entity_id, version, deleted, view, scope_key, event_id, device_id, stream_seq)
    SELECT $2, 'task', 'seed-' || i, 1, false, ${view}, ${key}, gen_random_uuid(), 'seeder', i FROM generate_series(1, $1::int) i ORDER BY i`,
    [entities, WORKSPACE],
  );
  await db.query(
    `INSERT INTO entities (workspace, entity_type, entity_id, version, deleted, state, view, scope_key, last_event_id, last_stream_seq)
    SELECT $2, 'task', 'seed-' || i, 1, false, '{}'::jsonb, ${view}, ${key}, gen_random_uuid(), i FROM generate_series(1, $1::int) i`,
    [entities, WORKSPACE],
  );
  await db.query('ANALYZE change_log');
  await db.query('ANALYZE entities');
}

/** A device long-polling its changes until `running()` is false, noting when each event's change arrived. */
async function pollLoop(gateway, device, running) {
  while (running()) {
    const answer = await fetch(`${gateway}/v1/changes?after=${device.cursor}&limit=1000&wait=2`, { headers: device.headers });
    const text = await answer.text();
    const at = performance.now();
    if (!answer.ok) throw new Error(`${device.id} pull: ${answer.status} ${text.slice(0, 200)}`);
    device.bytes += Buffer.byteLength(text);
    const page = JSON.parse(text);
    for (const change of page.changes) {
      device.seen.set(change.eventId, at);
      device.inScopeBytes += Buffer.byteLength(JSON.stringify(change));
      if (device.projects && !change.outOfScope && !device.projects.has(change.partition)) device.outside++;
    }
    device.cursor = page.next;
  }
}

/** A fresh device subscribing to one project: its scoped snapshot, then its pull, until current. */
async function becomeCurrent(gateway, env, db, value) {
  const headers = await benchDevice(env, WORKSPACE, 'newcomer');
  await db.query("UPDATE devices SET role = 'annotator', claims = $2 WHERE workspace = $1 AND device_id = 'newcomer'", [WORKSPACE, JSON.stringify({ projects: [value] })]);
  const start = performance.now();
  let bytes = 0;
  let records = 0;
  const get = async (path) => {
    const answer = await fetch(`${gateway}${path}`, { headers });
    const text = await answer.text();
    if (!answer.ok) throw new Error(`${path}: ${answer.status} ${text.slice(0, 200)}`);
    bytes += Buffer.byteLength(text);
    return JSON.parse(text);
  };
  const put = await fetch(`${gateway}/v1/subscriptions`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ subscriptions: [{ scope: 'project', value }] }),
  });
  bytes += Buffer.byteLength(await put.text());
  let query = 'limit=1000';
  let cursor;
  for (;;) {
    const page = await get(`/v1/snapshot?${query}`);
    records += page.changes.length;
    cursor = page.cursor;
    if (!page.hasMore) break;
    query = `limit=1000&cursor=${page.cursor}&after=${encodeURIComponent(page.next)}`;
  }
  for (;;) {
    const page = await get(`/v1/changes?after=${cursor}&limit=1000`);
    cursor = page.next;
    if (!page.hasMore) break;
  }
  return { seconds: (performance.now() - start) / 1000, bytes, records };
}

/**
 * Pushes `count` creates of `type` spread over the projects and returns the projection rate: receipts per second
 * from the first receipt to the last (counted every 20 ms while the burst is pushed and projected).
 */
async function projectBurst(gateway, headers, db, type, count, projects, firstSeq, prefix) {
  const counted = () =>
    db.query('SELECT count(*)::int AS n FROM event_receipts WHERE workspace = $1 AND entity_type = $2 AND entity_id LIKE $3', [WORKSPACE, type, `${prefix}-%`]).then((r) => r.rows[0].n);
  let first;
  let last;
  const watching = (async () => {
    const deadline = Date.now() + 300_000;
    for (;;) {
      const n = await counted();
      if (n > 0 && first === undefined) first = performance.now();
      if (n >= count) return (last = performance.now());
      if (Date.now() > deadline) throw new Error(`the ${type} burst was not projected within 300 s (${n} of ${count})`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  for (let sent = 0; sent < count; sent += 500) {
    const events = Array.from({ length: Math.min(500, count - sent) }, (_, k) => {
      const n = sent + k;
      return {
        eventId: randomUUID(),
        deviceId: 'lead',
        deviceSeq: firstSeq + n,
        hlc: { wall: Date.now(), counter: 0 },
        entity: { type, id: `${prefix}-${n}` },
        op: 'upsert',
        baseVersion: 0,
        schemaVersion: 1,
        fields: { project: { op: 'set', value: project(n % projects) }, label: { op: 'set', value: 'x' } },
      };
    });
    const answer = await fetch(`${gateway}/v1/events`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
    if (!answer.ok) throw new Error(`burst push: ${answer.status} ${await answer.text()}`);
  }
  await watching;
  return count / ((last - first) / 1000);
}
