import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { startNats, startNatsCluster } from './index';
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

  it('runs a three-node JetStream cluster whose R3 stream survives its leader being killed and rejoins it', async () => {
    const cluster = await startNatsCluster({ dataDir: join(dir, 'cluster') });
    let nc = await connect({ servers: cluster.urls.split(',') });
    try {
      assert.equal(cluster.nodes.length, 3);
      assert.deepEqual(
        cluster.nodes.map((n) => n.serverName),
        ['n1', 'n2', 'n3'],
      );
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'EVENTS', subjects: ['events.>'], storage: StorageType.File, num_replicas: 3 });
      const js = jetstream(nc);
      await js.publish('events.a', 'one', { msgID: 'id-1' });
      const info = await jsm.streams.info('EVENTS');
      assert.equal(info.cluster?.replicas?.length, 2, 'two followers besides the leader');
      const leader = cluster.node(info.cluster!.leader!);
      await leader.kill();
      // A new leader is elected among the two that are left; publishing works again (retried until then).
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          const ack = await js.publish('events.b', 'two', { msgID: 'id-2', timeout: 2_000 });
          assert.equal(ack.seq, 2);
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
        }
      }
      const after = await jsm.streams.info('EVENTS');
      assert.notEqual(after.cluster?.leader, leader.serverName);
      await leader.restart();
      await nc.close();
      // The restarted node catches up: connected to it alone, a direct read of its replica sees both messages.
      nc = await connect({ servers: leader.url });
      const again = await jetstreamManager(nc);
      const deadline2 = Date.now() + 30_000;
      for (;;) {
        const state = await again.streams.info('EVENTS');
        const replica = state.cluster?.replicas?.find((r) => r.name === leader.serverName);
        if (state.state.messages === 2 && (state.cluster?.leader === leader.serverName || replica?.current === true)) break;
        if (Date.now() > deadline2) assert.fail(`the restarted node did not catch up: ${JSON.stringify(state.cluster)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await nc.close();
      await cluster.stop();
    }
    assert.deepEqual(processesMentioning(join(dir, 'cluster')), []);
  });
});
