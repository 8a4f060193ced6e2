// Shared pieces of the benchmark scripts: the stack to measure on, and the raw baselines.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID, randomBytes } from 'node:crypto';

export const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The configured stack (NATS_URL, DATABASE_URL, S3_*), or a throwaway local one started for this run. */
export async function benchStack({ nats = true, postgres = true, s3 = false } = {}) {
  const { ensureSystemDeps, startLocalStack } = await import('@tidemark/local-stack');
  const env = {};
  const need = [];
  if (nats && !process.env.NATS_URL) need.push('nats');
  if (postgres && !process.env.DATABASE_URL) need.push('postgres');
  if (s3 && !process.env.S3_ENDPOINT) need.push('s3');
  let stack;
  let dir;
  if (need.length) {
    await ensureSystemDeps(need, { install: true });
    dir = mkdtempSync(join(tmpdir(), 'tidemark-bench-'));
    stack = await startLocalStack({ dataDir: dir, ephemeral: true, nats: need.includes('nats'), postgres: need.includes('postgres'), s3: need.includes('s3') });
  }
  env.NATS_URL = process.env.NATS_URL ?? stack?.nats?.url;
  const { generateSigningKey } = await import('@tidemark/auth');
  env.AUTH_SIGNING_KEYS = process.env.AUTH_SIGNING_KEYS ?? generateSigningKey('bench');
  if (postgres) env.DATABASE_URL = process.env.DATABASE_URL ?? (await stack.postgres.createDatabase(`bench_${Date.now()}`));
  if (s3) {
    if (process.env.S3_ENDPOINT)
      Object.assign(env, { S3_ENDPOINT: process.env.S3_ENDPOINT, S3_ACCESS_KEY: process.env.S3_ACCESS_KEY, S3_SECRET_KEY: process.env.S3_SECRET_KEY, S3_REGION: process.env.S3_REGION ?? 'us-east-1' });
    else Object.assign(env, { S3_ENDPOINT: stack.s3.endpoint, S3_ACCESS_KEY: stack.s3.accessKey, S3_SECRET_KEY: stack.s3.secretKey, S3_REGION: stack.s3.region });
  }
  return {
    env,
    local: need,
    async stop() {
      await stack?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Registers a device straight in the database (a service must have migrated it) and mints its access
 * token with the run's signing key: what enrolment through the gateway's admin API would hand out.
 */
/**
 * Starts the device pipeline as production runs it (journal-service, merge-service, gateway, each its own
 * process, journal in 8 partitions) on a bench stack; returns the processes and the gateway's URL.
 */
export async function benchPipeline(stack) {
  const { findFreePort } = await import('@tidemark/local-stack');
  const { startServiceProcess } = await import('@tidemark/testing');
  const env = { ...stack.env, JOURNAL_PARTITIONS: '8', LOG_LEVEL: 'warn' };
  const procs = [];
  try {
    for (const name of ['journal-service', 'merge-service', 'gateway']) procs.push(await startServiceProcess(name, { ...env, HTTP_PORT: String(await findFreePort()) }));
  } catch (error) {
    for (const p of procs) await p.kill();
    throw error;
  }
  return { procs, gateway: procs[2].url };
}

export async function benchDevice(env, workspace, deviceId, site = null) {
  const { TokenService } = await import('@tidemark/auth');
  const { default: pg } = await import('pg');
  const db = new pg.Client({ connectionString: env.DATABASE_URL });
  await db.connect();
  try {
    await db.query('INSERT INTO workspaces (workspace, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', [workspace]);
    await db.query('INSERT INTO devices (workspace, device_id, site) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [workspace, deviceId, site]);
  } finally {
    await db.end();
  }
  const { token } = await new TokenService(env.AUTH_SIGNING_KEYS).issueDeviceAccess({ workspace, deviceId, site, generation: 1 }, new Date(), 24 * 3600);
  return { authorization: `Bearer ${token}` };
}

function payload(bytes) {
  return JSON.stringify({ v: 1, workspace: 'bench', acceptedAt: new Date(0).toISOString(), event: { pad: 'x'.repeat(Math.max(0, bytes - 120)) } });
}

/** Raw JetStream publish with acks: serial (one at a time) and pipelined (a window of pending acks); `natsUrl` may list several servers. */
export async function rawJetStreamPublish(natsUrl, { count = 20_000, window = 256, bytes = 400, replicas = 1 } = {}) {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager, jetstream } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: natsUrl.split(',') });
  const jsm = await jetstreamManager(nc);
  const stream = `BENCH_${randomUUID().slice(0, 8).toUpperCase()}`;
  await jsm.streams.add({ name: stream, subjects: [`bench.${stream}.>`], storage: 'file', num_replicas: replicas });
  const js = jetstream(nc);
  const data = new TextEncoder().encode(payload(bytes));
  const serialCount = Math.max(500, Math.floor(count / 10));
  let t = performance.now();
  for (let i = 0; i < serialCount; i++) await js.publish(`bench.${stream}.s`, data, { msgID: randomUUID() });
  const serial = serialCount / ((performance.now() - t) / 1000);
  t = performance.now();
  let inflight = [];
  for (let i = 0; i < count; i++) {
    inflight.push(js.publish(`bench.${stream}.p.${i % 8}`, data, { msgID: randomUUID() }));
    if (inflight.length >= window) {
      await Promise.all(inflight);
      inflight = [];
    }
  }
  await Promise.all(inflight);
  const pipelined = count / ((performance.now() - t) / 1000);
  await jsm.streams.delete(stream);
  await nc.close();
  return { serial, pipelined, serialCount, count, window };
}

/** Raw Postgres batched upsert: multi-row INSERT … ON CONFLICT, `batch` rows per transaction. */
export async function rawPostgresUpsert(databaseUrl, { rows = 50_000, batch = 500, keys = 5_000 } = {}) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const table = `bench_upsert_${randomUUID().slice(0, 8)}`;
  await client.query(`CREATE TABLE ${table} (workspace text, entity_type text, entity_id text, version bigint, state jsonb, PRIMARY KEY (workspace, entity_type, entity_id))`);
  const t = performance.now();
  for (let done = 0; done < rows; done += batch) {
    const params = [];
    const tuples = [];
    for (let i = 0; i < batch; i++) {
      const n = done + i;
      tuples.push(`($${params.push('bench')}, $${params.push('annotation')}, $${params.push(`e${n % keys}`)}, $${params.push(n)}, $${params.push(JSON.stringify({ label: `v${n}` }))})`);
    }
    await client.query('BEGIN');
    await client.query(`INSERT INTO ${table} VALUES ${tuples.join(',')} ON CONFLICT (workspace, entity_type, entity_id) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state`, params);
    await client.query('COMMIT');
  }
  const perSecond = rows / ((performance.now() - t) / 1000);
  await client.query(`DROP TABLE ${table}`);
  await client.end();
  return { perSecond, rows, batch };
}

/** Raw S3 multipart upload of `mib` MiB in `partMiB` parts through the minio client. */
export async function rawS3Multipart(s3, { mib = 64, partMiB = 8 } = {}) {
  const { Client } = await import('minio');
  const url = new URL(s3.S3_ENDPOINT);
  const client = new Client({
    endPoint: url.hostname,
    port: Number(url.port || 80),
    useSSL: url.protocol === 'https:',
    accessKey: s3.S3_ACCESS_KEY,
    secretKey: s3.S3_SECRET_KEY,
    region: s3.S3_REGION,
    pathStyle: true,
    partSize: partMiB * 1024 * 1024,
  });
  const bucket = `bench-${randomUUID().slice(0, 8)}`;
  await client.makeBucket(bucket, s3.S3_REGION);
  const body = randomBytes(mib * 1024 * 1024);
  const t = performance.now();
  await client.putObject(bucket, 'blob', body, body.length);
  const seconds = (performance.now() - t) / 1000;
  await client.removeObject(bucket, 'blob');
  await client.removeBucket(bucket);
  return { mibPerSecond: mib / seconds, mib, partMiB };
}

export function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows
    .map((r, i) => {
      const line = r.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  ');
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

/**
 * Publishes `count` journal records straight to the journal (as the gateway would), `window` in flight at a
 * time: upserts of `entities` annotations from 50 devices, each an increment and a set, plus `extraFields(i)`.
 * Returns the seconds it took.
 */
export async function loadJournal(js, { count, entities, partitions, extraFields = () => ({}), window = 512, workspaces = 1, devices = 50 }) {
  const { journalSubject } = await import('@tidemark/contracts');
  const acceptedAt = new Date(0).toISOString();
  const t0 = performance.now();
  let pending = [];
  for (let i = 0; i < count; i++) {
    const entity = { type: 'annotation', id: `e${i % entities}` };
    const event = {
      eventId: randomUUID(),
      deviceId: `dev-${i % devices}`,
      deviceSeq: Math.floor(i / devices) + 1,
      hlc: { wall: 1_764_000_000_000 + i, counter: 0 },
      entity,
      op: 'upsert',
      baseVersion: 0,
      schemaVersion: 1,
      fields: { votes: { op: 'inc', by: 1 }, confidence: { op: 'set', value: (i % 1000) / 1000 }, ...extraFields(i) },
    };
    // events spread over `workspaces` workspaces by device (a device belongs to one workspace)
    const workspace = workspaces === 1 ? 'bench' : `bench-${(i % devices) % workspaces}`;
    pending.push(js.publish(journalSubject(workspace, entity, partitions), JSON.stringify({ v: 1, workspace, acceptedAt, event }), { msgID: event.eventId }));
    if (pending.length >= window) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  return (performance.now() - t0) / 1000;
}

/**
 * Waits until `count` receipts are committed and returns the projection's rate from the first receipt seen
 * (start-up excluded): events/s over the receipts committed after it, and when it was seen.
 */
export async function rateFromFirstReceipt(db, count) {
  let projected = 0;
  let first;
  while (projected < count) {
    projected = Number((await db.query('SELECT count(*) AS n FROM event_receipts')).rows[0].n);
    if (projected > 0 && first === undefined) first = { at: performance.now(), projected };
    if (projected < count) await new Promise((r) => setTimeout(r, 100));
  }
  return { rate: (count - first.projected) / ((performance.now() - first.at) / 1000), firstAt: first.at };
}
