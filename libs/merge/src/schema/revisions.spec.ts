import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '@tidemark/contracts';
import { applyPolicyRevision, mergeWithRevision, schemaUnderRevision, validatePolicyRevision, type PolicyRevision } from './revisions';
import { mergeWithRegistry } from '../merge/merge';
import { schemaRegistryOf } from './registry';
import { view } from '../state/state';
import type { EntityState } from '../state/entity-state';
import type { EntityTypeSchema } from './schema';
import { eventsFor, inputOf, set } from '../testing/events';

const NOTE_V1: EntityTypeSchema = {
  type: 'note',
  version: 1,
  onDeleteConflict: 'delete-wins',
  fields: { title: { policy: 'lww', valueType: 'string' }, owner: { policy: 'lww', valueType: 'string', nullable: true }, tags: { policy: 'set', valueType: 'string' } },
};
const NOTE_V2: EntityTypeSchema = { ...NOTE_V1, version: 2, fields: { ...NOTE_V1.fields, pinned: { policy: 'lww', valueType: 'boolean' } } };
const registry = schemaRegistryOf([NOTE_V1, NOTE_V2]);
const pointers = (input: unknown) => validatePolicyRevision(input, registry).map((e) => e.pointer);

describe('validatePolicyRevision', () => {
  it('accepts a revision that restates fields of any version of the type', () => {
    assert.deepEqual(validatePolicyRevision({ type: 'note', revision: 2, fields: { title: { policy: 'max' }, pinned: { policy: 'review' } }, onDeleteConflict: 'review' }, registry), []);
    assert.deepEqual(validatePolicyRevision({ type: 'note', revision: 3, fields: { owner: { policy: 'review' } } }, registry), [], 'nullable stays allowed for review');
  });

  it('names each problem by pointer', () => {
    assert.deepEqual(pointers([]), ['/']);
    assert.deepEqual(pointers({ type: 'note', revision: 1, fields: {} }), ['/revision']);
    assert.deepEqual(pointers({ type: 'invoice', revision: 2, fields: {} }), ['/type']);
    assert.deepEqual(pointers({ type: 'note', revision: 2, fields: { colour: { policy: 'lww' } }, extra: true }).sort(), ['/extra', '/fields/colour']);
    assert.deepEqual(pointers({ type: 'note', revision: 2, fields: { title: { policy: 'newest', nulable: true } } }).sort(), ['/fields/title/nulable', '/fields/title/policy']);
    assert.deepEqual(pointers({ type: 'note', revision: 2, fields: {}, onDeleteConflict: 'coin' }), ['/onDeleteConflict']);
  });

  it('refuses a policy that cannot merge the field in some version, saying which', () => {
    const errors = validatePolicyRevision({ type: 'note', revision: 2, fields: { pinned: { policy: 'counter' }, owner: { policy: 'max' } } }, registry);
    const byPointer = Object.fromEntries(errors.map((e) => [e.pointer, e.detail]));
    assert.match(byPointer['/fields/pinned']!, /policy "counter" merges "integer", but note v2 declares "pinned" as "boolean"/);
    assert.match(byPointer['/fields/owner']!, /declares "owner" nullable.*state "nullable": false/);
    assert.deepEqual(validatePolicyRevision({ type: 'note', revision: 2, fields: { owner: { policy: 'max', nullable: false } } }, registry), []);
  });
});

describe('applyPolicyRevision', () => {
  const revision: PolicyRevision = { type: 'note', revision: 2, fields: { title: { policy: 'max' }, owner: { policy: 'max', nullable: false } }, onDeleteConflict: 'review' };

  it('restates the named fields and the delete rule, keeps the rest as declared', () => {
    const schema = applyPolicyRevision(NOTE_V2, revision);
    assert.deepEqual(schema.fields.title, { policy: 'max', valueType: 'string' });
    assert.deepEqual(schema.fields.owner, { policy: 'max', valueType: 'string', nullable: false });
    assert.deepEqual(schema.fields.tags, NOTE_V2.fields.tags);
    assert.deepEqual(schema.fields.pinned, NOTE_V2.fields.pinned);
    assert.equal(schema.onDeleteConflict, 'review');
    assert.equal(schema.version, 2);
  });

  it('leaves another type’s schema alone and remembers what it built', () => {
    const other: EntityTypeSchema = { ...NOTE_V1, type: 'memo' };
    assert.equal(applyPolicyRevision(other, revision), other);
    assert.equal(schemaUnderRevision(NOTE_V1, revision), schemaUnderRevision(NOTE_V1, revision));
    assert.ok(Object.isFrozen(schemaUnderRevision(NOTE_V1, revision).fields.title));
  });
});

describe('mergeWithRevision', () => {
  const revision: PolicyRevision = { type: 'note', revision: 2, fields: { title: { policy: 'max' } } };
  const fold = (events: ReturnType<ReturnType<typeof eventsFor>>[], rev: PolicyRevision | undefined) => {
    let state: EntityState | undefined;
    const policies: string[] = [];
    events.forEach((event, i) => {
      const result = mergeWithRevision(state, inputOf(event, i + 1), registry, rev);
      policies.push(...result.decisions.map((d) => `${d.field}:${d.policy}`));
      state = result.state;
    });
    return { state: state!, policies };
  };

  it('merges the same journal by the revision’s rules, deterministically', () => {
    const e = eventsFor('note');
    const events = [e({ deviceId: 'dev-a', fields: { title: set('b') } }), e({ deviceId: 'dev-b', fields: { title: set('a') } })];
    const declared = fold(events, undefined);
    const revised = fold(events, revision);
    assert.deepEqual(view(declared.state).values, { title: 'a' }, 'lww: the later stamp wins');
    assert.deepEqual(view(revised.state).values, { title: 'b' }, 'max: the greater value stays');
    assert.deepEqual(revised.policies, ['title:max', 'title:max']);
    assert.equal(canonicalJson(fold(events, revision).state), canonicalJson(revised.state));
  });

  it('without a revision, or with another type’s, is mergeWithRegistry', () => {
    const e = eventsFor('note');
    const event = e({ fields: { title: set('x') } });
    const plain = mergeWithRegistry(undefined, inputOf(event, 1), registry);
    assert.deepEqual(mergeWithRevision(undefined, inputOf(event, 1), registry, undefined), plain);
    assert.deepEqual(mergeWithRevision(undefined, inputOf(event, 1), registry, { ...revision, type: 'memo' }), plain);
  });

  it('rejects an unknown schema version as mergeWithRegistry does', () => {
    const e = eventsFor('note', 'n-1', 9);
    const result = mergeWithRevision(undefined, inputOf(e({ fields: { title: set('x') } }), 1), registry, revision);
    assert.equal(result.outcome, 'rejected');
    assert.equal(result.outcome === 'rejected' ? result.code : '', 'unknown-schema-version');
  });
});
