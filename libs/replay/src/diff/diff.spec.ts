import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addToSummary, diffDigestLine, diffEntity, emptyDiffSummary, type EntitySide } from './diff';

const side = (over: Partial<EntitySide> & { values?: Record<string, unknown>; inConflict?: string[] } = {}): EntitySide => ({
  version: over.version ?? 3,
  deleted: over.deleted ?? false,
  view: { values: over.values ?? { title: 'a', votes: 2 }, inConflict: over.inConflict ?? [] },
  conflicts: over.conflicts ?? [],
  receipts: over.receipts ?? [
    { eventId: 'e1', status: 'applied' },
    { eventId: 'e2', status: 'merged' },
  ],
});

describe('diffEntity', () => {
  it('finds nothing between equal sides, whatever the key order', () => {
    const diff = diffEntity(side({ values: { title: 'a', meta: { x: 1, y: 2 } } }), side({ values: { meta: { y: 2, x: 1 }, title: 'a' } }));
    assert.equal(diff.change, 'unchanged');
    assert.equal(diff.viewChanged, false);
    assert.deepEqual([diff.fields, diff.receipts, diff.conflicts], [[], [], { opened: [], closed: [] }]);
  });

  it('lists changed, added and removed fields with both values', () => {
    const diff = diffEntity(side({ values: { title: 'a', gone: 1, same: true } }), side({ values: { title: 'b', same: true, fresh: null } }));
    assert.equal(diff.change, 'changed');
    assert.equal(diff.viewChanged, true);
    assert.deepEqual(diff.fields, [
      { field: 'fresh', shadow: null },
      { field: 'gone', live: 1 },
      { field: 'title', live: 'a', shadow: 'b' },
    ]);
  });

  it('names conflicts a rebuild opens and closes, and receipts whose fate changes', () => {
    const live = side({
      inConflict: ['label'],
      conflicts: [
        { id: 'e2:label', field: 'label', status: 'open' },
        { id: 'e1:x', field: 'x', status: 'resolved' },
      ],
      receipts: [
        { eventId: 'e1', status: 'applied' },
        { eventId: 'e2', status: 'conflicted' },
      ],
    });
    const shadow = side({
      conflicts: [
        { id: 'e1:x', field: 'x', status: 'resolved' },
        { id: 'e3:title', field: 'title', status: 'open' },
      ],
      receipts: [
        { eventId: 'e1', status: 'applied' },
        { eventId: 'e2', status: 'merged' },
        { eventId: 'e3', status: 'conflicted' },
      ],
    });
    const diff = diffEntity(live, shadow);
    assert.equal(diff.change, 'changed');
    assert.equal(diff.viewChanged, true, 'inConflict differs');
    assert.deepEqual(diff.conflicts, { opened: [{ id: 'e3:title', field: 'title' }], closed: [{ id: 'e2:label', field: 'label' }] });
    assert.deepEqual(diff.receipts, [
      { eventId: 'e2', live: 'conflicted', shadow: 'merged' },
      { eventId: 'e3', live: null, shadow: 'conflicted' },
    ]);
  });

  it('counts a receipt-only difference as a change that devices do not see in their pull', () => {
    const diff = diffEntity(
      side(),
      side({
        receipts: [
          { eventId: 'e1', status: 'applied' },
          { eventId: 'e2', status: 'applied' },
        ],
      }),
    );
    assert.deepEqual([diff.change, diff.viewChanged], ['changed', false]);
  });

  it('tells an entity only the rebuild has from one only live has', () => {
    const added = diffEntity(undefined, side());
    assert.deepEqual([added.change, added.viewChanged, added.live, added.shadow?.version], ['added', true, null, 3]);
    const removed = diffEntity(side(), undefined);
    assert.deepEqual([removed.change, removed.viewChanged, removed.shadow, removed.fields.map((f) => f.field)], ['removed', true, null, ['title', 'votes']]);
    assert.equal(diffEntity(side({ version: 4 }), side()).change, 'changed');
    assert.equal(diffEntity(side({ deleted: true, values: {} }), side({ deleted: false, values: {} })).viewChanged, true);
  });
});

describe('addToSummary', () => {
  it('counts entities by change, fields by type, conflicts and receipt transitions', () => {
    let summary = emptyDiffSummary();
    summary = addToSummary(summary, 'prompt', diffEntity(side({ values: { title: 'a' } }), side({ values: { title: 'b' } })));
    summary = addToSummary(summary, 'prompt', diffEntity(side(), side()));
    summary = addToSummary(summary, 'prompt', diffEntity(undefined, side({ conflicts: [{ id: 'c', field: 'title', status: 'open' }] })));
    summary = addToSummary(summary, 'output', diffEntity(side({ receipts: [{ eventId: 'e9', status: 'conflicted' }] }), side({ receipts: [{ eventId: 'e9', status: 'merged' }] })));
    assert.deepEqual(summary, {
      entities: { affected: 4, changed: 2, unchanged: 1, added: 1, removed: 0 },
      fields: { 'prompt.title': 2, 'prompt.votes': 1 },
      conflicts: { opened: 1, closed: 0 },
      receipts: { 'conflicted→merged': 1, 'none→applied': 1, 'none→merged': 1 },
    });
  });

  it('digests a diff line by content, so equal diffs give equal lines', () => {
    const key = { workspace: 'acme', type: 'prompt', id: 'p1' };
    assert.equal(diffDigestLine(key, diffEntity(side({ values: { a: 1, b: 2 } }), side())), diffDigestLine(key, diffEntity(side({ values: { b: 2, a: 1 } }), side())));
    assert.notEqual(diffDigestLine(key, diffEntity(side(), side())), diffDigestLine({ ...key, id: 'p2' }, diffEntity(side(), side())));
  });
});
