import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accessOf, accessOfRole, checkBatchWrite, checkResolve, type AccessRules } from '../index';
import { accessSpec, event, remove, resolution, transition, upsert } from '../testing/access-spec';

const LAB: AccessRules = {
  version: 3,
  roles: {
    annotator: { write: { annotation: ['label', 'tags', 'notes'] } },
    reviewer: { write: { annotation: { fields: '*', delete: true } }, resolve: ['annotation'] },
    pipeline: { write: { job: '*', output: '*' } },
    worker: { write: { job: { fields: ['logs', 'progress'], transition: true } } },
    admin: { write: '*', resolve: true },
  },
};

describe('checkWrite: a workspace without rules', () => {
  const spec = accessSpec(undefined);

  it('lets every device write everything, as before rules existed', () => {
    for (const role of [null, 'pipeline', 'anything']) {
      spec
        .given(role)
        .when(upsert('annotation', { label: 'cat' }))
        .thenAllowed();
      spec.given(role).when(remove('prompt')).thenAllowed();
      spec.given(role).when(transition('job')).thenAllowed();
      spec.given(role).when(resolution('annotation')).thenAllowed();
    }
  });
});

describe('checkWrite: upserts', () => {
  const spec = accessSpec(LAB);

  it('allows the fields a role lists, and every field of a "*" type', () => {
    spec
      .given('annotator')
      .when(upsert('annotation', { label: 'cat', tags: ['a'] }))
      .thenAllowed();
    spec
      .given('pipeline')
      .when(upsert('job', { kind: 'embed', input: {}, progress: 0.5 }))
      .thenAllowed();
    spec
      .given('admin')
      .when(upsert('prompt', { text: 'hi' }))
      .thenAllowed();
  });

  it('denies each field a role does not list, by pointer', () => {
    spec
      .given('annotator')
      .when(upsert('annotation', { label: 'cat', confidence: 0.9, region: null }))
      .thenDenied(['field-not-writable@/fields/confidence', 'field-not-writable@/fields/region'], /role "annotator" \(access rules v3\) may not write field "(confidence|region)" of annotation/);
  });

  it('denies a type the role does not name once, at /entity/type', () => {
    spec
      .given('pipeline')
      .when(upsert('annotation', { label: 'cat', tags: [] }))
      .thenDenied(['type-not-writable@/entity/type'], /role "pipeline" \(access rules v3\) may not write entities of type annotation/);
    spec
      .given('annotator')
      .when(upsert('constructor', { label: 'x' }))
      .thenDenied(['type-not-writable@/entity/type']);
  });
});

describe('checkWrite: deletes, transitions and resolutions pushed as events', () => {
  const spec = accessSpec(LAB);

  it('allows a delete only where the role may delete the type', () => {
    spec.given('reviewer').when(remove('annotation')).thenAllowed();
    spec.given('pipeline').when(remove('output')).thenAllowed();
    spec
      .given('annotator')
      .when(remove('annotation'))
      .thenDenied(['delete-not-allowed@/op'], /may not delete entities of type annotation/);
    spec.given('reviewer').when(remove('job')).thenDenied(['type-not-writable@/entity/type']);
  });

  it('allows a transition where the role may report them, checking the fields it changes', () => {
    spec
      .given('pipeline')
      .when(transition('job', { outputId: 'o-1' }))
      .thenAllowed();
    spec
      .given('worker')
      .when(transition('job', { progress: 0.1, logs: ['go'] }))
      .thenAllowed();
    spec
      .given('worker')
      .when(transition('job', { outputId: 'o-1' }))
      .thenDenied(['field-not-writable@/fields/outputId']);
    spec
      .given('worker')
      .when(upsert('job', { input: {} }))
      .thenDenied(['field-not-writable@/fields/input']);
    spec.given('worker').when(remove('job')).thenDenied(['delete-not-allowed@/op']);
    spec.given('annotator').when(transition('job')).thenDenied(['type-not-writable@/entity/type']);
    spec
      .given('reviewer')
      .when(event({ entity: { type: 'annotation', id: 'a' }, op: 'transition', job: { to: 'running', attempt: 1 }, fields: { label: { op: 'set', value: 'x' } } }))
      .thenDenied(['transition-not-allowed@/op'], /may not report job transitions of annotation/);
  });

  it('treats a resolution pushed as an event as the resolve permission, whatever the role may write', () => {
    spec.given('reviewer').when(resolution('annotation')).thenAllowed();
    spec.given('admin').when(resolution('job')).thenAllowed();
    spec
      .given('reviewer')
      .when(resolution('prompt'))
      .thenDenied(['resolve-not-allowed@/op'], /may not resolve conflicts of prompt/);
    spec.given('pipeline').when(resolution('job')).thenDenied(['resolve-not-allowed@/op']);
  });
});

describe('checkWrite: devices whose role the rules do not declare', () => {
  it('denies a device in an undeclared role, or without a role when there is no default, the whole event', () => {
    const spec = accessSpec(LAB);
    spec
      .given('intern')
      .when(upsert('annotation', { label: 'x' }))
      .thenDenied(['role-undeclared@'], /role "intern" is not declared in the workspace's access rules \(v3\)/);
    spec
      .given(null)
      .when(upsert('annotation', { label: 'x' }))
      .thenDenied(['role-undeclared@'], /no role, and the workspace's access rules \(v3\) declare no default role/);
  });

  it('gives a device without a role the default role', () => {
    const spec = accessSpec({ ...LAB, defaultRole: 'annotator' });
    spec
      .given(null)
      .when(upsert('annotation', { label: 'x' }))
      .thenAllowed();
    spec
      .given(null)
      .when(upsert('annotation', { confidence: 1 }))
      .thenDenied(['field-not-writable@/fields/confidence']);
    spec
      .given('pipeline')
      .when(upsert('annotation', { label: 'x' }))
      .thenDenied(['type-not-writable@/entity/type'], /role "pipeline"/);
  });
});

describe('checkBatchWrite', () => {
  it('names every denial of every event by its pointer into the batch, skipping exempt events', () => {
    const access = accessOf(LAB, 'pipeline');
    const events = [upsert('job', { kind: 'x' }), upsert('annotation', { label: 'cat' }), upsert('output', { score: 1 }), remove('annotation')];
    assert.deepStrictEqual(
      checkBatchWrite(access, events).map((d) => `${d.code}@${d.pointer}`),
      ['type-not-writable@/events/1/entity/type', 'type-not-writable@/events/3/entity/type'],
    );
    assert.deepStrictEqual(
      checkBatchWrite(access, events, (e) => e.entity.type === 'annotation'),
      [],
    );
    assert.deepStrictEqual(checkBatchWrite(accessOf(undefined, null), events), []);
  });
});

describe('accessOf and accessOfRole', () => {
  it('agree: the parts a store reads in one statement give the access the rules give', () => {
    for (const role of [null, 'annotator', 'admin', 'intern']) {
      for (const rules of [LAB, { ...LAB, defaultRole: 'admin' }, undefined]) {
        const effective = rules ? (role ?? rules.defaultRole ?? null) : null;
        const parts = accessOfRole(rules?.version ?? null, effective, effective === null || !rules ? undefined : rules.roles[effective]);
        assert.deepStrictEqual(parts, accessOf(rules, role), `${role} under ${rules?.defaultRole ?? (rules ? 'rules' : 'none')}`);
      }
    }
  });
});

describe('checkResolve', () => {
  it('is a permission of its own, per entity type or for every type', () => {
    assert.deepStrictEqual(checkResolve(accessOf(undefined, null), 'annotation'), { ok: true });
    assert.deepStrictEqual(checkResolve(accessOf(LAB, 'admin'), 'prompt'), { ok: true });
    assert.deepStrictEqual(checkResolve(accessOf(LAB, 'reviewer'), 'annotation'), { ok: true });
    assert.deepStrictEqual(checkResolve(accessOf(LAB, 'reviewer')), { ok: true }, 'a reviewer resolves some type');
    const prompt = checkResolve(accessOf(LAB, 'reviewer'), 'prompt');
    assert.ok(!prompt.ok && prompt.code === 'resolve-not-allowed' && /role "reviewer" \(access rules v3\) may not resolve conflicts of prompt/.test(prompt.detail));
    const pipeline = checkResolve(accessOf(LAB, 'pipeline'));
    assert.ok(!pipeline.ok && pipeline.code === 'resolve-not-allowed' && /may not resolve conflicts$/.test(pipeline.detail));
    const intern = checkResolve(accessOf(LAB, 'intern'), 'annotation');
    assert.ok(!intern.ok && intern.code === 'role-undeclared' && /may resolve nothing/.test(intern.detail));
  });
});
