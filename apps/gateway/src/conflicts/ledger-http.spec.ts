import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictListQuery, ReceiptQuery, compileValidator } from '@tidemark/contracts';
import { ProblemError } from '@tidemark/platform';
import { decodeCursor, encodeCursor, pageOf, parseQuery } from './ledger-http';

const problemOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ProblemError);
    return error.problem;
  }
  assert.fail('expected a problem');
};

describe('ledger query parsing', () => {
  const conflicts = compileValidator(ConflictListQuery);
  const receipts = compileValidator(ReceiptQuery);

  it('turns a digit limit into a number and keeps the rest', () => {
    assert.deepEqual(parseQuery(conflicts, { limit: '25', status: 'all', field: '$entity' }), { limit: 25, status: 'all', field: '$entity' });
  });

  it('names every bad parameter as query:<name>', () => {
    const problem = problemOf(() => parseQuery(conflicts, { limit: '501', status: 'closed', colour: 'red', after: 'x' }));
    assert.equal(problem.status, 400);
    assert.deepEqual(problem.errors!.map((e) => e.pointer).sort(), ['query:after', 'query:colour', 'query:limit', 'query:status']);
    assert.equal(problem.errors!.find((e) => e.pointer === 'query:colour')!.detail, 'unknown parameter');
  });

  it('keeps the page size within 1..500', () => {
    for (const limit of ['0', '501', '-1', '1.5', ''])
      assert.ok(
        problemOf(() => parseQuery(conflicts, { limit })).errors!.some((e) => e.pointer === 'query:limit'),
        limit,
      );
    assert.equal(parseQuery(conflicts, { limit: '500' }).limit, 500);
  });

  it('requires the device of a receipt listing and accepts a deviceSeq or a cursor as after', () => {
    assert.deepEqual(problemOf(() => parseQuery(receipts, {})).errors, [{ pointer: 'query:deviceId', detail: 'is required' }]);
    assert.equal(parseQuery(receipts, { deviceId: 'd', after: '7' }).after, '7');
    const cursor = encodeCursor(7, '0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69');
    assert.equal(parseQuery(receipts, { deviceId: 'd', after: cursor }).after, cursor);
    assert.ok(problemOf(() => parseQuery(receipts, { deviceId: 'd', after: '7:zzzz' })).errors!.some((e) => e.pointer === 'query:after'));
  });
});

describe('ledger cursors and pages', () => {
  it('splits a cursor at its first colon (conflict ids contain colons)', () => {
    assert.deepEqual(decodeCursor(encodeCursor('12', 'abc:label')), { seq: '12', id: 'abc:label' });
    assert.deepEqual(decodeCursor('12'), { seq: '12', id: undefined });
  });

  it('pages limit + 1 rows', () => {
    const rows = [1, 2, 3];
    assert.deepEqual(pageOf(rows, 2, String, undefined), { page: [1, 2], hasMore: true, next: '2' });
    assert.deepEqual(pageOf(rows, 5, String, undefined), { page: [1, 2, 3], hasMore: false, next: '3' });
    assert.deepEqual(pageOf([], 5, String, '9'), { page: [], hasMore: false, next: '9' });
    assert.deepEqual(pageOf([], 5, String, undefined), { page: [], hasMore: false });
  });
});
