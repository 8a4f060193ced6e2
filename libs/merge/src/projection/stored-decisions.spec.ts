import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FieldDecision } from '../merge/result';
import { loadDecision, storeDecision } from './stored-decisions';

const base: FieldDecision = { field: 'title', policy: 'lww', change: { op: 'set', value: 'b' }, outcome: 'applied', rule: 'lww:newer-stamp' };

describe('stored decisions', () => {
  it('are positional tuples: field, policy, rule, outcome, change, before, after, and the conflict id only when one opened', () => {
    assert.deepStrictEqual(storeDecision({ ...base, before: 'a', after: 'b' }), ['title', 'lww', 'lww:newer-stamp', 'applied', { op: 'set', value: 'b' }, 'a', 'b']);
    assert.deepStrictEqual(storeDecision({ ...base, policy: 'review', rule: 'review:concurrent-edit', outcome: 'conflicted', before: 'a', after: 'a', conflictId: 'e:title' }), [
      'title',
      'review',
      'review:concurrent-edit',
      'conflicted',
      { op: 'set', value: 'b' },
      'a',
      'a',
      'e:title',
    ]);
  });

  it('keep an absent value, a null value and an array value apart', () => {
    assert.deepStrictEqual(storeDecision({ ...base, after: 'b' }).slice(5), [null, 'b'], 'no value before: null');
    assert.deepStrictEqual(storeDecision({ ...base, before: null, after: ['x'] }).slice(5), [[null], [['x']]], 'null and arrays are wrapped');
    assert.deepStrictEqual(storeDecision({ ...base, before: { a: [1] }, after: 0 }).slice(5), [{ a: [1] }, 0], 'objects and scalars are not');
    assert.deepStrictEqual(loadDecision(storeDecision({ ...base, after: 'b' })), { ...base, after: 'b' });
    assert.equal('before' in loadDecision(storeDecision({ ...base })), false);
    assert.equal('after' in loadDecision(storeDecision({ ...base })), false);
    assert.deepStrictEqual(loadDecision(storeDecision({ ...base, before: null, after: [] })), { ...base, before: null, after: [] });
  });

  it('load back exactly what was stored, through JSON', () => {
    const value = fc.option(fc.jsonValue(), { nil: undefined });
    fc.assert(
      fc.property(value, value, fc.option(fc.string(), { nil: undefined }), (before, after, conflictId) => {
        const decision: FieldDecision = { ...base };
        if (before !== undefined) decision.before = before;
        if (after !== undefined) decision.after = after;
        if (conflictId !== undefined) decision.conflictId = conflictId;
        const roundTrip = JSON.parse(JSON.stringify(storeDecision(decision))) as ReturnType<typeof storeDecision>;
        assert.deepStrictEqual(loadDecision(roundTrip), JSON.parse(JSON.stringify(decision)));
      }),
    );
  });
});
