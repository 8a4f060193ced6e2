import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Where, seqCursor } from './sql';

describe('listing SQL', () => {
  it('numbers WHERE parameters in order', () => {
    const where = new Where().add('a = $?', 1).add("b = 'x'").add('(c, d) > ($?, $?)', 2, 3);
    assert.equal(where.clause(), "WHERE a = $1 AND b = 'x' AND (c, d) > ($2, $3)");
    assert.equal(where.param(10), '$4');
    assert.deepEqual(where.params, [1, 2, 3, 10]);
    assert.equal(new Where().clause(), '');
  });

  it('writes a listing cursor as <sequence>:<id>', () => {
    assert.equal(seqCursor(12, 'abc:label'), '12:abc:label');
  });
});
