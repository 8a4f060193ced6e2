import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OpsClient } from './client';
import type { ReplayJobView } from '@tidemark/contracts';
import { replayJob } from './testing/replay-job';
import { barPayload, followReplay, isPlanOnlyDone, isPlanned, isSettled, isUnsuccessful, phaseLine } from './watch';

const job = (status: ReplayJobView['status'], done: number, total: number | null, rate: number | null = null): ReplayJobView =>
  replayJob({
    id: 'r1',
    status,
    plan: { scanned: { events: 7, lastSeq: 7, toSeq: null }, rebuildEvents: total },
    progress: {
      eventsDone: done,
      eventsTotal: total,
      percent: total ? Math.floor((done / total) * 1000) / 10 : 0,
      eventsPerSecond: rate,
      etaSeconds: rate && total ? Math.ceil((total - done) / rate) : null,
    },
  });

/** A client whose GETs answer the given jobs in turn (the last one again when they run out). */
function scripted(jobs: ReplayJobView[]): { client: OpsClient; gets: () => number } {
  let gets = 0;
  const client = new OpsClient({
    baseUrl: 'http://ops',
    timeoutMs: 1000,
    fetch: async () => {
      gets += 1;
      return new Response(JSON.stringify(jobs.length > 1 ? jobs.shift() : jobs[0]));
    },
  });
  return { client, gets: () => gets };
}

describe('following a replay', () => {
  it('settled and planned states', () => {
    assert.deepEqual(
      ['queued', 'planning', 'building', 'diffing', 'built', 'swapped', 'cancelled', 'failed', 'stale'].map((s) => isSettled(job(s as ReplayJobView['status'], 0, null))),
      [false, false, false, false, true, true, true, true, true],
    );
    assert.deepEqual(
      ['queued', 'planning', 'building'].map((s) => isPlanned(job(s as ReplayJobView['status'], 0, null))),
      [false, false, true],
    );
  });

  it('a plan-only replay the worker ended with its plan is a result; cancelled before its plan, or any other cancel, is not', () => {
    const estimate = { seconds: 1, eventsPerSecond: 2000, basis: 'rate-limit' } as const;
    const planOnlyDone = replayJob({ status: 'cancelled', planOnly: true, plan: { estimate } });
    const cancelledEarly = replayJob({ status: 'cancelled', planOnly: true });
    const cancelledFull = replayJob({ status: 'cancelled', plan: { estimate } });
    assert.deepEqual([planOnlyDone, cancelledEarly, cancelledFull].map(isPlanOnlyDone), [true, false, false]);
    assert.deepEqual([planOnlyDone, cancelledEarly, cancelledFull, replayJob({ status: 'failed' }), replayJob({ status: 'built' })].map(isUnsuccessful), [false, true, true, true, false]);
  });

  it('the bar shows scanned events while planning, then done/total events, rate and ETA', () => {
    assert.deepEqual(barPayload(job('planning', 0, null)), { phase: 'planning', pct: 0, events: '7 scanned', speed: '-', left: '-' });
    assert.deepEqual(barPayload(job('building', 250, 1000, 50)), { phase: 'building', pct: 25, events: '250/1000 events', speed: '50/s', left: '15s' });
    assert.equal(phaseLine(job('building', 250, 1000, 50)), 'building: 25% (250/1000 events), 50/s, ETA 15s');
  });

  it('polls until the condition holds, sleeping the interval between reads', async () => {
    const { client, gets } = scripted([job('queued', 0, null), job('building', 5, 10, 5), job('built', 10, 10)]);
    const slept: number[] = [];
    const lines: string[] = [];
    const last = await followReplay(client, 'r1', { until: isSettled, intervalMs: 250, sleep: async (ms) => void slept.push(ms), log: (l) => lines.push(l) });
    assert.equal(last.status, 'built');
    assert.equal(gets(), 3);
    assert.deepEqual(slept, [250, 250]);
    assert.deepEqual(lines, ['queued: 0% (7 scanned)', 'building: 50% (5/10 events), 5/s, ETA 1s', 'built: 100% (10/10 events)']);
  });

  it('draws a progress bar on a terminal, ending at 100%', async () => {
    const { client } = scripted([job('building', 3, 10, 3), job('building', 7, 10, 3), job('built', 10, 10)]);
    let drawn = '';
    const terminal = { isTTY: true, columns: 120, write: (s: string) => ((drawn += s), true) };
    const last = await followReplay(client, 'r1', { until: isSettled, intervalMs: 10, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)), bar: terminal });
    assert.equal(last.status, 'built');
    // The bar is redrawn in place (cursor moves), so the last frame is what remains on screen.
    const ESC = '\u001b';
    const frames = drawn
      .split(`${ESC}[1G`)
      .slice(1)
      .map((f) => f.split(`${ESC}[0K`)[0]);
    assert.equal(frames[0], `building [${'█'.repeat(9)}${'░'.repeat(21)}] 30% | 3/10 events | 3/s | ETA 3s`);
    assert.equal(frames.at(-1), `built    [${'█'.repeat(30)}] 100% | 10/10 events | - | ETA -`);
    assert.ok(!drawn.includes(`${ESC}[?7l`), 'line wrapping is left as it was (nothing to restore after Ctrl-C)');
    assert.ok(drawn.endsWith('\n'), 'the finished bar stays, the cursor on the next line');
  });
});
