import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppliedChange, MESSAGE_PAYLOADS, MESSAGE_SCHEMA_VERSIONS, SCHEMA_VERSION_HEADER, compileValidator, schemaVersionHeaders, validateMessage, type MergedChange } from '../index';

const merged: MergedChange = {
  workspace: 'default',
  entity: { type: 'annotation', id: 'img-42' },
  version: 2,
  deleted: false,
  view: { version: 2, deleted: false, values: { label: 'cat', tags: ['a'] }, inConflict: [], job: { state: 'running', attempt: 1 } },
  eventId: '0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69',
  deviceId: 'laptop-1',
  streamSeq: 17,
  outcome: 'merged',
  decisions: [{ field: 'label', policy: 'lww', rule: 'lww:newer-stamp', outcome: 'applied' }],
};
const stamp = { eventId: '7a1c2e9d-3b4f-4c5a-8d6e-1f2a3b4c5d6e', deviceId: 'tablet-a', hlc: { wall: 1764062153123, counter: 0 } };
const facts = { workspace: 'default', entity: { type: 'annotation', id: 'img-42' }, acceptedAt: '2026-12-01T09:00:00.000Z', streamSeq: 19, openedAt: 3 };

describe('published message schemas', () => {
  it('accepts a MERGED change and names each problem of a broken one by JSON pointer', () => {
    assert.deepEqual(validateMessage('mergedChange', merged), { ok: true, value: merged });
    const broken = { ...merged, outcome: 'noop', streamSeq: 0, extra: true, entity: { type: 'Annotation', id: 'img-42' } };
    assert.equal(validateMessage('mergedChange', broken).ok, false);
    const result = compileValidator(AppliedChange)(broken);
    const pointers = result.ok ? [] : result.errors.map((e) => e.pointer).sort();
    assert.deepEqual(pointers, ['/entity/type', '/extra', '/outcome', '/streamSeq']);
    const missing = validateMessage('mergedChange', { ...merged, view: undefined });
    assert.ok(!missing.ok && missing.errors.some((e) => e.pointer === '/view' && e.detail === 'is required'));
  });

  it('accepts a replay’s rebuilt state on MERGED, and refuses one that claims decisions or lacks its replay', () => {
    const replayId = '5b1c2d3e-0000-4000-8000-000000000001';
    const replayed = {
      ...merged,
      version: 0,
      deleted: true,
      view: { version: 0, deleted: true, values: {}, inConflict: [] },
      deviceId: `replay:${replayId}`,
      outcome: 'replayed',
      replayId,
      decisions: [],
    };
    assert.equal(validateMessage('mergedChange', replayed).ok, true);
    assert.equal(validateMessage('mergedChange', { ...replayed, decisions: merged.decisions }).ok, false);
    assert.equal(validateMessage('mergedChange', { ...replayed, replayId: undefined }).ok, false);
    assert.equal(validateMessage('mergedChange', { ...merged, version: 0 }).ok, false, 'an accepted event produces version 1 or more');
    const withdrawn = { kind: 'conflict.withdrawn', conflictId: 'x:label', workspace: 'default', entity: merged.entity, replayId };
    assert.equal(validateMessage('conflictWithdrawn', withdrawn).ok, true);
    assert.equal(validateMessage('conflictResolved', withdrawn).ok, false);
  });

  it('accepts both kinds of conflict opened, and a resolution', () => {
    const field = {
      id: `${stamp.eventId}:label`,
      kind: 'field',
      rule: 'review:concurrent-edit',
      field: 'label',
      base: { kind: 'value', value: null },
      ours: { ...stamp, version: 2, value: 'cat' },
      theirs: { ...stamp, value: 'dog', baseVersion: 1 },
      ...facts,
    };
    const removed = {
      id: `${stamp.eventId}:$entity`,
      kind: 'delete',
      rule: 'delete:edit-after-delete',
      field: '$entity',
      ours: { ...stamp, version: 2 },
      theirs: { ...stamp, baseVersion: 1, fields: { label: { op: 'set', value: 'x' } } },
      ...facts,
    };
    for (const conflict of [field, removed]) assert.equal(validateMessage('conflictOpened', { kind: 'conflict.opened', conflict }).ok, true, JSON.stringify(conflict));
    assert.equal(validateMessage('conflictOpened', { kind: 'conflict.opened', conflict: { ...field, kind: 'delete' } }).ok, false, 'a field conflict is not a delete conflict');
    const resolved = { kind: 'conflict.resolved', conflictId: field.id, workspace: 'default', entity: facts.entity, eventId: stamp.eventId, version: 4 };
    assert.equal(validateMessage('conflictResolved', resolved).ok, true);
    assert.equal(validateMessage('conflictResolved', { ...resolved, kind: 'conflict.opened' }).ok, false);
  });

  it('accepts an asset transition with and without its upload, and refuses a status it does not know', () => {
    const transition = {
      v: 1,
      workspace: 'default',
      sha256: 'a'.repeat(64),
      from: null,
      status: 'pending',
      size: null,
      contentType: 'image/jpeg',
      fileClass: 'image',
      references: 0,
      at: '2026-12-01T09:00:05.000Z',
    };
    assert.equal(validateMessage('assetTransition', transition).ok, true);
    assert.equal(validateMessage('assetTransition', { ...transition, uploadId: '3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d', from: 'collected', status: 'collected', reason: 'expired' }).ok, true);
    const unknown = validateMessage('assetTransition', { ...transition, status: 'deleted' });
    assert.ok(!unknown.ok && unknown.errors.some((e) => e.pointer === '/status'));
    assert.equal(validateMessage('assetTransition', { ...transition, v: 2 }).ok, false);
  });

  it('says a commit notice names the scope keys it touched, or none', () => {
    assert.equal(validateMessage('committedNotice', { keys: ['annotation', 'task\u001fp-17'] }).ok, true);
    assert.equal(validateMessage('committedNotice', {}).ok, true);
    assert.equal(validateMessage('committedNotice', { keys: 'annotation' }).ok, false);
    assert.equal(validateMessage('committedNotice', '').ok, false);
  });

  it('names every message’s schema version in one header', () => {
    for (const message of Object.keys(MESSAGE_PAYLOADS) as (keyof typeof MESSAGE_PAYLOADS)[]) {
      assert.deepEqual(schemaVersionHeaders(message), { [SCHEMA_VERSION_HEADER]: String(MESSAGE_SCHEMA_VERSIONS[message]) });
    }
    assert.equal(SCHEMA_VERSION_HEADER, 'tm-schema-version');
  });
});
