import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assessQueues, queueRule, queueSeries, queueTotals, type QueueStateFacts } from './queues';

const NOW = Date.parse('2026-11-25T12:00:00.000Z');
const ago = (seconds: number): string => new Date(NOW - seconds * 1000).toISOString();
const POLICY = { waitThresholdSeconds: 600 };

const facts = (queue: string | null, state: QueueStateFacts['state'], jobs: number, oldestSecondsAgo: number | null, parts: Partial<QueueStateFacts> = {}): QueueStateFacts => ({
  workspace: 'ws',
  queue,
  state,
  jobs,
  retries: 0,
  oldestSince: oldestSecondsAgo === null ? null : ago(oldestSecondsAgo),
  ...parts,
});

describe('assessQueues: per-queue figures and who falls behind', () => {
  it('given jobs of one queue in every state, then it counts each state, the retries, repairs and the oldest queued age', () => {
    const [q] = assessQueues(
      [facts('gpu', 'queued', 3, 120), facts('gpu', 'running', 2, 30, { retries: 1 }), facts('gpu', 'retrying', 1, 10, { retries: 2 }), facts('gpu', 'failed', 4, 5000, { retries: 4 })],
      [{ workspace: 'ws', queue: 'gpu', open: 2 }],
      NOW,
      POLICY,
    );
    assert.deepEqual(q, {
      workspace: 'ws',
      queue: 'gpu',
      queued: 3,
      running: 2,
      retrying: 1,
      failed: 4,
      retries: 7,
      repairsOpen: 2,
      oldestQueuedAt: ago(120),
      oldestQueuedSeconds: 120,
      fallingBehind: false,
      reasons: [],
    });
  });

  it('given a queued job older than the threshold, then the queue falls behind with reason "waiting"; old failures alone do not make it', () => {
    const queues = assessQueues([facts('asr', 'queued', 1, 601), facts('embed', 'failed', 9, 90_000), facts('embed', 'queued', 5, 599)], [], NOW, POLICY);
    assert.deepEqual(
      queues.map((q) => [q.queue, q.fallingBehind, q.reasons.map((r) => r.code)]),
      [
        ['asr', true, ['waiting']],
        ['embed', false, []],
      ],
    );
    assert.match(queues[0]!.reasons[0]!.detail, /waited 601 s \(more than 600 s\)/);
  });

  it('given a job stamped by a clock ahead of ours, then its age is 0, not negative', () => {
    const [q] = assessQueues([facts('gpu', 'queued', 1, -30)], [], NOW, POLICY);
    assert.equal(q!.oldestQueuedSeconds, 0);
  });

  it('given a queue with nothing queued, then it has no oldest queued age and does not fall behind', () => {
    const [q] = assessQueues([facts('gpu', 'running', 1, 9999)], [], NOW, POLICY);
    assert.deepEqual([q!.oldestQueuedAt, q!.oldestQueuedSeconds, q!.fallingBehind], [null, null, false]);
  });

  it('sorts falling behind first, then longest waiting, then workspace and queue, with the unnamed queue last', () => {
    const queues = assessQueues(
      [facts(null, 'queued', 1, 50), facts('b', 'queued', 1, 50), facts('a', 'queued', 1, 50), facts('slow', 'queued', 1, 700), facts('old', 'queued', 1, 400), facts('idle', 'failed', 1, null)],
      [{ workspace: 'ws', queue: 'repaired', open: 1 }],
      NOW,
      POLICY,
    );
    assert.deepEqual(
      queues.map((q) => q.queue),
      ['slow', 'old', 'a', 'b', null, 'idle', 'repaired'],
    );
  });

  it('totals add the counts, count queues falling behind, and keep the largest oldest age', () => {
    const queues = assessQueues([facts('a', 'queued', 2, 700), facts('b', 'queued', 3, 100), facts('b', 'failed', 1, null, { retries: 2 })], [], NOW, POLICY);
    assert.deepEqual(queueTotals(queues), { queues: 2, fallingBehind: 1, queued: 5, running: 0, retrying: 0, failed: 1, retries: 2, repairsOpen: 0, oldestQueuedSeconds: 700 });
    assert.match(queueRule(POLICY), /more than 600 s/);
  });
});

describe('queueSeries: bounded label values for the queue gauges', () => {
  const labels = { other: '_other', none: '_none' };

  it('given fewer queues than the bound, then each keeps its series and the unnamed queue is labelled none', () => {
    const series = queueSeries(assessQueues([facts(null, 'queued', 1, 10), facts('gpu', 'queued', 2, 10)], [], NOW, POLICY), 5, labels);
    assert.deepEqual(
      series.map((s) => [s.queue, s.queued]),
      [
        ['gpu', 2],
        ['_none', 1],
      ],
    );
  });

  it('given more queues than the bound, then the busiest keep theirs and the rest are summed into other, with the largest age', () => {
    const many = Array.from({ length: 10 }, (_, i) => facts(`q${i}`, 'queued', i + 1, i === 0 ? 9000 : 10));
    const series = queueSeries(assessQueues(many, [], NOW, POLICY), 3, labels);
    assert.equal(series.length, 4);
    assert.deepEqual(
      series.slice(0, 3).map((s) => s.queue),
      ['q9', 'q8', 'q7'],
    );
    const other = series[3]!;
    assert.deepEqual([other.workspace, other.queue, other.queued, other.oldestQueuedSeconds, other.fallingBehind], ['_other', '_other', 1 + 2 + 3 + 4 + 5 + 6 + 7, 9000, 1]);
  });
});
