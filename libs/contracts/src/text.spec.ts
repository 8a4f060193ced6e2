import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { compileValidator, findUnstorableText, isVouchedStorable, unstorableText, vouchStorableText } from './index';

describe('storable text', () => {
  it('refuses U+0000 and lone surrogates, accepts every other string (surrogate pairs included)', () => {
    assert.match(unstorableText('a\u0000b') ?? '', /U\+0000/);
    assert.match(unstorableText('\ud800') ?? '', /lone surrogate U\+D800 at index 0/);
    assert.match(unstorableText('x\udc00') ?? '', /lone surrogate U\+DC00 at index 1/);
    assert.match(unstorableText('\ud83d') ?? '', /lone surrogate/);
    assert.match(unstorableText('\udc00\ud800') ?? '', /lone surrogate/);
    for (const fine of ['', 'cat', 'émoji 🐈', '\ud83d\udc08', 'tab\tnew\nline', '\u0001', '\uffff', '\ufeff']) assert.equal(unstorableText(fine), undefined, JSON.stringify(fine));
  });

  it('names each bad string by its JSON pointer, member names too, however deep', () => {
    const value = { events: [{ fields: { label: { op: 'set', value: { deep: ['ok', 'a\u0000b'] } }, 'k\ud800': 1, 'a/b~': '\udfff' } }] };
    assert.deepEqual(
      findUnstorableText(value).map((e) => e.pointer),
      ['/events/0/fields/label/value/deep/1', '/events/0/fields/k\ud800', '/events/0/fields/a~1b~0'],
    );
    assert.deepEqual(
      findUnstorableText('\u0000').map((e) => e.pointer),
      ['/'],
    );
    assert.equal(findUnstorableText({ a: Array.from({ length: 100 }, () => '\u0000') }).length, 20, 'the first 20 are named');
    let deep: unknown = '\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.equal(findUnstorableText(deep).length, 1, 'no stack overflow on deep nesting');
  });

  it('every compiled validator refuses unstorable text, even where the schema takes any string or any value', () => {
    const validate = compileValidator(Type.Object({ name: Type.String({ maxLength: 200 }), meta: Type.Unknown() }));
    assert.equal(validate({ name: 'ok', meta: { x: ['fine'] } }).ok, true);
    const bad = validate({ name: 'a\u0000', meta: { x: ['\ud800'] } });
    assert.ok(!bad.ok);
    assert.deepEqual(
      bad.errors.map((e) => e.pointer),
      ['/name', '/meta/x/0'],
    );
    const both = validate({ name: 7, meta: '\u0000' });
    assert.ok(!both.ok);
    assert.deepEqual(both.errors.map((e) => e.pointer).sort(), ['/meta', '/name']);
  });
});

describe('text vouched for by the parser', () => {
  it('is not walked again by a compiled validator; anything else is', () => {
    const validate = compileValidator(Type.Object({ name: Type.String() }));
    // Only the parser vouches, for a value it walked; a bad value vouched for shows the walk is skipped.
    const vouchedFor = { name: 'a\u0000' };
    vouchStorableText(vouchedFor);
    assert.equal(isVouchedStorable(vouchedFor), true);
    assert.equal(validate(vouchedFor).ok, true);
    assert.equal(validate({ name: 'a\u0000' }).ok, false, 'a value nobody vouched for is walked');
    assert.equal(isVouchedStorable('text'), false);
  });
});
