import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkKey } from '../storage/storage';
import { encodeName, entityStorageKey } from './keys';

describe('replica storage keys', () => {
  it('encodes names injectively, in lower case, within the storage key alphabet', () => {
    assert.equal(encodeName('img-1'), 'img-1');
    assert.equal(encodeName('Img_1:x'), '.img_1:x');
    assert.equal(encodeName('a.b é'), 'a..002eb..0020..00e9');
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (a, b) => {
        const ea = encodeName(a);
        assert.equal(ea, ea.toLowerCase());
        assert.match(ea, /^[a-z0-9_:.-]*$/);
        if (a !== b) assert.notEqual(ea, encodeName(b));
      }),
    );
  });

  it('gives every entity a valid key, cutting long ids with a suffix unique among the keys in use', () => {
    const used = new Set<string>();
    const long = 'A'.repeat(128);
    const first = entityStorageKey('annotation', long, (k) => used.has(k));
    used.add(first);
    const second = entityStorageKey('annotation', `${long.slice(0, -1)}B`, (k) => used.has(k));
    for (const key of [first, second, entityStorageKey('annotation', 'img-1', () => false)]) checkKey(key);
    assert.notEqual(first, second);
    assert.match(first, /\.-1$/);
    assert.match(second, /\.-2$/);
  });
});
