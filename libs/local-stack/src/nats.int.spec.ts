import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { startNats } from './index';
import { isAlive } from './internal/groups';
import { processesMentioning } from './internal/ps';

describe('startNats', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tidemark-local-stack-nats-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs JetStream with file storage that survives a SIGKILL and restart', async () => {
    const dataDir = join(dir, 'journal');
    const server = await startNats({ dataDir });
    try {
      assert.match(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(server.version.length > 0);

      let nc = await connect({ servers: server.url });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'EVENTS', subjects: ['events.>'], storage: StorageType.File });
      const js = jetstream(nc);
      for (let i = 1; i <= 3; i++) {
        const ack = await js.publish(`events.e${i}`, `payload-${i}`, { msgID: `id-${i}` });
        assert.equal(ack.seq, i);
        assert.equal(ack.duplicate, false);
      }
      await nc.close();

      const killedPid = server.pid;
      await server.kill();
      assert.equal(isAlive(killedPid), false);
      await server.restart();
      assert.notEqual(server.pid, killedPid);

      nc = await connect({ servers: server.url });
      try {
        const info = await (await jetstreamManager(nc)).streams.info('EVENTS');
        assert.equal(info.state.messages, 3);
        const second = await (await jetstreamManager(nc)).streams.getMessage('EVENTS', { seq: 2 });
        assert.equal(second?.string(), 'payload-2');
        assert.equal(second?.subject, 'events.e2');
      } finally {
        await nc.close();
      }
    } finally {
      await server.stop();
    }
    assert.deepEqual(processesMentioning(dataDir), []);
  });

  it('refuses a second server on a data directory in use', async () => {
    const dataDir = join(dir, 'shared');
    const server = await startNats({ dataDir });
    try {
      await assert.rejects(startNats({ dataDir }), /in use/);
    } finally {
      await server.stop();
    }
    const again = await startNats({ dataDir });
    await again.stop();
    assert.deepEqual(processesMentioning(dataDir), []);
  });

  it('uses sync_interval: always only where the server supports it', async () => {
    const server = await startNats({ dataDir: join(dir, 'sync'), syncAlways: true });
    try {
      const [major = 0, minor = 0] = server.version.split('.').map(Number);
      assert.equal(server.syncAlways, major > 2 || (major === 2 && minor >= 10));
    } finally {
      await server.stop();
    }
  });

  it('reports a server that cannot start, with its log', async () => {
    const blocker = await startNats({ dataDir: join(dir, 'blocker') });
    try {
      await assert.rejects(startNats({ dataDir: join(dir, 'clash'), port: blocker.port, startTimeoutMs: 5_000 }), (error: Error) => {
        assert.match(error.message, /nats-server did not start/);
        assert.match(error.message, /last lines of nats-server log/);
        return true;
      });
    } finally {
      await blocker.stop();
    }
  });
});
