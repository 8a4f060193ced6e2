import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { FakeDevice, eventually, type ServiceName } from '@tidemark/testing';
import { startDedicatedStack, type DedicatedStack } from './support/dedicated-stack';
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
  let stack: DedicatedStack;
  before(async () => {
    stack = await startDedicatedStack('process-crash', SERVICES);
  });
  after(async () => {
    await stack?.close();
  });

  it('every accepted event is journaled once, applied once, and the projection equals a clean rebuild', async (t) => {
    const DEVICES = 6;
    const BATCH = 10;
    const { n } = stack;
    const devices = await Promise.all(
      Array.from({ length: DEVICES }, async (_, d) => ({ fake: new FakeDevice(`crash-dev-${d}`), headers: (await stack.identity.device('default', `crash-dev-${d}`, `site-${d % 2}`)).headers })),
    );
    let phase = 'nothing was down';
    const ingest = resendingDevices({
      gateway: stack.service('gateway').url,
      devices,
      batch: BATCH,
      events: (fake, d, b) => Array.from({ length: BATCH }, (_, i) => fake.event('annotation', `item-${(d * 7 + b * BATCH + i) % 40}`, 'upsert', { fields: { votes: { op: 'inc', by: 1 } } })),
      phase: () => phase,
    });

    const kills: { target: Target; inFlight: number; backlog: number | null }[] = [];
    const killAndRestart = async (target: Target) => {
      const before = ingest.accepted();
      await eventually(() => assert.ok(ingest.accepted() >= before + 3 * BATCH), { timeoutMs: 30_000, message: `the ingest flowing before ${target} is killed` });
      const backlog = target === 'merge-service' ? (await stack.journaled()) - (await n('SELECT count(*) AS n FROM event_receipts')) : null;
      kills.push({ target, inFlight: ingest.inFlight(), backlog });
      phase = `${target} was killed and restarted`;
      if (target === 'nats-server') {
        await stack.nats.kill();
        await delay(500);
        await stack.nats.restart();
      } else if (target === 'postgres') {
        await stack.killPostgres();
        await delay(500);
        await stack.restartPostgres();
      } else {
        await stack.service(target).kill();
        await delay(300);
        await stack.start(target);
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
    const refused = ingest.refused();
    assert.deepEqual([...new Set(refused)], [], `no push refused for anything but a dependency being down (${refused.length} refused)\n${stack.logs()}`);
    assert.ok(ingest.retries() > 0, 'the crashes were felt by the devices');
    assert.ok(kills.find((k) => k.target === 'gateway')!.inFlight > 0, `pushes in flight when the gateway was killed: ${JSON.stringify(kills)}`);
    // Every batch sent was answered (a loop moves on only after a 200), so what was answered is all there is.
    const total = ingest.accepted();
    assert.equal(total % BATCH, 0);
    t.diagnostic(
      `${total} events from ${DEVICES} devices, ${ingest.retries()} re-sent batches; at each kill: ${kills.map((k) => `${k.target} (${k.inFlight} pushes in flight${k.backlog === null ? '' : `, ${k.backlog} unprojected`})`).join(', ')}`,
    );
    await eventually(async () => assert.equal(await n('SELECT count(*) AS n FROM event_receipts'), total), { timeoutMs: 120_000, intervalMs: 250, message: 'every accepted event projected' });
    assert.equal(await stack.journaled(), total, 'one journal entry per event: no retry was journaled twice');
    assert.equal(await n("SELECT count(*) AS n FROM event_receipts WHERE status = 'applied'"), total, 'each event applied');
    assert.equal(await n('SELECT count(*) AS n FROM change_log'), total, 'one change per event');
    assert.equal(await n('SELECT count(*) AS n FROM (SELECT event_id FROM change_log GROUP BY event_id HAVING count(*) > 1) d'), 0, 'no event applied twice');
    assert.equal(await n("SELECT sum((view->'values'->>'votes')::int) AS n FROM entities"), total, 'every increment counted once');
    assert.equal(await n('SELECT count(*) AS n FROM parked_events'), 0);

    // The projection equals a clean rebuild from the journal.
    await assertRebuildEqualsLive(stack.env, stack.databaseUrl, await stack.postgres().createDatabase('rebuild'), total);
  });
});
