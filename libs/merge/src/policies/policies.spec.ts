import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { add, append, eventsFor, inc, remove, set } from '../testing/events';
import { checkedMerge, mergeSpec, replay } from '../testing/merge-spec';
import { SINK } from '../testing/schemas';

const spec = mergeSpec(SINK);

describe('lww', () => {
  it('applies a write with a newer stamp', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ fields: { title: set('a') } }))
      .when(e({ deviceId: 'dev-b', baseVersion: 1, fields: { title: set('b') } }))
      .then({ outcome: 'applied', values: { title: 'b' }, decisions: [{ field: 'title', policy: 'lww', before: 'a', after: 'b', outcome: 'applied', rule: 'lww:newer-stamp' }] });
  });

  it('records a stale write as lost, not applied, even when it arrives last', () => {
    const e = eventsFor('sink');
    const late = e({ deviceId: 'dev-b', hlc: 1, fields: { title: set('old') } });
    spec
      .given(e({ hlc: 5, fields: { title: set('new') } }))
      .when(late)
      .then({ outcome: 'merged', values: { title: 'new' }, decisions: [{ field: 'title', before: 'new', after: 'new', outcome: 'lost', rule: 'lww:older-stamp' }] });
  });

  it('breaks an equal wall clock by the HLC counter, then by deviceId', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ deviceId: 'dev-b', hlc: { wall: 10, counter: 1 }, fields: { title: set('b1') } }))
      .when(e({ deviceId: 'dev-z', hlc: { wall: 10, counter: 0 }, fields: { title: set('z0') } }))
      .then({ values: { title: 'b1' }, decisions: [{ outcome: 'lost' }] });
    spec
      .given(e({ deviceId: 'dev-b', hlc: { wall: 10, counter: 1 }, fields: { title: set('b') } }))
      .when(e({ deviceId: 'dev-a', hlc: { wall: 10, counter: 1 }, fields: { title: set('a') } }))
      .then({ values: { title: 'b' }, decisions: [{ outcome: 'lost', rule: 'lww:older-stamp' }] });
    spec
      .given(e({ deviceId: 'dev-a', hlc: { wall: 10, counter: 1 }, fields: { title: set('a') } }))
      .when(e({ deviceId: 'dev-b', hlc: { wall: 10, counter: 1 }, fields: { title: set('b') } }))
      .then({ values: { title: 'b' }, decisions: [{ outcome: 'applied', rule: 'lww:newer-stamp' }] });
  });

  it('accepts null only where the field is nullable', () => {
    const e = eventsFor('sink');
    spec
      .given()
      .when(e({ fields: { note: set(null) } }))
      .then({ outcome: 'applied', values: { note: null } });
    spec
      .given()
      .when(e({ fields: { title: set(null) } }))
      .then({ outcome: 'rejected', code: 'invalid-value', reason: /field "title": expected string, got null/ });
  });
});

describe('counter', () => {
  it('adds increments from every device, concurrent or not (increments commute: nothing is lost)', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ fields: { n: inc(2) } }), e({ deviceId: 'dev-b', fields: { n: inc(5) } }))
      .when(e({ deviceId: 'dev-c', baseVersion: 0, fields: { n: inc(-3) } }))
      .then({ outcome: 'applied', values: { n: 4 }, decisions: [{ field: 'n', policy: 'counter', before: 7, after: 4, outcome: 'applied', rule: 'counter:add' }] });
  });

  it('refuses a fractional increment and one that leaves the safe integer range', () => {
    const e = eventsFor('sink');
    spec
      .given()
      .when(e({ fields: { n: inc(0.5) } }))
      .then({ outcome: 'rejected', code: 'invalid-value', reason: /inc by 0.5: a counter increments by a safe integer/ });
    spec
      .given(e({ fields: { n: inc(Number.MAX_SAFE_INTEGER) } }))
      .when(e({ fields: { n: inc(1) } }))
      .then({ outcome: 'rejected', code: 'invalid-value', reason: /beyond the safe integer range/ });
  });
});

describe('max and min', () => {
  it('raises a max and keeps it against a lower value', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ fields: { hi: set(3) } }))
      .when(e({ fields: { hi: set(9) } }))
      .then({ values: { hi: 9 }, decisions: [{ outcome: 'applied', rule: 'max:raised' }] });
    spec
      .given(e({ fields: { hi: set(3) } }))
      .when(e({ baseVersion: 1, fields: { hi: set(1) } }))
      .then({ outcome: 'merged', values: { hi: 3 }, decisions: [{ outcome: 'lost', rule: 'max:not-higher' }] });
  });

  it('lowers a min and keeps it against a higher value', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ fields: { lo: set(2.5) } }))
      .when(e({ baseVersion: 1, fields: { lo: set(-1) } }))
      .then({ values: { lo: -1 }, decisions: [{ rule: 'min:lowered' }] });
    spec
      .given(e({ fields: { lo: set(2.5) } }))
      .when(e({ baseVersion: 1, fields: { lo: set(7) } }))
      .then({ values: { lo: 2.5 }, decisions: [{ outcome: 'lost', rule: 'min:not-lower' }] });
  });

  it('compares strings by code unit, not locale', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ fields: { word: set('apple') } }))
      .when(e({ baseVersion: 1, fields: { word: set('Zebra') } }))
      .then({ values: { word: 'apple' } });
    spec
      .given(e({ fields: { word: set('apple') } }))
      .when(e({ baseVersion: 1, fields: { word: set('apples') } }))
      .then({ values: { word: 'apples' } });
  });

  it('stamps an equal value with the greater stamp whatever the arrival order', () => {
    const e = eventsFor('sink');
    const early = e({ deviceId: 'dev-a', hlc: 1, fields: { hi: set(4) } });
    const late = e({ deviceId: 'dev-b', hlc: 2, fields: { hi: set(4) } });
    const one = replay(SINK, [early, late])!;
    const two = replay(SINK, [late, early])!;
    assert.deepStrictEqual(one.fields.hi, two.fields.hi);
    assert.equal(one.fields.hi?.policy === 'max' && one.fields.hi.stamp.deviceId, 'dev-b');
  });

  it('refuses a value of the wrong type', () => {
    const e = eventsFor('sink');
    spec
      .given()
      .when(e({ fields: { hi: set(1.5) } }))
      .then({ outcome: 'rejected', code: 'invalid-value', reason: /field "hi": expected integer, got number 1.5/ });
  });
});

describe('set (add-wins observed-remove)', () => {
  it('adds elements, sorted by canonical JSON, once each', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ fields: { tags: add('b') } }))
      .when(e({ fields: { tags: add('c', 'a', 'c') } }))
      .then({ values: { tags: ['a', 'b', 'c'] }, decisions: [{ before: ['b'], after: ['a', 'b', 'c'], rule: 'set:add' }] });
  });

  it('removes an element whose add the device had seen', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ fields: { tags: add('x', 'y') } }))
      .when(e({ deviceId: 'dev-b', baseVersion: 1, fields: { tags: remove('x') } }))
      .then({ outcome: 'applied', values: { tags: ['y'] }, decisions: [{ outcome: 'applied', rule: 'set:observed-remove' }] });
  });

  it('keeps an element added concurrently with its remove: add wins', () => {
    const e = eventsFor('sink');
    // dev-b saw version 1 (x added by dev-a); dev-c adds x again at version 2, which dev-b never saw.
    spec
      .given(e({ fields: { tags: add('x') } }), e({ deviceId: 'dev-c', baseVersion: 0, fields: { tags: add('x') } }))
      .when(e({ deviceId: 'dev-b', baseVersion: 1, fields: { tags: remove('x') } }))
      .then({
        outcome: 'merged',
        values: { tags: ['x'] },
        decisions: [{ outcome: 'merged', rule: 'set:add-wins' }],
        state: (state) => {
          const tags = state?.fields.tags;
          assert.ok(tags?.policy === 'set');
          assert.deepStrictEqual(
            tags.elements[0]!.tags.map((t) => t.deviceId),
            ['dev-c'],
            'only the unobserved add survives',
          );
        },
      });
  });

  it('keeps an element whose only add the remover had not seen', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ fields: { tags: add('x') } }))
      .when(e({ deviceId: 'dev-b', baseVersion: 0, fields: { tags: remove('x') } }))
      .then({ outcome: 'merged', values: { tags: ['x'] }, decisions: [{ outcome: 'merged', rule: 'set:add-wins' }] });
  });

  it('lets a device remove its own add before it synced', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ deviceId: 'dev-a', baseVersion: 0, fields: { tags: add('x') } }))
      .when(e({ deviceId: 'dev-a', baseVersion: 0, fields: { tags: remove('x') } }))
      .then({ values: { tags: [] }, decisions: [{ outcome: 'applied', rule: 'set:observed-remove' }] });
  });

  it('records removing an absent element as unchanged', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ fields: { tags: add('y') } }))
      .when(e({ baseVersion: 1, fields: { tags: remove('x') } }))
      .then({ outcome: 'applied', values: { tags: ['y'] }, decisions: [{ outcome: 'unchanged', rule: 'set:remove-absent' }] });
  });

  it('identifies JSON elements by canonical JSON, whatever their key order', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ fields: { things: add({ a: 1, b: 2 }) } }))
      .when(e({ baseVersion: 1, fields: { things: remove({ b: 2, a: 1 }) } }))
      .then({ values: { things: [] } });
  });

  it('refuses an empty add and a wrong element type', () => {
    const e = eventsFor('sink');
    spec
      .given()
      .when(e({ fields: { tags: add() } }))
      .then({ outcome: 'rejected', reason: /add needs at least one value/ });
    spec
      .given()
      .when(e({ fields: { tags: add('ok', 3) } }))
      .then({ outcome: 'rejected', code: 'invalid-value', reason: /values\[1\]: expected string, got number/ });
  });
});

describe('append', () => {
  it('orders by HLC, not by arrival', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ hlc: 30, fields: { log: append('third') } }), e({ deviceId: 'dev-b', hlc: 10, fields: { log: append('first') } }))
      .when(e({ deviceId: 'dev-c', hlc: 20, fields: { log: append('second') } }))
      .then({ outcome: 'merged', values: { log: ['first', 'second', 'third'] }, decisions: [{ outcome: 'merged', rule: 'append:ordered-by-hlc' }] });
  });

  it('breaks an equal HLC by deviceId and keeps the order within one event', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ deviceId: 'dev-b', hlc: 10, fields: { log: append('b1', 'b2') } }))
      .when(e({ deviceId: 'dev-a', hlc: 10, fields: { log: append('a1', 'a2') } }))
      .then({ values: { log: ['a1', 'a2', 'b1', 'b2'] } });
  });

  it('appends at the end when the stamp is the latest', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ fields: { log: append('one') } }))
      .when(e({ baseVersion: 1, fields: { log: append('two') } }))
      .then({ outcome: 'applied', values: { log: ['one', 'two'] }, decisions: [{ rule: 'append:at-end' }] });
  });
});

describe('review', () => {
  it('applies a change made after seeing the latest value', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ fields: { body: set('v1') } }))
      .when(e({ deviceId: 'dev-b', baseVersion: 1, fields: { body: set('v2') } }))
      .then({ outcome: 'applied', values: { body: 'v2' }, conflicts: [], decisions: [{ outcome: 'applied', rule: 'review:saw-latest' }] });
  });

  it('opens a conflict for a concurrent change by another device to another value', () => {
    const e = eventsFor('sink');
    const created = e({ deviceId: 'dev-a', fields: { body: set('draft') } });
    const ours = e({ deviceId: 'dev-a', baseVersion: 1, hlc: 2000, fields: { body: set('ours') } });
    const theirs = e({ deviceId: 'dev-b', baseVersion: 1, hlc: 3000, fields: { body: set('theirs'), title: set('t') } });
    spec
      .given(created, ours)
      .when(theirs)
      .then({
        outcome: 'conflicted',
        values: { body: 'ours', title: 't' },
        view: { inConflict: ['body'] },
        decisions: [
          { field: 'body', outcome: 'conflicted', rule: 'review:concurrent-edit', before: 'ours', after: 'ours', conflictId: `${theirs.eventId}:body` },
          { field: 'title', outcome: 'applied' },
        ],
        conflicts: [
          {
            id: `${theirs.eventId}:body`,
            kind: 'field',
            rule: 'review:concurrent-edit',
            field: 'body',
            base: { kind: 'value', value: 'draft' },
            ours: { eventId: ours.eventId, deviceId: 'dev-a', hlc: ours.hlc, version: 2, value: 'ours' },
            theirs: { eventId: theirs.eventId, deviceId: 'dev-b', hlc: theirs.hlc, baseVersion: 1, value: 'theirs' },
            openedAt: 3,
            entity: { type: 'sink', id: 'sink-1' },
            workspace: 'ws-test',
            streamSeq: 3,
          },
        ],
        state: (state) => assert.deepStrictEqual(state?.openConflicts, [`${theirs.eventId}:body`]),
      });
  });

  it('names an absent base when both devices created the field', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ deviceId: 'dev-a', fields: { body: set('a') } }))
      .when(e({ deviceId: 'dev-b', baseVersion: 0, fields: { body: set('b') } }))
      .then({ outcome: 'conflicted', conflicts: [{ base: { kind: 'absent' } }] });
  });

  it('names an unknown base once the history no longer reaches it', () => {
    const e = eventsFor('sink');
    const history = ['v1', 'v2', 'v3', 'v4', 'v5', 'v6'].map((value, i) => e({ baseVersion: i, fields: { body: set(value) } }));
    spec
      .given(...history)
      .when(e({ deviceId: 'dev-b', baseVersion: 1, fields: { body: set('late') } }))
      .then({ outcome: 'conflicted', conflicts: [{ base: { kind: 'unknown' } }] });
    spec
      .given(...history)
      .when(e({ deviceId: 'dev-b', baseVersion: 4, fields: { body: set('late') } }))
      .then({ outcome: 'conflicted', conflicts: [{ base: { kind: 'value', value: 'v4' } }] });
  });

  it('applies a device’s own queued changes in order without a conflict', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ deviceId: 'dev-a', fields: { body: set('one') } }))
      .when(e({ deviceId: 'dev-a', baseVersion: 0, fields: { body: set('two') } }))
      .then({ outcome: 'applied', values: { body: 'two' }, decisions: [{ outcome: 'applied', rule: 'review:same-device' }] });
  });

  it('treats a concurrent change to the same value as unchanged', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ fields: { meta: set({ a: 1, b: [2] }) } }))
      .when(e({ deviceId: 'dev-b', baseVersion: 0, fields: { meta: set({ b: [2], a: 1 }) } }))
      .then({ outcome: 'applied', conflicts: [], decisions: [{ outcome: 'unchanged', rule: 'review:same-value' }] });
  });

  it('opens one conflict per concurrent event, each with its own id', () => {
    const e = eventsFor('sink');
    const first = e({ deviceId: 'dev-a', fields: { body: set('a') } });
    const second = e({ deviceId: 'dev-b', baseVersion: 0, fields: { body: set('b') } });
    const third = e({ deviceId: 'dev-c', baseVersion: 0, fields: { body: set('c') } });
    const state = replay(SINK, [first, second, third]);
    assert.deepStrictEqual(state?.openConflicts, [`${second.eventId}:body`, `${third.eventId}:body`]);
    const again = checkedMerge(SINK, state, e({ deviceId: 'dev-d', baseVersion: 3, fields: { body: set('d') } }));
    assert.equal(again.outcome, 'applied', 'a change made after seeing the conflicts applies; they stay open');
    assert.deepStrictEqual(again.state?.openConflicts, state?.openConflicts);
  });
});

describe('JSON values from devices', () => {
  it('keep a "__proto__" key as data and are stored with sorted keys', () => {
    const e = eventsFor('sink');
    const value = JSON.parse('{"z":1,"__proto__":{"polluted":true},"a":[{"y":2,"x":1}]}') as unknown;
    spec
      .given()
      .when(e({ fields: { meta: set(value) } }))
      .then({
        outcome: 'applied',
        state: (state) => {
          const stored = state?.fields.meta?.policy === 'review' ? (state.fields.meta.value as Record<string, unknown>) : {};
          assert.deepStrictEqual(Object.keys(stored), ['__proto__', 'a', 'z']);
          assert.equal(Object.getPrototypeOf(stored), Object.prototype);
          assert.equal(JSON.stringify(stored), '{"__proto__":{"polluted":true},"a":[{"x":1,"y":2}],"z":1}');
        },
      });
  });
});
