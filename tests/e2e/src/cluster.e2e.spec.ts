import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findFreePort, startNatsCluster, type NatsClusterHandle, type NatsServerHandle } from '@tidemark/local-stack';
import { STREAMS, connectJetStream, type JetStreamConnection } from '@tidemark/messaging';
import { createDataSource, projectionDigest } from '@tidemark/persistence';
import {
  FakeDevice,
  eventually,
  pushUntilAnswered,
  startServiceProcess,
  steadyIngest,
  tempDir,
  testDatabase,
  testIdentity,
  type ServiceName,
  type ServiceProcess,
  type SteadyIngest,
  type TestDatabase,
  type TestIdentity,
} from '@tidemark/testing';
import { Client } from 'pg';

const PARTITIONS = 4;
const DEVICES = 6;
const BATCH = 10;

/**
 * The production shape, scaled down onto loopback: a three-node JetStream cluster with the journal at R3, two
 * gateways (each device's client knows both, as behind a load balancer, and every service knows all three NATS
 * nodes) and two merge-service replicas sharing the partitions. Six devices push at a steady pace while the
 * node leading the journal stream is SIGKILLed, then one merge replica; both come back. Afterwards every
 * acknowledged event is in the journal once, applied once, counted once, and the projection equals a clean
 * rebuild.
 */
describe('scale-out: a three-node JetStream cluster (journal R3), two gateways, two merge replicas', () => {
  let dir: string;
  let cluster: NatsClusterHandle;
  let db: TestDatabase;
  let rebuildDb: TestDatabase | undefined;
  let identity: TestIdentity;
  let js: JetStreamConnection;
  let sql: Client;
  let env: Record<string, string>;
  const running = new Map<string, ServiceProcess>();
  /** Every process started, restarts included: their logs explain a failure. */
  const started: ServiceProcess[] = [];
  const ports = new Map<string, string>();
  let startup = '';

  /** Starts (or restarts on its port) a service under a name of its own, which is also its TIDEMARK_INSTANCE. */
  const start = async (instance: string, service: ServiceName) => {
    if (!ports.has(instance)) ports.set(instance, String(await findFreePort()));
    const proc = await startServiceProcess(service, { ...env, HTTP_PORT: ports.get(instance)!, TIDEMARK_INSTANCE: instance }, { readyTimeoutMs: 60_000 });
    running.set(instance, proc);
    started.push(proc);
    return proc;
  };
  const n = async (query: string, params: unknown[] = []) => Number((await sql.query<{ n: string }>(query, params)).rows[0]!.n);
  /** Which merge replica holds which partition: the advisory locks, named by the claims session's application_name. */
  const holders = async (): Promise<Record<string, number[]>> => {
    const rows = (
      await sql.query<{ holder: string; partition: number }>(
        "SELECT a.application_name AS holder, l.objid::int AS partition FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.classid = 29805 AND l.objsubid = 2 AND l.granted AND a.application_name LIKE 'tidemark-merge-claims %' ORDER BY 2",
      )
    ).rows;
    const by: Record<string, number[]> = {};
    for (const r of rows) (by[r.holder.replace('tidemark-merge-claims ', '')] ??= []).push(r.partition);
    return by;
  };
  const journalInfo = () => js.jsm.streams.info(STREAMS.journal);
  const logs = () =>
    started
      .map(
        (p) =>
          `--- ${p.name} (${p.pid}) ---\n${p
            .output()
            .split('\n')
            .filter((l) => l.includes('"level"'))
            .slice(-6)
            .join('\n')}`,
      )
      .join('\n');

  before(async () => {
    const t0 = Date.now();
    dir = await tempDir('cluster');
    cluster = await startNatsCluster({ dataDir: `${dir}/nats` });
    db = await testDatabase('cluster');
    identity = testIdentity(db.url);
    env = { NATS_URL: cluster.urls, JOURNAL_REPLICAS: '3', DATABASE_URL: db.url, JOURNAL_PARTITIONS: String(PARTITIONS), AUTH_SIGNING_KEYS: identity.signingKeys, LOG_LEVEL: 'warn' };
    await start('journal', 'journal-service'); // declares the topology: the journal at R3
    await Promise.all([start('merge-a', 'merge-service'), start('merge-b', 'merge-service'), start('gateway-1', 'gateway'), start('gateway-2', 'gateway')]);
    startup = `cluster and five services started in ${((Date.now() - t0) / 1000).toFixed(1)} s`;
    js = await connectJetStream({ servers: cluster.urls, name: 'cluster-test' });
    sql = new Client({ connectionString: db.url });
    await sql.connect();
  });
  after(async () => {
    await identity?.close();
    await Promise.all([...running.values()].map((s) => s.kill()));
    await js?.close();
    await sql?.end().catch(() => undefined);
    await cluster?.stop();
    await db?.drop();
    await rebuildDb?.drop();
  });

  it('kills the journal leader’s node and a merge replica under a steady ingest; every acknowledged event is applied exactly once and the projection equals a clean rebuild', async (t) => {
    const info = await journalInfo();
    assert.equal(info.config.num_replicas, 3, 'the journal is declared at R3');
    assert.equal(info.cluster?.replicas?.length, 2, `a leader and two followers: ${JSON.stringify(info.cluster)}`);
    // Started together, the replicas settle on two partitions each (one that counted itself alone hands the extra ones over).
    await eventually(
      async () =>
        assert.deepEqual(
          Object.values(await holders())
            .map((p) => p.length)
            .sort(),
          [2, 2],
        ),
      { timeoutMs: 30_000, intervalMs: 200, message: 'the two merge replicas share the partitions' },
    );

    const gateways = [running.get('gateway-1')!.url, running.get('gateway-2')!.url];
    let resent = 0;
    const ingests: SteadyIngest[] = await Promise.all(
      Array.from({ length: DEVICES }, async (_, d) => {
        const fake = new FakeDevice(`cluster-dev-${d}`);
        const { headers } = await identity.device('default', `cluster-dev-${d}`, `site-${d % 2}`);
        // Each device starts at its own gateway and moves to the other when one does not answer.
        const mine = d % 2 === 0 ? gateways : [...gateways].reverse();
        return steadyIngest(
          async (events) => {
            const answer = await pushUntilAnswered(mine, events, headers, { timeoutMs: 90_000 });
            resent += answer.resent;
          },
          (i) => fake.event('annotation', `item-${(d * 7 + i) % 40}`, 'upsert', { fields: { votes: { op: 'inc', by: 1 } } }),
          { batch: BATCH, everyMs: 150 },
        );
      }),
    );
    const accepted = () => ingests.reduce((sum, ingest) => sum + ingest.eventIds().length, 0);
    const applied = () => n('SELECT count(*) AS n FROM event_receipts');
    /** Both sides keep moving: more events accepted and more applied than when asked. */
    const flowing = async (what: string) => {
      const [a, p] = [accepted(), await applied()];
      await eventually(
        async () => {
          for (const ingest of ingests) ingest.check();
          assert.ok(accepted() >= a + 2 * DEVICES * BATCH && (await applied()) >= p + 2 * DEVICES * BATCH);
        },
        { timeoutMs: 60_000, intervalMs: 100, message: `the ingest and the projection flowing ${what}` },
      );
    };
    const phases: string[] = [];
    const t0 = Date.now();
    const mark = async (what: string) => phases.push(`${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s: ${accepted()} accepted, ${await applied()} applied`);

    try {
      await flowing('before anything is killed');
      await mark('before');

      // 1. The node that leads the journal stream dies: the other two elect a new leader, publishes resume.
      const leaderName = (await journalInfo()).cluster!.leader!;
      const leader: NatsServerHandle = cluster.node(leaderName);
      await leader.kill();
      await mark(`journal leader ${leaderName} killed`);
      await eventually(
        async () => {
          const now = (await journalInfo()).cluster;
          assert.ok(now?.leader && now.leader !== leaderName, `a new leader: ${JSON.stringify(now)}`);
        },
        { timeoutMs: 30_000, intervalMs: 200, message: 'a new journal leader elected' },
      );
      await flowing('with one NATS node down');
      await leader.restart();
      await eventually(
        async () => {
          const now = (await journalInfo()).cluster;
          const replicas = now?.replicas ?? [];
          assert.ok(replicas.length === 2 && replicas.every((r) => r.current && !r.offline), `every replica current: ${JSON.stringify(now)}`);
        },
        { timeoutMs: 60_000, intervalMs: 200, message: `${leaderName} rejoined and caught up` },
      );
      await mark(`${leaderName} restarted and current`);

      // 2. One merge replica dies: Postgres releases its claims and the other takes its partitions.
      const victim = 'merge-a';
      const survivor = 'merge-b';
      await running.get(victim)!.kill();
      await mark(`${victim} killed`);
      await eventually(async () => assert.deepEqual(await holders(), { [survivor]: [0, 1, 2, 3] }), { timeoutMs: 30_000, intervalMs: 200, message: `${survivor} took every partition of ${victim}` });
      await mark(`${survivor} holds every partition`);
      await flowing(`with ${survivor} alone`);
      await mark(`projecting with ${survivor} alone`);
      await start(victim, 'merge-service');
      await mark(`${victim} restarted`);
      await eventually(
        async () =>
          assert.deepEqual(
            Object.values(await holders())
              .map((p) => p.length)
              .sort(),
            [2, 2],
          ),
        { timeoutMs: 30_000, intervalMs: 200, message: `the restarted ${victim} takes its share back` },
      );
      await mark(`${victim} restarted, partitions shared again`);
      await flowing('after both restarts');
    } finally {
      // Stops after each device's batch under way has been answered (or its deadline passed).
      const stopped = await Promise.allSettled(ingests.map((ingest) => ingest.stop()));
      const failed = stopped.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) assert.fail(`a device's push failed: ${(failed.reason as Error).message}\n${logs()}`);
    }

    const ids = ingests.flatMap((ingest) => ingest.eventIds());
    const total = ids.length;
    t.diagnostic(`${startup}; ${total} events from ${DEVICES} devices over 2 gateways, ${resent} batches re-sent; ${phases.join('; ')}`);
    assert.equal(new Set(ids).size, total);
    await eventually(async () => assert.equal(await applied(), total), { timeoutMs: 120_000, intervalMs: 250, message: 'every acknowledged event projected' });
    assert.equal((await journalInfo()).state.messages, total, 'the journal holds each acknowledged event once: no retry was journaled twice');
    assert.equal(await n("SELECT count(*) AS n FROM event_receipts WHERE status = 'applied' AND event_id = ANY($1::uuid[])", [ids]), total, 'each acknowledged event has its one applied receipt');
    assert.equal(await n('SELECT count(*) AS n FROM change_log'), total, 'one change per event');
    assert.equal(await n('SELECT count(*) AS n FROM (SELECT event_id FROM change_log GROUP BY event_id HAVING count(*) > 1) d'), 0, 'no event applied twice');
    assert.equal(await n("SELECT sum((view->'values'->>'votes')::int) AS n FROM entities"), total, 'every increment counted once');
    assert.equal(await n('SELECT count(*) AS n FROM parked_events'), 0, 'nothing parked');

    // The projection equals a clean rebuild from the R3 journal.
    rebuildDb = await testDatabase('cluster_rebuild');
    const rebuild = await startServiceProcess(
      'merge-service',
      { ...env, DATABASE_URL: rebuildDb.url, HTTP_PORT: String(await findFreePort()), MERGE_CONSUMER_PREFIX: 'rebuild', OUTBOX_ENABLED: 'false', TIDEMARK_INSTANCE: 'rebuild' },
      { readyTimeoutMs: 60_000 },
    );
    const live = createDataSource({ url: db.url });
    const rebuilt = createDataSource({ url: rebuildDb.url });
    await Promise.all([live.initialize(), rebuilt.initialize()]);
    try {
      await eventually(async () => assert.equal(Number((await rebuilt.query('SELECT count(*) AS n FROM event_receipts'))[0].n), total), {
        timeoutMs: 120_000,
        intervalMs: 250,
        message: 'the rebuild projected every event',
      });
      const [a, b] = [await projectionDigest(live), await projectionDigest(rebuilt)];
      assert.deepEqual(b.tables, a.tables);
    } finally {
      await rebuild.kill();
      await Promise.all([live.destroy(), rebuilt.destroy()]);
    }
  });
});
