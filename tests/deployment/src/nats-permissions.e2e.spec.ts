// The NATS users and TLS of infra/k8s held to what the services really do: a nats-server runs with the
// `tls` and `authorization` blocks of the Kubernetes configuration as they are (a certificate made with the
// openssl commands of infra/README.md, for 127.0.0.1 here) (each service's NKey public key in the
// environment, as the tidemark-nats-users Secret gives it), the five services run against it, each with
// only its own seed as NATS_CREDS_FILE, and a device's change goes the whole way (journaled by the
// gateway, merged and published by merge-service, pulled back) while ops-api reads the streams. Any
// subject a service needs and its user may not use shows in the server's log as a permissions violation.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { connect as connectTcp, createServer } from 'node:net';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { promisify } from 'node:util';
import { connect, nkeys } from '@nats-io/transport-node';
import {
  FakeDevice,
  bucketEnv,
  eventually,
  push,
  startServiceProcess,
  tempDir,
  testBucket,
  testDatabase,
  testIdentity,
  type ServiceName,
  type ServiceProcess,
  type TestDatabase,
  type TestIdentity,
} from '@tidemark/testing';
import { readRepoFile } from './deployment';

const SERVICES: ServiceName[] = ['journal-service', 'merge-service', 'gateway', 'asset-service', 'ops-api'];
/** The variable nats.conf names a service's public key by, as the secrets template spells it. */
const nkeyVariable = (service: ServiceName) => `${service.toUpperCase().replace(/-/g, '_')}_NKEY`;

/** A top-level block of nats.conf (`authorization { ... }`, `tls { ... }`) from the ConfigMap of infra/k8s/nats, as text. */
function confBlock(name: string): string {
  const configMap = parseAllDocuments(readRepoFile('infra/k8s/nats/nats.yaml'))
    .map((d) => d.toJS() as { kind?: string; data?: Record<string, string> } | null)
    .find((o) => o?.kind === 'ConfigMap' && o.data?.['nats.conf']);
  const conf = configMap?.data?.['nats.conf'] ?? assert.fail('infra/k8s/nats/nats.yaml has no nats.conf');
  const start = conf.search(new RegExp(`^\\s*${name}\\s*\\{`, 'm'));
  assert.ok(start >= 0, `nats.conf has no ${name} block`);
  let depth = 0;
  for (let i = conf.indexOf('{', start); i < conf.length; i++) {
    if (conf[i] === '{') depth++;
    else if (conf[i] === '}' && --depth === 0) return conf.slice(start, i + 1);
  }
  return assert.fail(`nats.conf: the ${name} block is not closed`);
}

/** A port nothing listens on now (the kernel's pick). */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

/** A private CA and a server certificate for 127.0.0.1 and localhost (nats.js names a loopback address so) signed by it, as infra/README.md makes them for `nats`. */
async function makeCertificates(dir: string): Promise<{ cert: string; key: string; ca: string }> {
  const openssl = (...args: string[]) => promisify(execFile)('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl('req', '-x509', ...ec, '-days', '1', '-subj', '/CN=tidemark-nats-ca', '-keyout', 'ca.key', '-out', 'ca.crt');
  await openssl('req', ...ec, '-subj', '/CN=nats', '-keyout', 'tls.key', '-out', 'tls.csr');
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await openssl('x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-out', 'tls.crt', '-extfile', 'san.ext');
  return { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), ca: join(dir, 'ca.crt') };
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connectTcp(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

describe('infra/k8s NATS users: each service works with its own user and permissions', () => {
  let server: ChildProcess;
  let serverLog = '';
  let natsUrl: string;
  let caFile: string;
  let database: TestDatabase;
  let identity: TestIdentity;
  const services = new Map<ServiceName, { proc: ServiceProcess; url: string }>();
  const url = (s: ServiceName) => services.get(s)!.url;

  before(async () => {
    const dir = await tempDir('nats-users');
    const [port, monitor] = [await freePort(), await freePort()];
    const publicKeys: Record<string, string> = {};
    const seedFiles = new Map<ServiceName, string>();
    for (const s of SERVICES) {
      const user = nkeys.createUser();
      publicKeys[nkeyVariable(s)] = user.getPublicKey();
      const file = join(dir, `${s}.nk`);
      await writeFile(file, `${new TextDecoder().decode(user.getSeed())}\n`, { mode: 0o600 });
      seedFiles.set(s, file);
    }
    const conf = join(dir, 'nats.conf');
    const certificates = await makeCertificates(dir);
    caFile = certificates.ca;
    const tls = confBlock('tls')
      .replace(/\/etc\/nats-tls\/tls\.crt/, certificates.cert)
      .replace(/\/etc\/nats-tls\/tls\.key/, certificates.key);
    assert.ok(tls.includes(certificates.cert) && tls.includes(certificates.key), `the tls block does not read /etc/nats-tls/tls.crt and tls.key: ${tls}`);
    await writeFile(
      conf,
      [`listen: "127.0.0.1:${port}"`, `http: "127.0.0.1:${monitor}"`, `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }`, tls, confBlock('authorization'), ''].join('\n'),
    );
    server = spawn('nats-server', ['-c', conf], { env: { PATH: process.env.PATH, ...publicKeys }, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [server.stdout!, server.stderr!]) stream.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
    await eventually(async () => {
      assert.equal(server.exitCode, null, `nats-server exited: ${serverLog}`);
      assert.ok(await listening(port));
    });

    database = await testDatabase('nats_users');
    identity = testIdentity(database.url);
    const bucket = bucketEnv(await testBucket('nats-users'));
    const ports = new Map<ServiceName, number>();
    for (const s of SERVICES) ports.set(s, await freePort());
    natsUrl = `tls://127.0.0.1:${port}`;
    const base = { NATS_URL: natsUrl, NODE_EXTRA_CA_CERTS: caFile, DATABASE_URL: database.url, JOURNAL_PARTITIONS: '4', AUTH_SIGNING_KEYS: identity.signingKeys };
    const extra: Partial<Record<ServiceName, Record<string, string>>> = {
      'asset-service': bucket,
      'ops-api': {
        SERVICE_URLS: SERVICES.filter((s) => s !== 'ops-api')
          .map((s) => `${s}=http://127.0.0.1:${ports.get(s)}`)
          .join(','),
      },
    };
    // journal-service first: it declares the streams the others use.
    for (const s of SERVICES) {
      const proc = await startServiceProcess(s, { ...base, ...extra[s], HTTP_PORT: String(ports.get(s)), NATS_CREDS_FILE: seedFiles.get(s)! });
      services.set(s, { proc, url: `http://127.0.0.1:${ports.get(s)}` });
    }
  });

  after(async () => {
    await identity?.close();
    await Promise.all([...services.values()].map((s) => s.proc.kill()));
    await database?.drop().catch(() => undefined);
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
  });

  it('starts every service ready (streams declared, consumers claimed) under its own user', async () => {
    for (const s of SERVICES) {
      const response = await fetch(`${url(s)}/readyz`);
      assert.equal(response.status, 200, `${s}: ${await response.text()}`);
    }
  });

  it('journals, merges, publishes and serves a device change; journal-service reads its history, ops-api the streams and the entry', async () => {
    const device = new FakeDevice('device-nats-users');
    const { headers } = await identity.device('default', device.deviceId);
    const event = device.upsert('annotation', 'a-1', { label: 'under permissions' });
    const pushed = await push(url('gateway'), [event], headers);
    assert.equal(pushed.status, 200, JSON.stringify(pushed.body));
    const operator = { authorization: `Bearer ${await identity.operatorToken('nats-users', ['ops'])}` };
    await eventually(
      async () => {
        const page = (await (await fetch(`${url('gateway')}/v1/changes?limit=100`, { headers })).json()) as { changes: { entity: { id: string } }[] };
        assert.ok(
          page.changes.some((c) => c.entity.id === 'a-1'),
          'the change is not pulled yet',
        );
        const merged = await fetch(`${url('ops-api')}/v1/streams`, { headers: operator });
        assert.equal(merged.status, 200);
        const streams = ((await merged.json()) as { streams: { name: string; messages: number }[] }).streams;
        assert.deepEqual(streams.map((s) => s.name).sort(), ['ASSETS', 'JOURNAL', 'MERGED', 'REVIEW']);
        assert.ok((streams.find((s) => s.name === 'MERGED')?.messages ?? 0) >= 1, 'merge-service has not published the change to MERGED');
      },
      { message: 'the change to be pulled back and published to MERGED' },
    );
    // journal-service reads an entity's history with an ordered consumer; ops-api reads single journal entries.
    const history = await fetch(`${url('journal-service')}/v1/history/annotation/a-1`, { headers: operator });
    assert.equal(history.status, 200, await history.clone().text());
    assert.equal(((await history.json()) as { events: unknown[] }).events.length, 1);
    const inspected = await fetch(`${url('ops-api')}/v1/events/${event.eventId}?workspace=default`, { headers: operator });
    assert.equal(inspected.status, 200, await inspected.text());
  });

  it('announces a revocation to the gateways (tm.notice.standing) and refuses the device at once', async () => {
    const device = new FakeDevice('device-revoked-under-users');
    const { headers } = await identity.device('default', device.deviceId);
    assert.equal((await push(url('gateway'), [device.upsert('annotation', 'r-1', { label: 'before' })], headers)).status, 200);
    const admin = { authorization: `Bearer ${await identity.operatorToken('nats-users-admin', ['admin'])}`, 'content-type': 'application/json' };
    const revoked = await fetch(`${url('gateway')}/v1/admin/workspaces/default/devices/${device.deviceId}/revoke`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ reason: 'permissions test' }),
    });
    assert.equal(revoked.status, 200, await revoked.text());
    assert.equal((await push(url('gateway'), [device.upsert('annotation', 'r-2', { label: 'after' })], headers)).status, 401);
  });

  it('takes TLS connections only, from clients that trust its CA', async () => {
    // This test process was not started with NODE_EXTRA_CA_CERTS: it does not trust the certificate.
    await assert.rejects(connect({ servers: natsUrl, reconnect: false }), /self[- ]signed|unable to (get|verify)|certificate/i);
    const plain = natsUrl.replace(/^tls:/, 'nats:');
    await assert.rejects(connect({ servers: plain, reconnect: false, tls: null }), /tls|TLS/);
  });

  it('logs no permissions or authorization violation on the server', () => {
    assert.doesNotMatch(
      serverLog,
      /(Publish|Subscription|Permissions|Authorization) Violation/i,
      serverLog
        .split('\n')
        .filter((l) => /Violation/i.test(l))
        .join('\n'),
    );
  });
});
