import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSchemaRegistry, registryKeepingOlder, DEFAULT_SCHEMAS, defaultRegistry, findSchema, latestSchema, validateEntityTypeSchema, type EntityTypeSchema } from '../index';

const pointers = (input: unknown) => validateEntityTypeSchema(input).map((e) => e.pointer);

describe('validateEntityTypeSchema', () => {
  it('accepts every shipped schema', () => {
    for (const schema of DEFAULT_SCHEMAS) assert.deepStrictEqual(validateEntityTypeSchema(schema), [], schema.type);
  });

  it('names each problem by pointer', () => {
    const errors = validateEntityTypeSchema({
      type: 'Bad-Type',
      version: 0,
      onDeleteConflict: 'newest-wins',
      fields: {
        votes: { policy: 'counter', valueType: 'number' },
        tags: { policy: 'set', valueType: 'string', nullable: true },
        mood: { policy: 'vibes', valueType: 'string' },
        colour: { policy: 'lww', valueType: 'colour' },
        '9lives': { policy: 'lww', valueType: 'string' },
        label: { policy: 'lww', valueType: 'string', polcy: 'x' },
      },
      extra: 1,
    });
    const byPointer = Object.fromEntries(errors.map((e) => [e.pointer, e.detail]));
    assert.match(byPointer['/type']!, /must match/);
    assert.match(byPointer['/version']!, /integer from 1/);
    assert.match(byPointer['/onDeleteConflict']!, /"delete-wins", "edit-wins", "review"/);
    assert.match(byPointer['/fields/votes/valueType']!, /counter.*"integer".*not "number"/);
    assert.match(byPointer['/fields/tags/nullable']!, /only "lww", "review"/);
    assert.match(byPointer['/fields/mood/policy']!, /must be one of/);
    assert.match(byPointer['/fields/colour/valueType']!, /must be one of/);
    assert.match(byPointer['/fields/9lives']!, /field name/);
    assert.equal(byPointer['/fields/label/polcy'], 'unknown member');
    assert.equal(byPointer['/extra'], 'unknown member');
  });

  it('refuses a non-job type without fields and anything that is not an object', () => {
    assert.deepStrictEqual(pointers({ type: 'empty', version: 1, onDeleteConflict: 'delete-wins', fields: {} }), ['/fields']);
    assert.deepStrictEqual(pointers({ type: 'work', version: 1, onDeleteConflict: 'delete-wins', job: true, fields: {} }), []);
    assert.deepStrictEqual(pointers([]), ['/']);
    assert.deepStrictEqual(pointers({ type: 'x', version: 1, onDeleteConflict: 'review', fields: [] }), ['/fields']);
  });
});

describe('createSchemaRegistry', () => {
  const v1: EntityTypeSchema = { type: 'note', version: 1, onDeleteConflict: 'review', fields: { body: { policy: 'review', valueType: 'string' } } };

  it('sorts schemas by type then version and looks them up', () => {
    const v2: EntityTypeSchema = { ...v1, version: 2, fields: { ...v1.fields, pinned: { policy: 'lww', valueType: 'boolean' } } };
    const result = createSchemaRegistry([v2, v1]);
    assert.ok(result.ok);
    assert.deepStrictEqual(
      result.value.schemas.map((s) => s.version),
      [1, 2],
    );
    const found = findSchema(result.value, 'note', 2);
    assert.ok(found.ok && found.schema.fields.pinned?.policy === 'lww');
    assert.equal(latestSchema(result.value, 'note')?.version, 2);
  });

  it('refuses a version declared twice, a field whose policy changes and a job flag that changes', () => {
    const changed: EntityTypeSchema = { ...v1, version: 2, fields: { body: { policy: 'lww', valueType: 'string' } } };
    const job: EntityTypeSchema = { ...v1, version: 3, job: true };
    const result = createSchemaRegistry([v1, v1, changed, job]);
    assert.ok(!result.ok);
    const details = result.errors.map((e) => `${e.pointer} ${e.detail}`).join('\n');
    assert.match(details, /\/1\/version note v1 is declared twice/);
    assert.match(details, /\/2\/fields\/body .*lww\/string.*review\/string; a field's merge rule cannot change/);
    assert.match(details, /\/3\/job note v3 changes the job flag/);
  });

  it('reports invalid schemas with their index', () => {
    const result = createSchemaRegistry([v1, { ...v1, type: 'Nope' }]);
    assert.ok(!result.ok);
    assert.deepStrictEqual(
      result.errors.map((e) => e.pointer),
      ['/1/type'],
    );
  });

  it('holds frozen copies', () => {
    const result = createSchemaRegistry([v1]);
    assert.ok(result.ok);
    assert.notEqual(result.value.schemas[0], v1);
    assert.ok(Object.isFrozen(result.value.schemas[0]!.fields.body));
  });
});

describe('registryKeepingOlder', () => {
  const v1: EntityTypeSchema = { type: 'note', version: 1, onDeleteConflict: 'review', fields: { body: { policy: 'review', valueType: 'string' } } };

  it('keeps the older of versions that contradict each other, and says which newer one it left out', () => {
    const v2: EntityTypeSchema = { ...v1, version: 2, fields: { body: { policy: 'lww', valueType: 'string' } } };
    const v3: EntityTypeSchema = { ...v1, version: 3, fields: { ...v1.fields, pinned: { policy: 'lww', valueType: 'boolean' } } };
    const skipped: string[] = [];
    const registry = registryKeepingOlder([v3, v2, v1], (schema, reason) => skipped.push(`${schema.type}@${schema.version}: ${reason}`));
    assert.deepEqual(
      registry.schemas.map((s) => s.version),
      [1, 3],
    );
    assert.equal(skipped.length, 1);
    assert.match(skipped[0]!, /^note@2: .*merge rule cannot change/);
    assert.deepEqual(
      registryKeepingOlder([v1, v3]).schemas.map((s) => s.version),
      [1, 3],
      'a consistent list whole',
    );
  });
});

describe('defaultRegistry', () => {
  it('ships annotation, job, output and prompt at version 1', () => {
    assert.deepStrictEqual(
      defaultRegistry.schemas.map((s) => `${s.type}@${s.version}`),
      ['annotation@1', 'job@1', 'output@1', 'prompt@1'],
    );
  });

  it('declares the policies the domain needs', () => {
    const annotation = findSchema(defaultRegistry, 'annotation', 1);
    assert.ok(annotation.ok);
    const policies = Object.fromEntries(Object.entries(annotation.schema.fields).map(([name, field]) => [name, field.policy]));
    assert.deepStrictEqual(
      { label: policies.label, confidence: policies.confidence, tags: policies.tags, notes: policies.notes, votes: policies.votes },
      { label: 'review', confidence: 'max', tags: 'set', notes: 'append', votes: 'counter' },
    );
    const prompt = findSchema(defaultRegistry, 'prompt', 1);
    assert.ok(prompt.ok && prompt.schema.fields.text?.policy === 'review' && prompt.schema.fields.title?.policy === 'lww' && prompt.schema.fields.uses?.policy === 'counter');
    const job = findSchema(defaultRegistry, 'job', 1);
    assert.ok(job.ok && job.schema.job === true);
  });

  it('explains an unknown type or version', () => {
    assert.deepStrictEqual(findSchema(defaultRegistry, 'invoice', 1), {
      ok: false,
      code: 'unknown-entity-type',
      reason: 'unknown entity type "invoice" (known: annotation, job, output, prompt)',
    });
    assert.deepStrictEqual(findSchema(defaultRegistry, 'prompt', 7), {
      ok: false,
      code: 'unknown-schema-version',
      reason: 'entity type "prompt" has no schema version 7 (known: 1)',
    });
  });
});

describe('partitionBy: the field that partitions a type for partial sync', () => {
  const base = {
    type: 'task',
    version: 1,
    onDeleteConflict: 'edit-wins',
    fields: { project: { policy: 'lww', valueType: 'string' }, n: { policy: 'counter', valueType: 'integer' }, rank: { policy: 'lww', valueType: 'integer' } },
  };
  it('names an lww field of value type string or integer', () => {
    assert.deepStrictEqual(validateEntityTypeSchema({ ...base, partitionBy: 'project' }), []);
    assert.deepStrictEqual(validateEntityTypeSchema({ ...base, partitionBy: 'rank' }), []);
    assert.deepStrictEqual(
      validateEntityTypeSchema({ ...base, partitionBy: 'n' }).map((e) => e.pointer),
      ['/partitionBy'],
    );
    assert.deepStrictEqual(
      validateEntityTypeSchema({ ...base, partitionBy: 'missing' }).map((e) => e.pointer),
      ['/partitionBy'],
    );
    assert.deepStrictEqual(
      validateEntityTypeSchema({ ...base, partitionBy: 'toString' }).map((e) => e.pointer),
      ['/partitionBy'],
    );
  });
  it('never changes across the versions of a type', () => {
    const v1 = { ...base, partitionBy: 'project' } as EntityTypeSchema;
    const v2 = { ...base, version: 2 } as EntityTypeSchema;
    const refused = createSchemaRegistry([v1, v2]);
    assert.ok(!refused.ok);
    assert.deepStrictEqual(
      refused.errors.map((e) => e.pointer),
      ['/1/partitionBy'],
    );
    assert.ok(createSchemaRegistry([v1, { ...v2, partitionBy: 'project' }]).ok);
    const byId = { ...base, partitionBy: { idPrefix: { separator: '/' } } } as EntityTypeSchema;
    assert.deepStrictEqual(createSchemaRegistry([byId, { ...v2, partitionBy: { idPrefix: { separator: ':' } } }]).ok, false, 'nor does its separator');
    const moved = createSchemaRegistry([byId, { ...v2, partitionBy: 'project' }]);
    assert.ok(!moved.ok);
    assert.match(moved.errors[0]!.detail, /by field "project", but v1 by the id up to "\/"/);
    assert.ok(createSchemaRegistry([byId, { ...v2, partitionBy: { idPrefix: { separator: '/' } } }]).ok);
  });
  it('or the prefix of the id up to a separator of 1–8 printable characters', () => {
    assert.deepStrictEqual(validateEntityTypeSchema({ ...base, partitionBy: { idPrefix: { separator: '/' } } }), []);
    assert.deepStrictEqual(validateEntityTypeSchema({ ...base, partitionBy: { idPrefix: { separator: '::' } } }), []);
    const pointers = (partitionBy: unknown) => validateEntityTypeSchema({ ...base, partitionBy }).map((e) => e.pointer);
    assert.deepStrictEqual(pointers({ idPrefix: { separator: '' } }), ['/partitionBy/idPrefix/separator']);
    assert.deepStrictEqual(pointers({ idPrefix: { separator: '123456789' } }), ['/partitionBy/idPrefix/separator']);
    assert.deepStrictEqual(pointers({ idPrefix: { separator: '\u001f' } }), ['/partitionBy/idPrefix/separator']);
    assert.deepStrictEqual(pointers({ idPrefix: {} }), ['/partitionBy/idPrefix/separator']);
    assert.deepStrictEqual(pointers({ idPrefix: '/' }), ['/partitionBy/idPrefix']);
    assert.deepStrictEqual(pointers({ idPrefix: { separator: '/', max: 3 }, field: 'x' }), ['/partitionBy/field', '/partitionBy/idPrefix/max']);
  });
});

describe('queueBy: the field that names the queue a job waits in', () => {
  const job = {
    type: 'render',
    version: 1,
    onDeleteConflict: 'delete-wins',
    job: true,
    fields: { queue: { policy: 'lww', valueType: 'string' }, tries: { policy: 'counter', valueType: 'integer' }, lane: { policy: 'lww', valueType: 'integer' } },
  };

  it('given a job type, when it names an lww string field, then it is valid', () => {
    assert.deepStrictEqual(validateEntityTypeSchema({ ...job, queueBy: 'queue' }), []);
  });

  it('given a job type, when it names a missing, non-lww or non-string field, then the problem points at /queueBy', () => {
    for (const name of ['missing', 'tries', 'lane', 'toString', 7]) {
      assert.deepStrictEqual(
        validateEntityTypeSchema({ ...job, queueBy: name }).map((e) => e.pointer),
        ['/queueBy'],
        String(name),
      );
    }
  });

  it('given a type that is not a job, when it declares a queue, then it is refused at /queueBy', () => {
    const { job: _flag, ...record } = job;
    const errors = validateEntityTypeSchema({ ...record, queueBy: 'queue' });
    assert.deepStrictEqual(
      errors.map((e) => e.pointer),
      ['/queueBy'],
    );
    assert.match(errors[0]!.detail, /only a job type/);
  });

  it('given a published version, when a later one changes or drops the queue field, then the registry refuses it', () => {
    const v1 = { ...job, queueBy: 'queue' } as EntityTypeSchema;
    const refused = createSchemaRegistry([v1, { ...job, version: 2 } as EntityTypeSchema]);
    assert.ok(!refused.ok);
    assert.deepStrictEqual(
      refused.errors.map((e) => e.pointer),
      ['/1/queueBy'],
    );
    assert.ok(createSchemaRegistry([v1, { ...v1, version: 2 }]).ok);
  });
});
