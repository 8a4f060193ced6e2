import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { consumerBacklog, lagOf, oldestPendingFrom, partitionBacklog, partitionOfFilter, totalLag } from './lag';
import { ageSeconds, isoOrNull, latest } from './time';

const NOW = '2026-11-25T12:00:00.000Z';

describe('time', () => {
  it('ages in seconds to the millisecond, never negative, 0 without a time', () => {
    assert.equal(ageSeconds(NOW, '2026-11-25T11:59:30.250Z'), 29.75);
    assert.equal(ageSeconds(NOW, '2026-11-25T12:00:05.000Z'), 0, 'a clock ahead of ours is "just now"');
    assert.equal(ageSeconds(NOW, null), 0);
    assert.equal(ageSeconds(Date.parse(NOW), new Date(Date.parse(NOW) - 1500)), 1.5);
    assert.throws(() => ageSeconds(NOW, 'yesterday'), /not a time/);
  });

  it('latest of two optional times, as ISO', () => {
    assert.equal(latest(null, undefined), null);
    assert.equal(latest('2026-01-01T00:00:00Z', null), '2026-01-01T00:00:00.000Z');
    assert.equal(latest(new Date('2026-01-02T00:00:00Z'), '2026-01-01T00:00:00Z'), '2026-01-02T00:00:00.000Z');
    assert.equal(isoOrNull(0), '1970-01-01T00:00:00.000Z');
  });
});

describe('consumer lag', () => {
  it('backlog is pending plus ack-pending; the oldest is looked for after the ack floor', () => {
    const c = { pending: 7, ackPending: 3, ackFloor: 40, delivered: 55 };
    assert.equal(consumerBacklog(c), 10);
    assert.equal(oldestPendingFrom(c), 41);
    assert.equal(oldestPendingFrom({ pending: 0, ackPending: 0, ackFloor: 55, delivered: 55 }), null);
  });

  it('lag: messages and the age of the oldest; nothing behind is zero whatever the oldest says', () => {
    assert.deepEqual(lagOf(NOW, 12, { seq: 41, at: '2026-11-25T11:58:00.000Z' }), { messages: 12, seconds: 120, oldestSeq: 41, oldestAt: '2026-11-25T11:58:00.000Z' });
    assert.deepEqual(lagOf(NOW, 0, { seq: 41, at: '2026-11-25T11:58:00.000Z' }), { messages: 0, seconds: 0, oldestSeq: null, oldestAt: null });
    assert.deepEqual(lagOf(NOW, 4, null), { messages: 4, seconds: 0, oldestSeq: null, oldestAt: null }, 'oldest not found: age unknown, reported 0');
  });

  it('totals: messages add up, seconds are the oldest partition’s', () => {
    assert.deepEqual(
      totalLag([
        { messages: 3, seconds: 10 },
        { messages: 0, seconds: 0 },
        { messages: 5, seconds: 4.5 },
      ]),
      { messages: 8, seconds: 10 },
    );
    assert.deepEqual(totalLag([]), { messages: 0, seconds: 0 });
  });

  it('reads the partition of a journal consumer from its filter', () => {
    assert.equal(partitionOfFilter('tm.journal.*.p03.>'), 'p03');
    assert.equal(partitionOfFilter('tm.journal.*.p123.>'), 'p123');
    assert.equal(partitionOfFilter('tm.journal.>'), null);
    assert.equal(partitionOfFilter('tm.merged.*.p03.>'), null);
    assert.equal(partitionOfFilter(undefined), null);
  });
});

describe('partition backlog after the checkpoint', () => {
  it('caught up: nothing behind, exact', () => {
    assert.deepEqual(partitionBacklog(90, { pending: 0, ackPending: 0, ackFloor: 90, delivered: 90 }), { messages: 0, exact: true, from: null });
  });

  it('projector stopped: the pending count is behind, from the message after the checkpoint', () => {
    assert.deepEqual(partitionBacklog(90, { pending: 25, ackPending: 0, ackFloor: 90, delivered: 90 }), { messages: 25, exact: true, from: 91 });
  });

  it('committed but not yet acknowledged: ack-pending at or below the checkpoint is not behind', () => {
    // Batch 61..90 delivered and committed (checkpoint 90), ack on its way; 4 newer messages pending.
    assert.deepEqual(partitionBacklog(90, { pending: 4, ackPending: 12, ackFloor: 60, delivered: 90 }), { messages: 4, exact: true, from: 91 });
  });

  it('positions past other partitions’ messages: an ack floor beyond the checkpoint leaves exactly pending + ack-pending behind', () => {
    // Partition's last committed message is 17; the consumer scanned the stream to 20 (others' messages) and 22.
    assert.deepEqual(partitionBacklog(17, { pending: 8, ackPending: 0, ackFloor: 20, delivered: 22 }), { messages: 8, exact: true, from: 18 });
    assert.deepEqual(partitionBacklog(17, { pending: 8, ackPending: 2, ackFloor: 20, delivered: 30 }), { messages: 10, exact: true, from: 18 });
  });

  it('delivered past the checkpoint with the ack floor at the checkpoint: every ack-pending message is behind', () => {
    assert.deepEqual(partitionBacklog(90, { pending: 4, ackPending: 6, ackFloor: 90, delivered: 120 }), { messages: 10, exact: true, from: 91 });
  });

  it('a batch in flight past an older ack floor: an upper bound, said to be inexact', () => {
    const r = partitionBacklog(90, { pending: 4, ackPending: 20, ackFloor: 60, delivered: 95 });
    assert.deepEqual(r, { messages: 9, exact: false, from: 91 }, 'at most delivered − checkpoint of the ack-pending are after the checkpoint');
    assert.ok(r.messages >= 4 && r.messages <= 24);
  });

  it('consumer behind the checkpoint (reset by hand): at most its pending count', () => {
    assert.deepEqual(partitionBacklog(90, { pending: 30, ackPending: 0, ackFloor: 50, delivered: 50 }), { messages: 30, exact: false, from: 91 });
    assert.deepEqual(partitionBacklog(90, { pending: 0, ackPending: 0, ackFloor: 50, delivered: 50 }), { messages: 0, exact: true, from: null });
  });

  it('no checkpoint yet (nothing committed): everything on the partition is behind', () => {
    assert.deepEqual(partitionBacklog(0, { pending: 8, ackPending: 0, ackFloor: 0, delivered: 0 }), { messages: 8, exact: true, from: 1 });
  });
});
