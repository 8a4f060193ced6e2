import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { runQuery, type EntityRead } from './query';

const read = (id: string, values: Record<string, unknown>, extra: Partial<EntityRead> = {}): EntityRead => ({
  type: 't',
  id,
  version: 1,
  deleted: false,
  values,
  inConflict: [],
  status: 'applied',
  conflicts: [],
  unsettled: 0,
  ...extra,
});

describe('replica queries (pure)', () => {
  it('sorts missing values last in either direction, then by id; values of different types in one total order', () => {
    const reads = [read('a', { n: 2 }), read('b', {}), read('c', { n: 'x' }), read('d', { n: 1 }), read('e', { n: null }), read('f', { n: true })];
    assert.deepEqual(
      runQuery(reads, { type: 't', orderBy: 'n' }).map((r) => r.id),
      ['d', 'a', 'c', 'f', 'b', 'e'],
    );
    assert.deepEqual(
      runQuery(reads, { type: 't', orderBy: '-n' }).map((r) => r.id),
      ['f', 'c', 'a', 'd', 'b', 'e'],
    );
    assert.deepEqual(
      runQuery(reads, { type: 't', where: { n: null } }).map((r) => r.id),
      ['b', 'e'],
      'a missing field equals null',
    );
    assert.deepEqual(
      runQuery(reads, { type: 't', where: { $status: 'applied', n: { gt: 1 } } }).map((r) => r.id),
      ['a'],
    );
    assert.deepEqual(runQuery([read('x', { o: { b: 1, a: [2] } })], { type: 't', where: { o: { eq: { a: [2], b: 1 } } } }).length, 1, 'objects compare by value');
  });

  it('a limited query (bounded buffer) answers what a full sort would, whatever the data', () => {
    const value = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom('a', 'b', 'c'), fc.constant(undefined), fc.constant(null), fc.boolean());
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ id: fc.string({ minLength: 1, maxLength: 4 }), x: value, y: value, deleted: fc.boolean() }), { selector: (r) => r.id, maxLength: 60 }),
        fc.constantFrom<('x' | '-x' | 'y' | '-y')[]>(['x'], ['-x'], ['x', '-y'], ['-y', 'x'], []),
        fc.integer({ min: 0, max: 70 }),
        (rows, orderBy, limit) => {
          const reads = rows.map((r) => read(r.id, { ...(r.x !== undefined ? { x: r.x } : {}), ...(r.y !== undefined ? { y: r.y } : {}) }, { deleted: r.deleted }));
          const full = runQuery(reads, { type: 't', orderBy, limit: 1000 }).slice(0, limit);
          assert.deepEqual(
            runQuery(reads, { type: 't', orderBy, limit }).map((r) => r.id),
            full.map((r) => r.id),
          );
        },
      ),
    );
  });
});
