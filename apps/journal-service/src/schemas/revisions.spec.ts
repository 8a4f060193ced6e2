import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ANNOTATION_V1, type EntityTypeSchema } from '@tidemark/merge';
import { decideRevisionPublish, readRevisionRequest } from './revisions';

const v2: EntityTypeSchema = { ...ANNOTATION_V1, version: 2, fields: { ...ANNOTATION_V1.fields, severity: { policy: 'max', valueType: 'integer' } } };
const published = [
  { version: 1, definition: JSON.parse(JSON.stringify(ANNOTATION_V1)) as unknown },
  { version: 2, definition: JSON.parse(JSON.stringify(v2)) as unknown },
];
const revision = { type: 'annotation', revision: 2, fields: { assetId: { policy: 'max' }, severity: { policy: 'min' } }, description: 'lowest severity wins' };

describe('readRevisionRequest', () => {
  it('accepts a revision of fields any published version declares', () => {
    assert.deepEqual(readRevisionRequest('annotation', '2', revision, published), { ok: true, revision });
  });

  it('names every problem of path and body by pointer', () => {
    const result = readRevisionRequest('annotation', '1', { ...revision, revision: 1, fields: { colour: { policy: 'max' }, votes: { policy: 'lww', extra: 1 } } }, published);
    assert.equal(result.ok, false);
    assert.deepEqual(result.ok ? [] : result.errors.map((e) => e.pointer).sort(), ['/fields/colour', '/fields/votes/extra', '/revision', 'path:revision']);
  });

  it('refuses a policy that cannot merge a field’s value type in some version', () => {
    const result = readRevisionRequest('annotation', '2', { type: 'annotation', revision: 2, fields: { tags: { policy: 'counter' }, reviewedBy: { policy: 'max' } } }, published);
    assert.equal(result.ok, false);
    const byPointer = Object.fromEntries(result.ok ? [] : result.errors.map((e) => [e.pointer, e.detail]));
    assert.match(byPointer['/fields/tags']!, /"counter" merges "integer", but annotation v[12] declares "tags" as "string"/);
    assert.match(byPointer['/fields/reviewedBy']!, /nullable/);
  });

  it('refuses a body that is not the revision the path names, or a type never published', () => {
    const result = readRevisionRequest('annotation', '3', revision, published);
    assert.deepEqual(result.ok ? [] : result.errors.map((e) => e.pointer), ['/revision']);
    const unknown = readRevisionRequest('invoice', '2', { ...revision, type: 'invoice' }, []);
    assert.deepEqual(unknown.ok ? [] : unknown.errors.map((e) => e.pointer), ['/type']);
  });
});

describe('decideRevisionPublish', () => {
  it('inserts a new revision, treats the same one in any member order as a retry, never changes one', () => {
    assert.equal(decideRevisionPublish(revision as never, undefined), 'insert');
    const reordered = JSON.parse(JSON.stringify({ fields: revision.fields, revision: 2, description: revision.description, type: 'annotation' })) as unknown;
    assert.equal(decideRevisionPublish(revision as never, { definition: reordered }), 'identical');
    assert.equal(decideRevisionPublish(revision as never, { definition: { ...revision, description: 'other' } }), 'immutable');
  });
});
