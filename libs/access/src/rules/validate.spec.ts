import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isAccessRules, typeGrant, validateAccessRules, type AccessRules } from '../index';

const byPointer = (input: unknown) => Object.fromEntries(validateAccessRules(input).map((e) => [e.pointer, e.detail]));

const LAB: AccessRules = {
  version: 1,
  description: 'annotation lab',
  defaultRole: 'annotator',
  roles: {
    annotator: { write: { annotation: ['label', 'tags', 'notes'] } },
    reviewer: { write: { annotation: { fields: '*', delete: true } }, resolve: ['annotation'] },
    pipeline: { write: { job: '*', output: '*' } },
    admin: { write: '*', resolve: true },
  },
};

describe('validateAccessRules', () => {
  it('accepts rules using every form of a write grant', () => {
    assert.deepStrictEqual(validateAccessRules(LAB), []);
    assert.ok(isAccessRules(LAB));
    assert.ok(isAccessRules({ version: 7, roles: { worker: { write: { job: { transition: true, fields: ['logs', 'progress'] } } } } }));
  });

  it('names each problem by pointer', () => {
    const errors = byPointer({
      version: 0,
      extra: true,
      defaultRole: 'ghost',
      roles: {
        Bad: { write: '*' },
        reader: { write: {}, read: ['mine'] },
        typo: { wirte: '*' },
        odd: { write: { Annotation: ['label'], job: [], prompt: ['text', 'text', '9x'], output: { fields: 'label', delete: 'yes', purge: true }, asset: 3 }, resolve: 'yes' },
        picky: { write: 'all', resolve: ['annotation', 'annotation'] },
      },
    });
    assert.match(errors['/version']!, /integer from 1/);
    assert.equal(errors['/extra'], 'unknown member');
    assert.match(errors['/defaultRole']!, /"ghost", which is not a declared role/);
    assert.match(errors['/roles/Bad']!, /role name must match/);
    assert.match(errors['/roles/reader/read/0']!, /"mine", which is not a declared scope/);
    assert.equal(errors['/roles/typo/wirte'], 'unknown member');
    assert.match(errors['/roles/typo/write']!, /is required/);
    assert.match(errors['/roles/odd/write/Annotation']!, /entity type must match/);
    assert.match(errors['/roles/odd/write/job']!, /names no fields/);
    assert.match(errors['/roles/odd/write/prompt/1']!, /repeats field "text"/);
    assert.match(errors['/roles/odd/write/prompt/2']!, /field name must match/);
    assert.match(errors['/roles/odd/write/output/fields']!, /"\*" or a list/);
    assert.match(errors['/roles/odd/write/output/delete']!, /boolean/);
    assert.equal(errors['/roles/odd/write/output/purge'], 'unknown member');
    assert.match(errors['/roles/odd/write/asset']!, /must be "\*", a list of fields, or an object/);
    assert.match(errors['/roles/odd/resolve']!, /true, false or a list/);
    assert.match(errors['/roles/picky/write']!, /"\*" or an object/);
    assert.match(errors['/roles/picky/resolve/1']!, /repeats entity type "annotation"/);
  });

  it('refuses rules without roles, and anything that is not an object', () => {
    assert.deepStrictEqual(Object.keys(byPointer({ version: 1, roles: {} })), ['/roles']);
    assert.deepStrictEqual(Object.keys(byPointer({ version: 1, roles: [] })), ['/roles']);
    assert.deepStrictEqual(Object.keys(byPointer(null)), ['/']);
    assert.deepStrictEqual(Object.keys(byPointer([LAB])), ['/']);
  });

  it('escapes member names in pointers and never reads inherited members', () => {
    const errors = byPointer({ version: 1, roles: { 'a/b~c': { write: { 'x/y': '*' } }, constructor: { write: '*' } }, defaultRole: 'toString' });
    assert.ok(errors['/roles/a~1b~0c'], JSON.stringify(errors));
    assert.ok(errors['/roles/a~1b~0c/write/x~1y'], JSON.stringify(errors));
    assert.equal(errors['/roles/constructor'], undefined, 'a role may be called constructor');
    assert.match(errors['/defaultRole']!, /not a declared role/);
  });
});

describe('typeGrant', () => {
  it('spells out every shorthand', () => {
    assert.deepStrictEqual(typeGrant(LAB.roles.admin!, 'anything'), { fields: '*', delete: true, transition: true });
    assert.deepStrictEqual(typeGrant(LAB.roles.pipeline!, 'job'), { fields: '*', delete: true, transition: true });
    assert.deepStrictEqual(typeGrant(LAB.roles.annotator!, 'annotation'), { fields: ['label', 'tags', 'notes'], delete: false, transition: false });
    assert.deepStrictEqual(typeGrant(LAB.roles.reviewer!, 'annotation'), { fields: '*', delete: true, transition: false });
    assert.deepStrictEqual(typeGrant({ write: { job: { transition: true } } }, 'job'), { fields: [], delete: false, transition: true });
    assert.deepStrictEqual(typeGrant(LAB.roles.annotator!, 'job'), { fields: [], delete: false, transition: false });
    assert.deepStrictEqual(typeGrant(LAB.roles.annotator!, 'constructor'), { fields: [], delete: false, transition: false }, 'nothing inherited');
  });
});
