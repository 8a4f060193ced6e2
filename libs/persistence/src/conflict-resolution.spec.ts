import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkResolveRequest, hlcAfter } from './conflict-resolution';

const accepted = (body: unknown) => {
  const checked = checkResolveRequest(body);
  assert.ok(checked.ok, JSON.stringify(checked));
  return checked.value;
};
const refused = (body: unknown) => {
  const checked = checkResolveRequest(body);
  assert.ok(!checked.ok, 'refused');
  return checked.errors;
};

describe('resolve request', () => {
  it('accepts each pick with what it needs', () => {
    assert.deepEqual(accepted({ pick: 'ours' }), { pick: 'ours' });
    assert.deepEqual(accepted({ pick: 'value', value: null }), { pick: 'value', value: null });
    const full = { pick: 'theirs', eventId: '0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69', deviceId: 'reviewer-1', hlc: { wall: 1, counter: 0 } };
    assert.deepEqual(accepted(full), full);
  });

  it('refuses a value without pick "value", and pick "value" without a value, by pointer', () => {
    assert.deepEqual(refused({ pick: 'value' }), [{ pointer: '/value', detail: 'is required when pick is "value"' }]);
    assert.equal(refused({ pick: 'theirs', value: 1 })[0]!.pointer, '/value');
    assert.deepEqual(
      refused({ pick: 'x', extra: 1 })
        .map((e) => e.pointer)
        .sort(),
      ['/extra', '/pick'],
    );
    assert.equal(refused(null)[0]!.pointer, '/');
  });
});

describe('resolver clock', () => {
  it('uses the wall clock, but stamps after both sides when a device clock ran ahead', () => {
    assert.deepEqual(
      hlcAfter(1000, [
        { wall: 10, counter: 3 },
        { wall: 20, counter: 0 },
      ]),
      { wall: 1000, counter: 0 },
    );
    assert.deepEqual(
      hlcAfter(1000, [
        { wall: 2000, counter: 3 },
        { wall: 2000, counter: 5 },
      ]),
      { wall: 2000, counter: 6 },
    );
    assert.deepEqual(hlcAfter(1000, [{ wall: 1000, counter: 0 }]), { wall: 1000, counter: 1 });
    assert.deepEqual(hlcAfter(1000, [{ wall: 1500, counter: 65_535 }]), { wall: 1501, counter: 0 });
    assert.deepEqual(hlcAfter(1000, []), { wall: 1000, counter: 0 });
  });
});
