import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENTITY_FIELD } from '../index';
import { add, eventsFor, inc, set } from '../testing/events';
import { mergeSpec, replay } from '../testing/merge-spec';
import { kitchenSink } from '../testing/schemas';

describe('delete', () => {
  const spec = mergeSpec(kitchenSink('delete-wins'));

  it('tombstones the entity; devices pull deleted with no values', () => {
    const e = eventsFor('sink');
    const del = e({ deviceId: 'dev-b', op: 'delete', baseVersion: 1 });
    spec
      .given(e({ fields: { title: set('x') } }))
      .when(del)
      .then({
        outcome: 'applied',
        view: { deleted: true, values: {}, version: 2 },
        state: (state) => {
          assert.deepStrictEqual(state?.tombstone, { eventId: del.eventId, deviceId: 'dev-b', hlc: del.hlc, version: 2 });
          assert.ok(state?.fields.title, 'field states stay in the tombstoned state');
        },
      });
  });

  it('records a tombstone for an entity it never saw, so a concurrent create meets it', () => {
    const e = eventsFor('sink');
    spec
      .given()
      .when(e({ op: 'delete' }))
      .then({ outcome: 'applied', view: { deleted: true, version: 1 } });
  });

  it('is a no-op on an entity already deleted', () => {
    const e = eventsFor('sink');
    spec
      .given(e({ fields: { n: inc(1) } }), e({ op: 'delete', baseVersion: 1 }))
      .when(e({ deviceId: 'dev-b', op: 'delete', baseVersion: 1 }))
      .then({ outcome: 'noop', code: 'already-deleted', reason: /already deleted at version 2 by device dev-a/ });
  });

  it('carries no field changes', () => {
    const e = eventsFor('sink');
    spec
      .given()
      .when(e({ op: 'delete', fields: { n: inc(1) } }))
      .then({ outcome: 'rejected', code: 'invalid-event', reason: /a delete carries no field changes/ });
  });
});

describe('an edit that had not seen a delete', () => {
  const e = eventsFor('sink');
  const created = e({ deviceId: 'dev-a', fields: { title: set('kept'), n: inc(1) } });
  const deleted = e({ deviceId: 'dev-a', op: 'delete', baseVersion: 1 });
  // dev-b saw version 1, then edited offline: it never saw the delete at version 2.
  const edit = e({ deviceId: 'dev-b', baseVersion: 1, fields: { title: set('edited'), tags: add('t') } });

  it('delete-wins: the edit is recorded, not applied', () => {
    mergeSpec(kitchenSink('delete-wins'))
      .given(created, deleted)
      .when(edit)
      .then({
        outcome: 'merged',
        reason: /deleted at version 2 by device dev-a.*delete wins/,
        view: { deleted: true, version: 3, values: {} },
        decisions: [
          { field: 'tags', outcome: 'discarded', rule: 'delete:delete-wins' },
          { field: 'title', outcome: 'discarded', before: 'kept', after: 'kept', rule: 'delete:delete-wins' },
        ],
        conflicts: [],
      });
  });

  it('edit-wins: the entity is revived with its fields and the edit', () => {
    mergeSpec(kitchenSink('edit-wins'))
      .given(created, deleted)
      .when(edit)
      .then({
        outcome: 'merged',
        reason: /edit wins: the entity is revived/,
        view: { deleted: false, values: { n: 1, tags: ['t'], title: 'edited' } },
        decisions: [
          { field: 'tags', outcome: 'applied' },
          { field: 'title', outcome: 'applied' },
        ],
        state: (state) => assert.equal(state?.tombstone, undefined),
      });
  });

  it('review: a conflict is opened and the entity stays deleted', () => {
    const conflictId = `${edit.eventId}:${ENTITY_FIELD}`;
    mergeSpec(kitchenSink('review'))
      .given(created, deleted)
      .when(edit)
      .then({
        outcome: 'conflicted',
        view: { deleted: true, inConflict: [ENTITY_FIELD] },
        decisions: [
          { field: 'tags', outcome: 'conflicted', rule: 'delete:review', conflictId },
          { field: 'title', outcome: 'conflicted', rule: 'delete:review', conflictId },
        ],
        conflicts: [
          {
            id: conflictId,
            kind: 'delete',
            rule: 'delete:edit-after-delete',
            field: ENTITY_FIELD,
            ours: { eventId: deleted.eventId, deviceId: 'dev-a', hlc: deleted.hlc, version: 2 },
            theirs: { eventId: edit.eventId, deviceId: 'dev-b', hlc: edit.hlc, baseVersion: 1, fields: edit.fields! },
          },
        ],
      });
  });

  it('an edit made after seeing the delete revives the entity, whatever the rule', () => {
    for (const rule of ['delete-wins', 'edit-wins', 'review'] as const) {
      mergeSpec(kitchenSink(rule))
        .given(created, deleted)
        .when(e({ deviceId: 'dev-b', baseVersion: 2, fields: { title: set('back') } }))
        .then({ outcome: 'applied', reason: /revived by an edit made after seeing the delete/, view: { deleted: false, values: { n: 1, title: 'back' } } });
    }
  });

  it('the deleting device’s own later edit revives it (a device sees its own delete)', () => {
    mergeSpec(kitchenSink('delete-wins'))
      .given(created, deleted)
      .when(e({ deviceId: 'dev-a', baseVersion: 1, fields: { title: set('undo') } }))
      .then({ outcome: 'applied', view: { deleted: false } });
  });

  it('the same events give the same state in a fresh replay', () => {
    const schema = kitchenSink('review');
    assert.deepStrictEqual(replay(schema, [created, deleted, edit]), replay(schema, [created, deleted, edit]));
  });
});
