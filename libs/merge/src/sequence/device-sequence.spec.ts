import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { advanceSequence, emptySequence, gapsOf, mergeSeqRanges, seqCount, subtractSeqRanges } from './device-sequence';

describe('device sequencing', () => {
  it('given nothing, when 1, 2, 3 arrive, then contiguous is 3 with no gaps', () => {
    const s = advanceSequence(emptySequence(), [1, 2, 3], ['2026-11-01T00:00:00.000Z', '2026-11-01T00:00:01.000Z', '2026-11-01T00:00:02.000Z']);
    assert.deepEqual(s, { contiguous: 3, maxSeq: 3, ahead: [], events: 3, lastAcceptedAt: '2026-11-01T00:00:02.000Z' });
    assert.deepEqual(gapsOf(s), []);
  });

  it('reports gaps, and closes them when the missing events arrive', () => {
    const s = advanceSequence(emptySequence(), [1, 2, 5, 6, 9], []);
    assert.equal(s.contiguous, 2);
    assert.deepEqual(gapsOf(s), [
      [3, 4],
      [7, 8],
    ]);
    const t = advanceSequence(s, [4, 3], []);
    assert.equal(t.contiguous, 6);
    assert.deepEqual(gapsOf(t), [[7, 8]]);
  });

  it('does not move for a re-sent sequence below the contiguous mark', () => {
    const s = advanceSequence(advanceSequence(emptySequence(), [1, 2], []), [1], []);
    assert.equal(s.contiguous, 2);
    assert.equal(s.events, 3);
  });

  it('is the same whatever order and grouping the sequences arrive in', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 10 }), (seqs, cut) => {
        const once = advanceSequence(emptySequence(), seqs, []);
        const reversed = [...seqs].reverse();
        const split = advanceSequence(advanceSequence(emptySequence(), reversed.slice(0, cut), []), reversed.slice(cut), []);
        assert.deepEqual(split, once);
      }),
    );
  });

  it('merges, subtracts and counts inclusive sequence ranges', () => {
    assert.deepEqual(
      mergeSeqRanges([
        [10, 12],
        [1, 3],
        [4, 5],
        [11, 20],
        [30, 29],
      ]),
      [
        [1, 5],
        [10, 20],
      ],
    );
    assert.deepEqual(
      subtractSeqRanges(
        [
          [1, 10],
          [20, 30],
        ],
        [
          [3, 4],
          [8, 22],
          [30, 40],
        ],
      ),
      [
        [1, 2],
        [5, 7],
        [23, 29],
      ],
    );
    assert.deepEqual(subtractSeqRanges([[5, 6]], [[1, 10]]), []);
    assert.equal(
      seqCount([
        [1, 3000],
        [2000, 3001],
        [5000, 5000],
      ]),
      3002,
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 5 }))), fc.array(fc.tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 5 }))), (a, b) => {
        const ranges = a.map(([from, len]): [number, number] => [from, from + len]);
        const cut = b.map(([from, len]): [number, number] => [from, from + len]);
        const members = (rs: [number, number][]) => new Set(rs.flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, i) => from + i)));
        const expected = [...members(ranges)].filter((n) => !members(cut).has(n)).sort((x, y) => x - y);
        assert.deepEqual(
          [...members(subtractSeqRanges(ranges, cut))].sort((x, y) => x - y),
          expected,
        );
        assert.equal(seqCount(ranges), members(ranges).size);
      }),
    );
  });
});
