import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scopeKey } from '@tidemark/contracts/core';
import { checkSubscription, filterAdmits, readFilter, validateAccessRules, type AccessRules, type Claims, type Subscription } from '../index';

const LAB: AccessRules = {
  version: 3,
  defaultRole: 'annotator',
  scopes: {
    project: { types: ['annotation', 'image'], partition: { values: { claim: 'projects' } } },
    anyproject: { types: ['annotation', 'image'], partition: { values: '*' } },
    catalog: { types: ['label_set'] },
  },
  roles: {
    annotator: { write: { annotation: ['label'] }, read: ['project', 'catalog'] },
    reviewer: { write: { annotation: '*' }, resolve: true, read: ['anyproject', 'catalog'] },
    pipeline: { write: { job: '*' } },
    nobody: { write: {}, read: [] },
  },
};

/** Given the rules, a role and claims; when the device holds these subscriptions; then it reads this. */
function given(rules: AccessRules | undefined, role: string | null, claims: Claims = {}) {
  if (rules) assert.deepStrictEqual(validateAccessRules(rules), [], 'the rules of a specification are valid');
  return {
    when(...subscriptions: Subscription[]) {
      const frozen = Object.freeze(subscriptions.map((s) => Object.freeze({ ...s })));
      const filter = readFilter(rules, role, claims, frozen);
      assert.deepStrictEqual(readFilter(rules, role, claims, frozen), filter, 'the same filter when asked twice');
      return {
        thenReadsAll: () => assert.deepStrictEqual(filter, { kind: 'all' }),
        thenReads: (keys: string[], types: string[] = []) => assert.deepStrictEqual(filter, { kind: 'scoped', keys, types }),
      };
    },
  };
}

describe('read scopes: what a device receives', () => {
  it('a workspace without rules reads everything, subscriptions or not', () => {
    given(undefined, null).when().thenReadsAll();
    given(undefined, 'annotator').when({ scope: 'project', value: 'p1' }).thenReadsAll();
  });

  it('a role that reads "*" (or declares no read) reads everything until it subscribes, then only its subscriptions', () => {
    given(LAB, 'pipeline').when().thenReadsAll();
    given(LAB, 'pipeline')
      .when({ scope: 'catalog' }, { scope: 'anyproject', value: 'p9' })
      .thenReads([scopeKey('annotation', 'p9'), scopeKey('image', 'p9')], ['label_set']);
  });

  it('a role with a list of scopes reads nothing until it subscribes, then the scopes it may read with values its claims list', () => {
    const claims = { projects: ['p1', 'p2'] };
    given(LAB, 'annotator', claims).when().thenReads([]);
    given(LAB, 'annotator', claims)
      .when({ scope: 'project', value: 'p2' }, { scope: 'project', value: 'p1' }, { scope: 'catalog' })
      .thenReads([scopeKey('annotation', 'p1'), scopeKey('annotation', 'p2'), scopeKey('image', 'p1'), scopeKey('image', 'p2')], ['label_set']);
  });

  it('a subscription the rules do not allow (any more) delivers nothing, the others still do', () => {
    given(LAB, 'annotator', { projects: ['p1'] })
      .when({ scope: 'project', value: 'p1' }, { scope: 'project', value: 'p7' }, { scope: 'anyproject', value: 'p7' }, { scope: 'gone' })
      .thenReads([scopeKey('annotation', 'p1'), scopeKey('image', 'p1')]);
  });

  it('the default role applies to a device without one; an undeclared role reads nothing', () => {
    given(LAB, null, { projects: 'p5' })
      .when({ scope: 'project', value: 'p5' })
      .thenReads([scopeKey('annotation', 'p5'), scopeKey('image', 'p5')]);
    given(LAB, 'ghost').when({ scope: 'catalog' }).thenReads([]);
    given({ ...LAB, defaultRole: undefined }, null)
      .when()
      .thenReads([]);
  });

  it('integer claims match their decimal partition value', () => {
    given(LAB, 'annotator', { projects: [17] })
      .when({ scope: 'project', value: '17' })
      .thenReads([scopeKey('annotation', '17'), scopeKey('image', '17')]);
  });

  it('filterAdmits: exact keys, and every key of a whole type', () => {
    const filter = readFilter(LAB, 'annotator', { projects: ['p1'] }, [{ scope: 'project', value: 'p1' }, { scope: 'catalog' }]);
    assert.ok(filterAdmits(filter, 'annotation', scopeKey('annotation', 'p1')));
    assert.ok(!filterAdmits(filter, 'annotation', scopeKey('annotation', 'p2')));
    assert.ok(filterAdmits(filter, 'label_set', scopeKey('label_set')));
    assert.ok(filterAdmits(filter, 'label_set', scopeKey('label_set', 'x')));
    assert.ok(filterAdmits({ kind: 'all' }, 'anything', 'anything'));
  });
});

describe('checkSubscription: each refusal with its code', () => {
  const check = (role: string | null, claims: Claims, s: Subscription) => {
    const verdict = checkSubscription(LAB, role, claims, s);
    return verdict.ok ? 'ok' : verdict.code;
  };
  it('names why', () => {
    assert.equal(check('annotator', { projects: ['p1'] }, { scope: 'project', value: 'p1' }), 'ok');
    assert.equal(check('annotator', { projects: ['p1'] }, { scope: 'nope' }), 'scope-unknown');
    assert.equal(check('annotator', { projects: ['p1'] }, { scope: 'anyproject', value: 'p1' }), 'scope-not-readable');
    assert.equal(check('nobody', {}, { scope: 'catalog' }), 'scope-not-readable');
    assert.equal(check('annotator', { projects: ['p1'] }, { scope: 'project' }), 'value-required');
    assert.equal(check('annotator', { projects: ['p1'] }, { scope: 'catalog', value: 'x' }), 'value-not-expected');
    assert.equal(check('annotator', { projects: ['p1'] }, { scope: 'project', value: 'p2' }), 'value-not-allowed');
    assert.equal(check('annotator', { projects: { p2: true } }, { scope: 'project', value: 'p2' }), 'value-not-allowed');
    assert.equal(check('reviewer', {}, { scope: 'anyproject', value: 'anything' }), 'ok');
    assert.equal(checkSubscription(undefined, null, {}, { scope: 'catalog' }).ok, false);
  });
  it('never reads a claim or scope from the prototype chain', () => {
    assert.equal(check('annotator', {}, { scope: 'toString' }), 'scope-unknown');
    assert.equal(check('annotator', Object.create({ projects: ['p1'] }) as Claims, { scope: 'project', value: 'p1' }), 'value-not-allowed');
  });
});

describe('validateAccessRules: scopes and read', () => {
  it('names each problem of a scope declaration by pointer', () => {
    const errors = Object.fromEntries(
      validateAccessRules({
        version: 1,
        scopes: { Bad: { types: ['a'] }, empty: { types: [] }, odd: { types: ['a'], partition: { values: 'all' }, extra: 1 }, claimy: { types: ['a'], partition: { values: { claim: '9x' } } } },
        roles: { r: { write: {}, read: ['empty', 'missing', 'empty'] }, s: { write: {}, read: 'some' } },
      }).map((e) => [e.pointer, e.detail]),
    );
    assert.match(errors['/scopes/Bad']!, /scope name must match/);
    assert.match(errors['/scopes/empty/types']!, /at least one/);
    assert.match(errors['/scopes/odd/partition/values']!, /"\*" \(any value\)/);
    assert.equal(errors['/scopes/odd/extra'], 'unknown member');
    assert.match(errors['/scopes/claimy/partition/values/claim']!, /claim name must match/);
    assert.match(errors['/roles/r/read/1']!, /"missing", which is not a declared scope/);
    assert.match(errors['/roles/r/read/2']!, /repeats scope "empty"/);
    assert.match(errors['/roles/s/read']!, /"\*" \(the whole workspace\) or a list/);
  });
});
