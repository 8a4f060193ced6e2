#!/usr/bin/env node
// `npm start`: the whole system on one machine. Where NATS_URL / DATABASE_URL / S3_ENDPOINT are not set
// it starts a local NATS JetStream, Postgres and S3-compatible store itself (data in .tidemark/, kept
// across restarts), then the five services, prints where everything is, and stops it all on Ctrl-C.
import { execSync, spawn } from 'node:child_process';
import { mkdirSync, createWriteStream, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const home = process.env.TIDEMARK_HOME ?? join(root, '.tidemark');
const logs = join(home, 'logs');
mkdirSync(logs, { recursive: true });
const say = (text) => console.log(`[tidemark] ${text}`);

execSync('node tools/ensure-install.mjs', { stdio: 'inherit' });
if (process.env.TIDEMARK_SKIP_BUILD !== '1') {
  say('building (tsc -b)…');
  execSync('npx tsc -b tsconfig.json', { stdio: 'inherit' });
}

const { ensureSystemDeps, startLocalStack } = await import('@tidemark/local-stack');
const env = { ...process.env };
const needs = [];
if (!env.NATS_URL) needs.push('nats');
if (!env.DATABASE_URL) needs.push('postgres');
if (!env.S3_ENDPOINT) needs.push('s3');
let stack;
const children = [];
let stopping = false;

async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  say('stopping services…');
  await Promise.all(children.map((c) => new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', resolve);
    c.kill('SIGTERM');
  })));
  if (stack) {
    say('stopping the local stack…');
    await stack.stop();
  }
  say('stopped.');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  if (needs.length > 0) {
    await ensureSystemDeps(needs, { install: true });
    say(`starting local ${needs.join(', ')} (data in ${home})…`);
    stack = await startLocalStack({ dataDir: join(home, 'data'), nats: needs.includes('nats'), postgres: needs.includes('postgres'), s3: needs.includes('s3') });
    if (stack.nats) env.NATS_URL = stack.nats.url;
    if (stack.postgres) env.DATABASE_URL = await stack.postgres.createDatabase('tidemark');
    if (stack.s3) Object.assign(env, { S3_ENDPOINT: stack.s3.endpoint, S3_ACCESS_KEY: stack.s3.accessKey, S3_SECRET_KEY: stack.s3.secretKey, S3_REGION: stack.s3.region });
  }

  const services = [
    ['journal-service', 3002],
    ['merge-service', 3003],
    ['gateway', 3001],
    ['asset-service', 3004],
    ['ops-api', 3005],
  ];
  const portOf = (name, fallback) => Number(process.env[`TIDEMARK_${name.toUpperCase().replace('-', '_')}_PORT`] ?? fallback);
  const start = async (name, port) => {
    const out = createWriteStream(join(logs, `${name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, [join(root, 'apps', name, 'dist', 'main.js')], { env: { ...env, HTTP_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    child.stderr.on('data', (chunk) => process.stderr.write(`[${name}] ${chunk}`));
    child.once('exit', (code, signal) => {
      if (!stopping) {
        say(`${name} exited (${signal ?? code}); see ${join(logs, `${name}.log`)}`);
        void shutdown(1);
      }
    });
    children.push(child);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${name} exited while starting; see ${join(logs, `${name}.log`)}`);
      try {
        if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return;
      } catch {}
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${name} was not ready within 60 s; see ${join(logs, `${name}.log`)}`);
  };
  const [first, ...rest] = services;
  await start(first[0], portOf(...first));
  await Promise.all(rest.map(([name, port]) => start(name, portOf(name, port))));

  const url = (name, port) => `http://127.0.0.1:${portOf(name, port)}`;
  const gw = url('gateway', 3001);
  console.log(`
tidemark is running.

  gateway          ${gw}           push: POST /v1/events   pull: GET /v1/changes   GET /v1/conflicts, /v1/receipts, /v1/openapi.json
  journal-service  ${url('journal-service', 3002)}           GET /v1/topology, GET /v1/history/:type/:id, /v1/schemas
  merge-service    ${url('merge-service', 3003)}           /readyz, /metrics
  asset-service    ${url('asset-service', 3004)}           tus uploads: /v1/uploads   downloads: GET /v1/assets/:sha256
  ops-api          ${url('ops-api', 3005)}           GET /v1/streams, GET /v1/projection, GET /v1/devices
  every service    /healthz  /readyz  /metrics

  NATS JetStream   ${env.NATS_URL}${stack?.nats ? '   (local)' : ''}
  Postgres         ${env.DATABASE_URL}${stack?.postgres ? '   (local)' : ''}
  S3               ${env.S3_ENDPOINT}${stack?.s3 ? `   (local; access key ${env.S3_ACCESS_KEY})` : ''}
  logs             ${logs}

Try it (push one event, then pull it back):

  curl -s -X POST ${gw}/v1/events -H 'content-type: application/json' -d '{"events":[{"eventId":"'$(node -p 'crypto.randomUUID()')'","deviceId":"laptop-1","deviceSeq":1,"hlc":{"wall":'$(date +%s000)',"counter":0},"entity":{"type":"annotation","id":"img-42"},"op":"upsert","baseVersion":0,"fields":{"label":{"op":"set","value":"cat"}},"schemaVersion":1}]}'
  curl -s '${gw}/v1/changes?after=0'

Ctrl-C stops everything.
`);
} catch (error) {
  console.error(`[tidemark] could not start: ${error instanceof Error ? error.message : error}`);
  await shutdown(1);
}
