// NATS_CREDS_FILE holding a user NKey seed, against a real nats-server whose configuration lists the
// user's public key with subject permissions (the Kubernetes example's shape): the service connects and
// uses JetStream, a publish outside its permissions is refused, and a connection without the seed is not let in.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, nkeys, type NatsConnection } from '@nats-io/transport-node';
import { findFreePort } from '@tidemark/local-stack';
import { connectJetStream, credentialsAuthenticator, type JetStreamConnection } from './connection';

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connectTcp(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

describe('NATS_CREDS_FILE with a user NKey seed (server-config users)', () => {
  let dir: string;
  let server: ChildProcess;
  let url: string;
  let seedFile: string;
  let conn: JetStreamConnection | undefined;
  const user = nkeys.createUser();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tidemark-nkey-'));
    const port = await findFreePort();
    url = `nats://127.0.0.1:${port}`;
    seedFile = join(dir, 'service.nk');
    await writeFile(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`, { mode: 0o600 });
    await writeFile(
      join(dir, 'nats.conf'),
      [
        `listen: "127.0.0.1:${port}"`,
        `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }`,
        'authorization {',
        '  users: [',
        `    { nkey: ${user.getPublicKey()}, permissions: { publish: { allow: ["allowed.>", "$JS.API.>"] }, subscribe: { allow: ["_INBOX.>", "allowed.>"] } } }`,
        '  ]',
        '}',
        '',
      ].join('\n'),
    );
    server = spawn('nats-server', ['-c', join(dir, 'nats.conf')], { stdio: 'ignore' });
    const deadline = Date.now() + 20_000;
    while (!(await canConnect(port))) {
      assert.ok(server.exitCode === null, `nats-server exited with ${server.exitCode}`);
      assert.ok(Date.now() < deadline, 'nats-server did not listen within 20 s');
      await new Promise((r) => setTimeout(r, 25));
    }
  });

  after(async () => {
    await conn?.close();
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('tells a seed file from a JWT credentials file', () => {
    const seed = new TextEncoder().encode(`${new TextDecoder().decode(user.getSeed())}\n`);
    const auth = credentialsAuthenticator(seed)('nonce');
    assert.equal((auth as { nkey?: string }).nkey, user.getPublicKey());
    assert.throws(() => credentialsAuthenticator(new TextEncoder().encode('not credentials'))('nonce'), /unable to parse credentials/);
  });

  it('connects with the seed, uses JetStream and publishes where it may', async () => {
    conn = await connectJetStream({ servers: url, name: 'nkey-test', credsFile: seedFile });
    const account = await conn.jsm.getAccountInfo();
    assert.equal(typeof account.streams, 'number');
    const sub = conn.nc.subscribe('allowed.echo', { max: 1 });
    conn.nc.publish('allowed.echo', 'hello');
    for await (const m of sub) assert.equal(m.string(), 'hello');
  });

  it('is refused a publish outside its permissions', async () => {
    assert.ok(conn, 'the previous test connects');
    const refused = (async () => {
      for await (const s of conn!.nc.status()) if (s.type === 'error' && /Permissions Violation for Publish to "denied\.x"/i.test(String(s.error))) return true;
      return false;
    })();
    conn.nc.publish('denied.x', 'nope');
    assert.equal(await refused, true);
  });

  it('does not let in a connection without credentials', async () => {
    const anonymous: Promise<NatsConnection> = connect({ servers: url, reconnect: false });
    await assert.rejects(anonymous, /Authorization Violation/i);
  });
});
