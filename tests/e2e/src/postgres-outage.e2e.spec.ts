import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { FakeDevice, eventually, getJson, type ServiceName } from '@tidemark/testing';
import { startDedicatedStack, type DedicatedStack } from './support/dedicated-stack';
import { assertRebuildEqualsLive } from './support/rebuild';
import { resendingDevices } from './support/resending-devices';

const SERVICES = ['journal-service', 'merge-service', 'gateway'] as const satisfies readonly ServiceName[];
/**
 * Outage lengths in seconds: 3, 6 and 9 in `npm test`, up to a minute in the soak (`npm run soak:outage`,
 * TIDEMARK_SOAK=1); `TIDEMARK_OUTAGE_SWEEP=6,9` runs others.
 */
const SWEEP = (process.env.TIDEMARK_OUTAGE_SWEEP ?? (process.env.TIDEMARK_SOAK === '1' ? '3,6,9,15,60' : '3,6,9')).split(',').map(Number);

/**
 * A Postgres outage is waited out, never parked. Several devices push without pause while Postgres is
 * SIGKILLed and started again after each outage length of a sweep: an outage that ends while a message is
 * in its own retries is the case that once parked acknowledged events, and it shows at some lengths and
 * not others, so one long outage does not test it. Afterwards every accepted event has an `applied`
 * receipt, nothing is parked, every increment counts once, and the projection equals a clean rebuild.
 */
describe('Postgres stopped under a steady multi-device ingest, for a sweep of outage lengths', () => {
  let stack: DedicatedStack;
  before(async () => {
    stack = await startDedicatedStack('postgres-outage', SERVICES);
  });
  after(async () => {
    await stack?.close();
  });

  it('waits every outage out: each accepted event applied once, nothing parked, equal to a clean rebuild', async (t) => {
    const DEVICES = 4;
    const BATCH = 10;
    const { n } = stack;
    const devices = await Promise.all(
      Array.from({ length: DEVICES }, async (_, d) => ({ fake: new FakeDevice(`outage-dev-${d}`), headers: (await stack.identity.device('default', `outage-dev-${d}`, `site-${d % 2}`)).headers })),
    );
    let phase = 'Postgres was up';
    const ingest = resendingDevices({
      gateway: stack.service('gateway').url,
      devices,
      batch: BATCH,
      events: (fake, d, b) => Array.from({ length: BATCH }, (_, i) => fake.event('annotation', `item-${(d * 11 + b * BATCH + i) % 60}`, 'upsert', { fields: { votes: { op: 'inc', by: 1 } } })),
      phase: () => phase,
    });
    const merge = stack.service('merge-service');
    const outages: { seconds: number; backlog: number; waited: boolean; readinessSaidWaiting: boolean }[] = [];
    const waitsLogged = () => merge.output().split('dependency unavailable; waiting it out').length - 1;
    try {
      for (const seconds of SWEEP) {
        const before = ingest.accepted();
        await eventually(() => assert.ok(ingest.accepted() >= before + 3 * BATCH), { timeoutMs: 60_000, message: `the ingest flowing before the ${seconds} s outage` }).catch((error: unknown) => {
          throw new Error(`${(error as Error).message}; refused: ${ingest.refused().slice(-3).join(' | ')}; timed out: ${ingest.timedOut()}\n${stack.logs(30)}`, { cause: error });
        });
        // Events journaled and not yet projected when Postgres goes: usually the merge-service has work in hand
        // (whether it had is read from its log below).
        const journaled = await stack.journaled();
        const backlog = journaled - (await n('SELECT count(*) AS n FROM event_receipts'));
        const waitsBefore = waitsLogged();
        phase = `a ${seconds} s Postgres outage`;
        await stack.killPostgres();
        const ends = Date.now() + seconds * 1000;
        // The outage's length is the point here: readiness is watched meanwhile.
        let readinessSaidWaiting = false;
        while (Date.now() < ends) {
          const ready = await getJson<{ checks?: { name: string; ok: boolean; error?: string }[] }>(`${merge.url}/readyz`).catch(() => undefined);
          const checks = ready?.checks ?? [];
          if (checks.some((c) => c.name === 'partitions' && !c.ok && /waiting for a dependency/.test(c.error ?? ''))) readinessSaidWaiting = true;
          await delay(Math.min(100, Math.max(0, ends - Date.now())));
        }
        await stack.restartPostgres();
        phase = `Postgres restarted after a ${seconds} s outage`;
        // Whether a partition held a batch through this outage (merge-service logs the start of each wait).
        const waited = waitsLogged() > waitsBefore;
        outages.push({ seconds, backlog, waited, readinessSaidWaiting });
        // Caught up again, with nothing parked: the outage was waited out. A loaded machine projects slowly, so
        // what fails is a stall (no receipt for a minute), not slowness (bounded at five minutes all told).
        await projectedWithoutStall(() => n('SELECT count(*) AS n FROM event_receipts'), journaled, { stallMs: 60_000, capMs: 300_000 }).catch(async (error: unknown) => {
          const readiness = await fetch(`${merge.url}/readyz`).then(
            (r) => r.text(),
            (e: unknown) => `no answer: ${(e as Error).message}`,
          );
          throw new Error(`the backlog of the ${seconds} s outage: ${(error as Error).message}\nmerge-service /readyz: ${readiness}\n${stack.logs(40)}`, { cause: error });
        });
        assert.equal(await n('SELECT count(*) AS n FROM parked_events'), 0, `nothing parked by the ${seconds} s outage`);
        // A partition holding a batch through the outage says so on /readyz. (Events journaled but not yet
        // projected when Postgres stops may still be committed a moment before it goes: then nothing waits.)
        if (waited && seconds >= 6) assert.ok(readinessSaidWaiting, `merge-service readiness named the partitions waiting through the ${seconds} s outage`);
      }
      const before = ingest.accepted();
      await eventually(() => assert.ok(ingest.accepted() >= before + 3 * BATCH), { timeoutMs: 60_000, message: 'the ingest flowing after the last outage' });
      await ingest.stop();
    } catch (error) {
      await ingest.stop({ abandon: true });
      throw error;
    }
    const refused = ingest.refused();
    assert.deepEqual([...new Set(refused)], [], `no push refused for anything but Postgres being down (${refused.length} refused)`);
    const total = ingest.accepted();
    assert.ok(
      outages.some((o) => o.waited),
      'a batch was in hand through at least one outage and waited it out',
    );
    t.diagnostic(
      `${total} events from ${DEVICES} devices, ${ingest.retries()} re-sent batches (${ingest.timedOut()} after no answer in 10 s); outages: ${outages.map((o) => `${o.seconds} s (${o.backlog} unprojected at the stop, ${o.waited ? 'a batch waited it out' : 'no batch in hand'}, readiness ${o.readinessSaidWaiting ? 'named waiting partitions' : 'did not name any'})`).join(', ')}`,
    );
    await eventually(async () => assert.equal(await n('SELECT count(*) AS n FROM event_receipts'), total), { timeoutMs: 120_000, intervalMs: 250, message: 'every accepted event projected' });
    assert.equal(await stack.journaled(), total, 'one journal entry per event');
    assert.equal(await n("SELECT count(*) AS n FROM event_receipts WHERE status = 'applied'"), total, 'each event applied (none parked)');
    assert.equal(await n('SELECT count(*) AS n FROM parked_events'), 0, 'nothing parked');
    assert.equal(await n('SELECT count(*) AS n FROM change_log'), total, 'one change per event');
    assert.equal(await n("SELECT sum((view->'values'->>'votes')::int) AS n FROM entities"), total, 'every increment counted once');
    await assertRebuildEqualsLive(stack.env, stack.databaseUrl, await stack.postgres().createDatabase('rebuild'), total);
  });
});

/**
 * Waits until `count()` reaches `target`, failing when it has not grown for `stallMs` (a stall) or the whole
 * wait passed `capMs`.
 */
async function projectedWithoutStall(count: () => Promise<number>, target: number, { stallMs, capMs }: { stallMs: number; capMs: number }): Promise<void> {
  const started = Date.now();
  let last = await count();
  let grewAt = Date.now();
  while (last < target) {
    await delay(250);
    const now = await count();
    if (now > last) grewAt = Date.now();
    last = now;
    if (last >= target) return;
    if (Date.now() - grewAt > stallMs) throw new Error(`stalled: ${last} of ${target} projected, none for ${stallMs} ms`);
    if (Date.now() - started > capMs) throw new Error(`${last} of ${target} projected after ${capMs} ms (still progressing)`);
  }
}
