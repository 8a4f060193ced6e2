import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assetFieldsOf, assetRefsOf, createSchemaRegistry, defaultRegistry, mergeWithRegistry, parkingOf, validateEntityTypeSchema, view, type EntityTypeSchema } from '../index';
import { add, eventsFor, inputOf, set } from '../testing/events';
import { mergeSpec } from '../testing/merge-spec';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = '0123456789abcdef'.repeat(4);

const PHOTO_V1: EntityTypeSchema = {
  type: 'photo',
  version: 1,
  onDeleteConflict: 'delete-wins',
  fields: {
    original: { policy: 'lww', valueType: 'asset', description: 'the uploaded image' },
    thumbnail: { policy: 'review', valueType: 'asset', nullable: true },
    attachments: { policy: 'set', valueType: 'asset' },
    caption: { policy: 'lww', valueType: 'string' },
  },
};
const PHOTO_V2: EntityTypeSchema = { ...PHOTO_V1, version: 2, fields: { ...PHOTO_V1.fields, renders: { policy: 'append', valueType: 'asset' } } };

describe('asset value type', () => {
  it('is declared like any value type, on lww, review, set and append fields only', () => {
    assert.deepStrictEqual(validateEntityTypeSchema(PHOTO_V2), []);
    const errors = validateEntityTypeSchema({ type: 'x', version: 1, onDeleteConflict: 'review', fields: { a: { policy: 'max', valueType: 'asset' }, b: { policy: 'counter', valueType: 'asset' } } });
    assert.deepStrictEqual(
      errors.map((e) => e.pointer),
      ['/fields/a/valueType', '/fields/b/valueType'],
    );
  });

  it('accepts a sha256 as 64 lower-case hex digits and names anything else', () => {
    const spec = mergeSpec(PHOTO_V1);
    const e = eventsFor('photo');
    spec
      .given()
      .when(e({ fields: { original: set(A), attachments: add(B, C) } }))
      .then({ outcome: 'applied', values: { attachments: [C, B], original: A } });
    spec
      .given()
      .when(e({ fields: { original: set(A.toUpperCase()) } }))
      .then({ outcome: 'rejected', code: 'invalid-value', reason: /field "original": expected asset \(a sha256 as 64 lower-case hex digits\)/ });
    spec
      .given()
      .when(e({ fields: { original: set(42) } }))
      .then({ outcome: 'rejected', code: 'invalid-value', reason: /expected asset, got number/ });
    spec
      .given()
      .when(e({ fields: { original: set(null) } }))
      .then({ outcome: 'rejected', code: 'invalid-value' });
    spec
      .given()
      .when(e({ fields: { thumbnail: set(null) } }))
      .then({ outcome: 'applied', values: { thumbnail: null } });
  });
});

describe('assetFieldsOf', () => {
  it('lists the asset fields of every version of a type, sorted', () => {
    const registry = createSchemaRegistry([PHOTO_V1, PHOTO_V2]);
    assert.ok(registry.ok);
    assert.deepStrictEqual(assetFieldsOf(registry.value, 'photo'), ['attachments', 'original', 'renders', 'thumbnail']);
    assert.deepStrictEqual(assetFieldsOf(registry.value, 'annotation'), []);
    assert.deepStrictEqual(assetFieldsOf(defaultRegistry, 'annotation'), []);
  });
});

describe('assetRefsOf', () => {
  const fields = ['attachments', 'original', 'renders', 'thumbnail'];

  it('gives each referenced sha256 once per field, sorted, from single values and lists', () => {
    assert.deepStrictEqual(assetRefsOf({ original: B, thumbnail: A, attachments: [C, A, A], renders: [B], caption: A }, fields), [
      { field: 'attachments', sha256: C },
      { field: 'attachments', sha256: A },
      { field: 'original', sha256: B },
      { field: 'renders', sha256: B },
      { field: 'thumbnail', sha256: A },
    ]);
  });

  it('leaves out null, absent fields and values that are not references', () => {
    assert.deepStrictEqual(assetRefsOf({ thumbnail: null, original: 'nope' }, fields), []);
    assert.deepStrictEqual(assetRefsOf(Object.create({ original: A }) as Record<string, unknown>, fields), [], 'inherited properties are not fields');
  });

  it('follows the entity: a deleted entity references nothing', () => {
    const registry = createSchemaRegistry([PHOTO_V1]);
    assert.ok(registry.ok);
    const e = eventsFor('photo');
    const created = mergeWithRegistry(undefined, inputOf(e({ fields: { original: set(A) } }), 1), registry.value);
    assert.ok(created.outcome === 'applied');
    assert.deepStrictEqual(assetRefsOf(view(created.state).values, assetFieldsOf(registry.value, 'photo')), [{ field: 'original', sha256: A }]);
    const deleted = mergeWithRegistry(created.state, inputOf(e({ op: 'delete', baseVersion: 1 }), 2), registry.value);
    assert.ok(deleted.outcome === 'applied');
    assert.deepStrictEqual(assetRefsOf(view(deleted.state).values, ['original']), []);
  });
});

describe('parkingOf', () => {
  const e = eventsFor('photo');

  it('parks an event whose entity type or schema version the registry lacks, with the code and reason', () => {
    assert.deepStrictEqual(parkingOf(mergeWithRegistry(undefined, inputOf(e({ fields: { original: set(A) } }), 1), defaultRegistry)), {
      code: 'unknown-entity-type',
      reason: 'unknown entity type "photo" (known: annotation, job, output, prompt)',
    });
    const later = eventsFor('annotation', 'a-1', 7);
    assert.deepStrictEqual(parkingOf(mergeWithRegistry(undefined, inputOf(later({ fields: { label: set('x') } }), 2), defaultRegistry)), {
      code: 'unknown-schema-version',
      reason: 'entity type "annotation" has no schema version 7 (known: 1)',
    });
  });

  it('leaves the device’s own mistakes and every accepted outcome alone', () => {
    const registry = createSchemaRegistry([PHOTO_V1]);
    assert.ok(registry.ok);
    assert.equal(parkingOf(mergeWithRegistry(undefined, inputOf(e({ fields: { colour: set('red') } }), 1), registry.value)), undefined);
    assert.equal(parkingOf(mergeWithRegistry(undefined, inputOf(e({ fields: { caption: add('x') } }), 1), registry.value)), undefined);
    assert.equal(parkingOf(mergeWithRegistry(undefined, inputOf(e({ fields: { caption: set('x') } }), 1), registry.value)), undefined);
  });
});
