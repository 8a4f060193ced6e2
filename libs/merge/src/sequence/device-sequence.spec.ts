import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { advanceSequence, emptySequence, gapsOf } from './device-sequence';

describe('device sequencing', () => {
  it('given nothing, when 1, 2, 3 arrive, then contiguous is 3 with no gaps', () => {
    const s = advanceSequence(emptySequence(), [1, 2, 3], ['2026-11-01T00:00:00.000Z', '2026-11-01T00:00:01.000Z', '2026-11-01T00:00:02.000Z']);
    assert.deepEqual(s, { contiguous: 3, maxSeq: 3, ahead: [], events: 3, lastAcceptedAt: '2026-11-01T00:00:02.000Z' });
    assert.deepEqual(gapsOf(s), []);
  });

  it('reports gaps, and closes them when the missing events arrive', () => {
    const s = advanceSequence(emptySequence(), [1, 2, 5, 6, 9], []);
    assert.equal(s.contiguous, 2);
    assert.deepEqual(gapsOf(s), [[3, 4], [7, 8]]);
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
});
