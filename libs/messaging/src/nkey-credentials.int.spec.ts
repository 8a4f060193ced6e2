// NATS_CREDS_FILE holding a user NKey seed, against a real nats-server whose configuration lists the
// user's public key with subject permissions (the Kubernetes example's shape): the service connects and
// uses JetStream, a publish outside its permissions is refused, and a connection without the seed is not let in.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, nkeys, type NatsConnection } from '@nats-io/transport-node';
import { findFreePort } from '@tidemark/local-stack';
import { connectJetStream, credentialsAuthenticator, type JetStreamConnection } from './connection';

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
    server = spawn('nats-server', ['-c', join(dir, 'nats.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    // nats-server logs "Server is ready" once it accepts clients: wait for that line, or its exit, for at most 20 s.
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`nats-server did not say it was ready within 20 s:\n${log}`)), 20_000);
      server.stderr!.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('Server is ready')) {
          clearTimeout(deadline);
          resolve();
        }
      });
      server.once('exit', (code) => {
        clearTimeout(deadline);
        reject(new Error(`nats-server exited with ${code}:\n${log}`));
      });
    });
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
