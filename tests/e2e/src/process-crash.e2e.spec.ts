import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { findFreePort, startNats, startPostgres, type NatsServerHandle, type PostgresHandle } from '@tidemark/local-stack';
import { STREAMS, connectJetStream, type JetStreamConnection } from '@tidemark/messaging';
import { FakeDevice, eventually, startServiceProcess, tempDir, testIdentity, type ServiceName, type ServiceProcess, type TestIdentity } from '@tidemark/testing';
import { Client } from 'pg';
import { assertRebuildEqualsLive } from './support/rebuild';
import { resendingDevices } from './support/resending-devices';

const SERVICES = ['journal-service', 'merge-service', 'gateway'] as const satisfies readonly ServiceName[];
type Target = (typeof SERVICES)[number] | 'nats-server' | 'postgres';

/**
 * Nothing lost, nothing doubled, whichever one process crashes. Six devices push without pause while each
 * process of the pipeline in turn — merge-service, gateway, journal-service, nats-server, Postgres — is
 * SIGKILLed mid-work and started again on its data. The devices retry as the SDK does (the same events,
 * the same ids) until the gateway accepts them. Afterwards every event is in the journal once, has one
 * receipt and one change, every increment counts once, and the projection equals a clean rebuild.
 */
describe('a SIGKILL of any one process under a steady multi-device ingest', () => {
  let dir: string;
  let nats: NatsServerHandle;
  let postgres: PostgresHandle;
  let pgPort: number;
  let databaseUrl: string;
  let identity: TestIdentity;
  let js: JetStreamConnection;
  let db: Client | undefined;
  const services = new Map<string, ServiceProcess>();
  /** Every process started, restarts included: their logs explain a failure. */
  const started: ServiceProcess[] = [];
  const ports = new Map<string, string>();
  let env: Record<string, string>;

  const start = async (name: (typeof SERVICES)[number], extra: Record<string, string> = {}) => {
    if (!ports.has(name)) ports.set(name, String(await findFreePort()));
    const proc = await startServiceProcess(name, { ...env, HTTP_PORT: ports.get(name)!, ...extra });
    services.set(name, proc);
    started.push(proc);
    return proc;
  };
  const query = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
    db ??= await (async () => {
      const c = new Client({ connectionString: databaseUrl });
      c.on('error', () => undefined);
      await c.connect();
      return c;
    })();
    try {
      return (await db.query(sql, params)).rows as T[];
    } catch (error) {
      await db.end().catch(() => undefined);
      db = undefined;
      throw error;
    }
  };
  const n = async (sql: string) => Number((await query<{ n: string }>(sql))[0]!.n);

  before(async () => {
    dir = await tempDir('process-crash');
    nats = await startNats({ dataDir: `${dir}/nats` });
    postgres = await startPostgres({ dataDir: `${dir}/postgres` });
    pgPort = postgres.port;
    databaseUrl = await postgres.createDatabase('tidemark');
    identity = testIdentity(databaseUrl);
    env = { NATS_URL: nats.url, DATABASE_URL: databaseUrl, JOURNAL_PARTITIONS: '4', AUTH_SIGNING_KEYS: identity.signingKeys, LOG_LEVEL: 'warn' };
    for (const name of SERVICES) await start(name);
    js = await connectJetStream({ servers: nats.url, name: 'process-crash-test' });
  });
  after(async () => {
    await identity?.close();
    await Promise.all([...services.values()].map((s) => s.kill()));
    await js?.close();
    await db?.end().catch(() => undefined);
    await nats?.stop();
    await postgres?.stop();
  });

  it('every accepted event is journaled once, applied once, and the projection equals a clean rebuild', async (t) => {
    const DEVICES = 6;
    const BATCH = 10;
    const devices = await Promise.all(Array.from({ length: DEVICES }, async (_, d) => ({ fake: new FakeDevice(`crash-dev-${d}`), headers: (await identity.device('default', `crash-dev-${d}`, `site-${d % 2}`)).headers })));
    let phase = 'nothing was down';
    const ingest = resendingDevices({
      gateway: `http://127.0.0.1:${ports.get('gateway')}`,
      devices,
      batch: BATCH,
      events: (fake, d, b) => Array.from({ length: BATCH }, (_, i) => fake.event('annotation', `item-${(d * 7 + b * BATCH + i) % 40}`, 'upsert', { fields: { votes: { op: 'inc', by: 1 } } })),
      phase: () => phase,
    });

    const kills: { target: Target; inFlight: number; backlog: number | null }[] = [];
    const killAndRestart = async (target: Target) => {
      const before = ingest.accepted();
      await eventually(() => assert.ok(ingest.accepted() >= before + 3 * BATCH), { timeoutMs: 30_000, message: `the ingest flowing before ${target} is killed` });
      const backlog = target === 'merge-service' ? (await js.jsm.streams.info(STREAMS.journal)).state.messages - (await n('SELECT count(*) AS n FROM event_receipts')) : null;
      kills.push({ target, inFlight: ingest.inFlight(), backlog });
      phase = `${target} was killed and restarted`;
      if (target === 'nats-server') {
        await nats.kill();
        await delay(500);
        await nats.restart();
      } else if (target === 'postgres') {
        await postgres.kill();
        await db?.end().catch(() => undefined);
        db = undefined;
        await delay(500);
        postgres = await startPostgres({ dataDir: `${dir}/postgres`, port: pgPort });
      } else {
        await services.get(target)!.kill();
        await delay(300);
        await start(target);
      }
    };

    try {
      for (const target of ['merge-service', 'gateway', 'journal-service', 'nats-server', 'postgres'] as const) await killAndRestart(target);
      const before = ingest.accepted();
      await eventually(() => assert.ok(ingest.accepted() >= before + 3 * BATCH), { timeoutMs: 60_000, message: 'the ingest flowing after the last restart' });
      await ingest.stop();
    } catch (error) {
      await ingest.stop({ abandon: true });
      throw error;
    }
    const logs = () => started.map((p) => `--- ${p.name} (${p.pid}) ---\n${p.output().split('\n').filter((l) => l.includes('"level"')).slice(-8).join('\n')}`).join('\n');
    const refused = ingest.refused();
    assert.deepEqual([...new Set(refused)], [], `no push refused for anything but a dependency being down (${refused.length} refused)\n${logs()}`);
    assert.ok(ingest.retries() > 0, 'the crashes were felt by the devices');
    assert.ok(kills.find((k) => k.target === 'gateway')!.inFlight > 0, `pushes in flight when the gateway was killed: ${JSON.stringify(kills)}`);
    // Every batch sent was answered (a loop moves on only after a 200), so what was answered is all there is.
    const total = ingest.accepted();
    assert.equal(total % BATCH, 0);
    t.diagnostic(`${total} events from ${DEVICES} devices, ${ingest.retries()} re-sent batches; at each kill: ${kills.map((k) => `${k.target} (${k.inFlight} pushes in flight${k.backlog === null ? '' : `, ${k.backlog} unprojected`})`).join(', ')}`);
    await eventually(async () => assert.equal(await n('SELECT count(*) AS n FROM event_receipts'), total), { timeoutMs: 120_000, intervalMs: 250, message: 'every accepted event projected' });
    assert.equal((await js.jsm.streams.info(STREAMS.journal)).state.messages, total, 'one journal entry per event: no retry was journaled twice');
    assert.equal(await n("SELECT count(*) AS n FROM event_receipts WHERE status = 'applied'"), total, 'each event applied');
    assert.equal(await n('SELECT count(*) AS n FROM change_log'), total, 'one change per event');
    assert.equal(await n('SELECT count(*) AS n FROM (SELECT event_id FROM change_log GROUP BY event_id HAVING count(*) > 1) d'), 0, 'no event applied twice');
    assert.equal(await n("SELECT sum((view->'values'->>'votes')::int) AS n FROM entities"), total, 'every increment counted once');
    assert.equal(await n('SELECT count(*) AS n FROM parked_events'), 0);

    // The projection equals a clean rebuild from the journal.
    await assertRebuildEqualsLive(env, databaseUrl, await postgres.createDatabase('rebuild'), total);
  });
});
