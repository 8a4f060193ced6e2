import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ANNOTATION_V1, type EntityTypeSchema } from '@tidemark/merge';
import { decidePublish, readPublishRequest } from './publish';

const v2: EntityTypeSchema = { ...ANNOTATION_V1, version: 2, fields: { ...ANNOTATION_V1.fields, severity: { policy: 'max', valueType: 'integer' } } };
const published = [{ version: 1, definition: JSON.parse(JSON.stringify(ANNOTATION_V1)) as unknown }];

describe('readPublishRequest', () => {
  it('accepts a valid definition whose type and version are the path’s', () => {
    assert.deepEqual(readPublishRequest('annotation', '2', v2), { ok: true, schema: v2 });
  });

  it('names every problem of path and body by pointer', () => {
    const result = readPublishRequest('Bad-Type', '0', { type: 'annotation', version: 1, fields: { label: { policy: 'newest', valueType: 'string' } }, onDeleteConflict: 'maybe', colour: 'red' });
    assert.equal(result.ok, false);
    assert.deepEqual(result.ok ? [] : result.errors.map((e) => e.pointer).sort(), ['/colour', '/fields/label/policy', '/onDeleteConflict', 'path:type', 'path:version']);
  });

  it('refuses a body that names another type or version than the path', () => {
    const result = readPublishRequest('prompt', '3', v2);
    assert.deepEqual(result.ok ? [] : result.errors.map((e) => e.pointer), ['/type', '/version']);
  });
});

describe('decidePublish', () => {
  it('inserts a new, compatible version', () => {
    assert.deepEqual(decidePublish(v2, published), { kind: 'insert' });
  });

  it('treats the same definition, in any member order, as a retry', () => {
    const reordered = JSON.parse(
      JSON.stringify({ fields: ANNOTATION_V1.fields, version: 1, onDeleteConflict: 'review', type: 'annotation', description: ANNOTATION_V1.description }),
    ) as EntityTypeSchema;
    assert.deepEqual(decidePublish(reordered, published), { kind: 'identical' });
  });

  it('never changes a published version', () => {
    assert.deepEqual(decidePublish({ ...ANNOTATION_V1, description: 'another' }, published), { kind: 'immutable' });
  });

  it('refuses a version that changes a field’s policy, naming the field in the body', () => {
    const v3: EntityTypeSchema = { ...v2, version: 3, fields: { ...v2.fields, label: { policy: 'lww', valueType: 'string' } } };
    const decision = decidePublish(v3, published);
    assert.equal(decision.kind, 'incompatible');
    assert.deepEqual(decision.kind === 'incompatible' ? decision.errors.map((e) => e.pointer) : [], ['/fields/label']);
  });

  it('refuses a version that changes the job flag', () => {
    const decision = decidePublish({ ...v2, job: true }, published);
    assert.deepEqual(decision.kind === 'incompatible' ? decision.errors.map((e) => e.pointer) : decision, ['/job']);
  });

  it('checks a version published out of order against the newer ones too', () => {
    const v3 = { version: 3, definition: { ...v2, version: 3 } };
    const decision = decidePublish({ ...v2, fields: { ...v2.fields, severity: { policy: 'counter', valueType: 'integer' } } }, [...published, v3]);
    assert.deepEqual(decision.kind === 'incompatible' ? decision.errors.map((e) => e.pointer) : decision, ['/fields/severity']);
  });

  it('leaves out stored rows that are not valid schemas', () => {
    assert.deepEqual(decidePublish(v2, [...published, { version: 7, definition: { nonsense: true } }]), { kind: 'insert' });
  });
});
