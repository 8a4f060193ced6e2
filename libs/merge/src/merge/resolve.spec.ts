import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceEvent } from '@tidemark/contracts';
import { ENTITY_FIELD, view } from '../index';
import { add, eventsFor, set } from '../testing/events';
import { checkedMerge, mergeSpec, replay } from '../testing/merge-spec';
import { kitchenSink, SINK } from '../testing/schemas';

const spec = mergeSpec(SINK);

function conflictHistory() {
  const e = eventsFor('sink');
  const created = e({ deviceId: 'dev-a', fields: { body: set('base') } });
  const ours = e({ deviceId: 'dev-a', baseVersion: 1, fields: { body: set('ours') } });
  const theirs = e({ deviceId: 'dev-b', baseVersion: 1, fields: { body: set('theirs') } });
  const conflictId = `${theirs.eventId}:body`;
  const resolve = (resolution: DeviceEvent['resolution']) => e({ deviceId: 'reviewer', op: 'resolve', baseVersion: 3, resolution });
  return { e, history: [created, ours, theirs], conflictId, resolve };
}

describe('resolve', () => {
  it('theirs: sets the field to the incoming value and closes the conflict', () => {
    const { history, conflictId, resolve } = conflictHistory();
    spec
      .given(...history)
      .when(resolve({ conflictId, pick: 'theirs' }))
      .then({
        outcome: 'applied',
        resolved: [conflictId],
        values: { body: 'theirs' },
        view: { inConflict: [] },
        decisions: [{ field: 'body', before: 'ours', after: 'theirs', outcome: 'applied', rule: 'resolve:theirs' }],
        state: (state) => {
          assert.deepStrictEqual(state?.openConflicts, []);
          assert.deepStrictEqual(state?.conflicts, {});
          assert.ok(state?.fields.body?.policy === 'review' && state.fields.body.changed.deviceId === 'reviewer' && state.fields.body.changed.version === 4);
        },
      });
  });

  it('ours: keeps the stored value and closes the conflict', () => {
    const { history, conflictId, resolve } = conflictHistory();
    spec
      .given(...history)
      .when(resolve({ conflictId, pick: 'ours' }))
      .then({ outcome: 'applied', resolved: [conflictId], values: { body: 'ours' }, decisions: [{ outcome: 'unchanged', rule: 'resolve:ours' }] });
  });

  it('value: sets a third value, checked against the field type', () => {
    const { history, conflictId, resolve } = conflictHistory();
    spec
      .given(...history)
      .when(resolve({ conflictId, pick: 'value', value: 'both' }))
      .then({ outcome: 'applied', values: { body: 'both' }, decisions: [{ rule: 'resolve:value', after: 'both' }] });
    spec
      .given(...history)
      .when(resolve({ conflictId, pick: 'value', value: 42 }))
      .then({ outcome: 'rejected', code: 'invalid-value', reason: /field "body": expected string, got number/ });
    spec
      .given(...history)
      .when(resolve({ conflictId, pick: 'value' }))
      .then({ outcome: 'rejected', code: 'invalid-resolution', reason: /pick "value" needs a value/ });
    spec
      .given(...history)
      .when(resolve({ conflictId, pick: 'ours', value: 'x' }))
      .then({ outcome: 'rejected', code: 'invalid-resolution', reason: /only given with pick "value"/ });
  });

  it('rejects an unknown conflict and one already resolved', () => {
    const { history, conflictId, resolve } = conflictHistory();
    spec
      .given(...history)
      .when(resolve({ conflictId: 'nope:body', pick: 'ours' }))
      .then({ outcome: 'rejected', code: 'conflict-not-open', reason: /conflict "nope:body" is not open on sink\/sink-1/ });
    spec
      .given(...history, resolve({ conflictId, pick: 'ours' }))
      .when(resolve({ conflictId, pick: 'theirs' }))
      .then({ outcome: 'rejected', code: 'conflict-not-open' });
    spec
      .given()
      .when(resolve({ conflictId, pick: 'ours' }))
      .then({ outcome: 'rejected', code: 'conflict-not-open' });
  });

  it('closes only the conflict it names', () => {
    const e = eventsFor('sink');
    const first = e({ deviceId: 'dev-a', fields: { body: set('a') } });
    const second = e({ deviceId: 'dev-b', fields: { body: set('b') } });
    const third = e({ deviceId: 'dev-c', fields: { body: set('c') } });
    const state = replay(SINK, [first, second, third]);
    const result = checkedMerge(SINK, state, e({ deviceId: 'reviewer', op: 'resolve', baseVersion: 3, resolution: { conflictId: `${third.eventId}:body`, pick: 'theirs' } }));
    assert.equal(result.outcome, 'applied');
    assert.deepStrictEqual(result.state?.openConflicts, [`${second.eventId}:body`]);
    assert.equal(result.state && view(result.state).values.body, 'c');
  });
});

describe('resolve a delete conflict', () => {
  const schema = kitchenSink('review');
  const e = eventsFor('sink');
  const created = e({ deviceId: 'dev-a', fields: { title: set('t') } });
  const deleted = e({ deviceId: 'dev-a', op: 'delete', baseVersion: 1 });
  const edit = e({ deviceId: 'dev-b', baseVersion: 1, fields: { tags: add('kept') } });
  const conflictId = `${edit.eventId}:${ENTITY_FIELD}`;
  const resolve = (pick: 'ours' | 'theirs' | 'value') => e({ deviceId: 'reviewer', op: 'resolve', baseVersion: 3, resolution: { conflictId, pick } });

  it('theirs: revives the entity and applies the parked edit under its own stamp', () => {
    mergeSpec(schema)
      .given(created, deleted, edit)
      .when(resolve('theirs'))
      .then({
        outcome: 'applied',
        resolved: [conflictId],
        view: { deleted: false, values: { tags: ['kept'], title: 't' }, inConflict: [] },
        decisions: [{ field: 'tags', outcome: 'applied', rule: 'set:add' }],
        state: (state) => assert.ok(state?.fields.tags?.policy === 'set' && state.fields.tags.elements[0]!.tags[0]!.eventId === edit.eventId),
      });
  });

  it('ours: the delete stands', () => {
    mergeSpec(schema)
      .given(created, deleted, edit)
      .when(resolve('ours'))
      .then({ outcome: 'applied', resolved: [conflictId], view: { deleted: true, inConflict: [] } });
  });

  it('value: is not a way to resolve a delete conflict', () => {
    mergeSpec(schema)
      .given(created, deleted, edit)
      .when(resolve('value'))
      .then({ outcome: 'rejected', code: 'invalid-resolution', reason: /"ours" \(the delete stands\) or "theirs"/ });
  });
});
