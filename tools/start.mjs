#!/usr/bin/env node
// `npm start`: the whole system on one machine. Where NATS_URL / DATABASE_URL / S3_ENDPOINT are not set
// it starts a local NATS JetStream, Postgres and S3-compatible store itself (data in .tidemark/, kept
// across restarts), then the five services, prints where everything is, and stops it all on Ctrl-C.
// Tokens: AUTH_SIGNING_KEYS when set, else a key generated on first start and kept in .tidemark/data/, so
// device and operator tokens survive a restart. Each start creates the `default` workspace (if missing) and
// prints a fresh admin operator token (also written to .tidemark/admin-token).
import { execSync, spawn } from 'node:child_process';
import { mkdirSync, createWriteStream, existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
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
const { TokenService, generateSigningKey } = await import('@tidemark/auth');
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
  await Promise.all(
    children.map(
      (c) =>
        new Promise((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', resolve);
          c.kill('SIGTERM');
        }),
    ),
  );
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

  // The key every service signs and verifies tokens with: the operator's, or one kept with the local data.
  const keyFile = join(home, 'data', 'auth-signing-keys');
  if (env.AUTH_SIGNING_KEYS) {
    say('using AUTH_SIGNING_KEYS from the environment');
  } else if (existsSync(keyFile)) {
    env.AUTH_SIGNING_KEYS = readFileSync(keyFile, 'utf8').trim();
  } else {
    env.AUTH_SIGNING_KEYS = generateSigningKey();
    mkdirSync(dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, `${env.AUTH_SIGNING_KEYS}\n`, { mode: 0o600 });
    say(`generated a token signing key (kept in ${keyFile})`);
  }
  const tokens = new TokenService(env.AUTH_SIGNING_KEYS);

  const services = [
    ['journal-service', 3002],
    ['merge-service', 3003],
    ['gateway', 3001],
    ['asset-service', 3004],
    ['ops-api', 3005],
  ];
  const portOf = (name, fallback) => Number(process.env[`TIDEMARK_${name.toUpperCase().replace('-', '_')}_PORT`] ?? fallback);
  // The annotator example (examples/annotator), served by its own small server once the services are up.
  const examplePort = Number(process.env.TIDEMARK_EXAMPLE_PORT ?? 3006);
  // Browser pages allowed to call the gateway and the asset-service (CORS): the dashboard, the example and a local
  // web app's dev server (Vite 5173, Next.js and others 3000), by both of their local names. Production configs allow none.
  env.CORS_ORIGINS ||= [portOf('ops-api', 3005), examplePort, 5173, 3000].flatMap((port) => [`http://127.0.0.1:${port}`, `http://localhost:${port}`]).join(',');
  const start = async (name, port) => {
    const out = createWriteStream(join(logs, `${name}.log`), { flags: 'a' });
    // ops-api's overview shows the readiness of every other service.
    const extra =
      name === 'ops-api'
        ? {
            SERVICE_URLS: services
              .filter(([n]) => n !== 'ops-api')
              .map(([n, p]) => `${n}=http://127.0.0.1:${portOf(n, p)}`)
              .join(','),
          }
        : {};
    const child = spawn(process.execPath, [join(root, 'apps', name, 'dist', 'main.js')], { env: { ...env, ...extra, HTTP_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
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

  // An admin operator token for this session, and the `default` workspace devices are registered in.
  const admin = await tokens.issueOperator({ name: 'local-admin', roles: ['ops', 'admin'] }, new Date(), 7 * 86_400);
  const adminFile = join(home, 'admin-token');
  writeFileSync(adminFile, `${admin.token}\n`, { mode: 0o600 });
  chmodSync(adminFile, 0o600);
  const workspace = await fetch(`${gw}/v1/admin/workspaces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ workspace: 'default', reason: 'npm start: the default workspace' }),
  });
  if (!workspace.ok) throw new Error(`could not create the default workspace: ${workspace.status} ${await workspace.text()}`);
  const device = `laptop-${Math.random().toString(36).slice(2, 6)}`;

  // The example app, built against the packed SDK (npm pack of the client and what it needs, unpacked into
  // examples/annotator/node_modules), with its own server holding an admin token to enrol each new browser.
  let example = { url: undefined, problem: undefined };
  try {
    const { buildExample } = await import('../examples/annotator/build.mjs');
    const { startExampleServer } = await import('../examples/annotator/server.mjs');
    say('building the annotator example against the packed SDK…');
    await buildExample();
    const exampleToken = await tokens.issueOperator({ name: 'annotator-example', roles: ['admin'] }, new Date(), 7 * 86_400);
    const server = await startExampleServer({ gateway: gw, assets: url('asset-service', 3004), adminToken: exampleToken.token, port: examplePort });
    example = { url: server.url, problem: undefined };
  } catch (error) {
    // the system runs without its example; say why
    example = { url: undefined, problem: error instanceof Error ? error.message : String(error) };
  }

  console.log(`
tidemark is running.

  example app      ${example.url ? `${example.url}/   the annotator: images with labels, offline-first in the browser (open it in two browsers)` : `not started: ${example.problem}`}

  gateway          ${gw}           push: POST /v1/events   pull: GET /v1/changes   GET /v1/conflicts, /v1/receipts (device token)
                                                  /v1/admin/workspaces, …/devices, /v1/admin/operator-tokens (admin token)   POST /v1/auth/refresh   /v1/openapi.json
  journal-service  ${url('journal-service', 3002)}           GET /v1/topology, GET /v1/history/:type/:id?workspace= (operator token), /v1/schemas
  merge-service    ${url('merge-service', 3003)}           /readyz, /metrics
  asset-service    ${url('asset-service', 3004)}           tus uploads: /v1/uploads   downloads: GET /v1/assets/:sha256 (device token)
  ops-api          ${url('ops-api', 3005)}           dashboard: ${url('ops-api', 3005)}/ (sign in with the admin token below)
                                                  /v1/overview, /v1/streams, /v1/devices, /v1/sites, /v1/parked, /v1/conflicts, /v1/replays, /v1/events/:id (operator token)
                                                  CLI: TIDEMARK_TOKEN=<admin token> npm run tidemark -- status
  every service    /healthz  /readyz  /metrics (no token)

  NATS JetStream   ${env.NATS_URL}${stack?.nats ? '   (local)' : ''}
  Postgres         ${env.DATABASE_URL}${stack?.postgres ? '   (local)' : ''}
  S3               ${env.S3_ENDPOINT}${stack?.s3 ? `   (local; access key ${env.S3_ACCESS_KEY})` : ''}
  logs             ${logs}
  browser origins  ${env.CORS_ORIGINS.split(',').join(' ')}   (CORS_ORIGINS of gateway and asset-service)
  signing key      ${env.AUTH_SIGNING_KEYS === process.env.AUTH_SIGNING_KEYS ? 'AUTH_SIGNING_KEYS from the environment' : keyFile}

Admin operator token (roles ops and admin, valid until ${admin.expiresAt.toISOString()}; also in ${adminFile}):

  ${admin.token}

Try it (register a device in workspace "default", push one event with its token, pull it back):

  ADMIN=$(cat ${adminFile})
  TOKEN=$(curl -s -X POST ${gw}/v1/admin/workspaces/default/devices -H "authorization: Bearer $ADMIN" -H 'content-type: application/json' -d '{"deviceId":"${device}"}' | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).accessToken')
  curl -s -X POST ${gw}/v1/events -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"events":[{"eventId":"'$(node -p 'crypto.randomUUID()')'","deviceId":"${device}","deviceSeq":1,"hlc":{"wall":'$(date +%s000)',"counter":0},"entity":{"type":"annotation","id":"img-42"},"op":"upsert","baseVersion":0,"fields":{"label":{"op":"set","value":"cat"}},"schemaVersion":1}]}'
  curl -s '${gw}/v1/changes?after=0' -H "authorization: Bearer $TOKEN"

Ctrl-C stops everything.
`);
} catch (error) {
  console.error(`[tidemark] could not start: ${error instanceof Error ? error.message : error}`);
  await shutdown(1);
}
