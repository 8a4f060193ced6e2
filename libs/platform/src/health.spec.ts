import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { metricsRegistry } from '@tidemark/telemetry';
import { readiness, registerReadinessGauges, type ReadinessCheck, type ShutdownState } from './health';

const sample = async (name: string): Promise<string[]> => (await metricsRegistry.getSingleMetricAsString(name)).split('\n').filter((l) => l && !l.startsWith('#'));

describe('readiness on /readyz and /metrics', () => {
  let postgresUp = true;
  const checks: ReadinessCheck[] = [
    { name: 'nats', check: async () => undefined },
    {
      name: 'postgres',
      check: async () => {
        if (!postgresUp) throw new Error('connection refused');
      },
    },
  ];
  const state: ShutdownState = { shuttingDown: false };

  it('is ready while every check answers, names the failing check, and is not ready while shutting down', async () => {
    assert.deepEqual(await readiness(checks, state), {
      ok: true,
      status: 'ready',
      checks: [
        { name: 'nats', ok: true },
        { name: 'postgres', ok: true },
      ],
    });
    postgresUp = false;
    const down = await readiness(checks, state);
    assert.equal(down.status, 'not-ready');
    assert.deepEqual(down.checks[1], { name: 'postgres', ok: false, error: 'connection refused' });
    postgresUp = true;
    assert.equal((await readiness(checks, { shuttingDown: true })).status, 'shutting-down');
  });

  it('reports the same at scrape time: tidemark_ready and tidemark_readiness_check_up per check', async () => {
    postgresUp = true;
    registerReadinessGauges(checks, state);
    assert.deepEqual(await sample('tidemark_ready'), ['tidemark_ready 1']);
    assert.deepEqual(await sample('tidemark_readiness_check_up'), ['tidemark_readiness_check_up{check="nats"} 1', 'tidemark_readiness_check_up{check="postgres"} 1']);
    postgresUp = false;
    registerReadinessGauges(checks, state); // a new registration forgets the last second's answer
    assert.deepEqual(await sample('tidemark_ready'), ['tidemark_ready 0']);
    assert.deepEqual(await sample('tidemark_readiness_check_up'), ['tidemark_readiness_check_up{check="nats"} 1', 'tidemark_readiness_check_up{check="postgres"} 0']);
    postgresUp = true;
    state.shuttingDown = true;
    registerReadinessGauges(checks, state);
    assert.deepEqual(await sample('tidemark_ready'), ['tidemark_ready 0'], 'not ready while shutting down, though every check answers');
  });
});
