import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRegistry, merge, mergeWithRegistry } from '../index';
import { add, append, eventsFor, inc, inputOf, set } from '../testing/events';
import { checkedMerge, mergeSpec, replay } from '../testing/merge-spec';
import { SINK, sinkRegistry } from '../testing/schemas';

const spec = mergeSpec(SINK);

describe('rejections', () => {
  it('names an unknown field', () => {
    const e = eventsFor('sink');
    spec
      .given()
      .when(e({ fields: { colour: set('red') } }))
      .then({ outcome: 'rejected', code: 'unknown-field', reason: /^field "colour" is not declared by sink v1$/ });
  });

  it('does not mistake an inherited property for a declared field', () => {
    const e = eventsFor('sink');
    spec
      .given()
      .when(e({ fields: { constructor: set('x'), toString: set('y') } }))
      .then({ outcome: 'rejected', code: 'unknown-field' });
  });

  it('names an op the policy does not support', () => {
    const e = eventsFor('sink');
    spec
      .given()
      .when(e({ fields: { title: inc(1) } }))
      .then({ outcome: 'rejected', code: 'unsupported-op', reason: /field "title": op "inc" is not supported by policy "lww" \(supported: "set"\)/ });
    spec
      .given()
      .when(e({ fields: { tags: set(['a']) } }))
      .then({ outcome: 'rejected', code: 'unsupported-op', reason: /supported: "add", "remove"/ });
    spec
      .given()
      .when(e({ fields: { log: add('a') } }))
      .then({ outcome: 'rejected', code: 'unsupported-op' });
    spec
      .given()
      .when(e({ fields: { n: append(1) } }))
      .then({ outcome: 'rejected', code: 'unsupported-op' });
  });

  it('lists every problem and applies nothing: never half-applied', () => {
    const e = eventsFor('sink');
    const first = e({ fields: { title: set('kept'), n: inc(1) } });
    const bad = e({ baseVersion: 1, fields: { title: set('changed'), n: inc(1), hi: set('high'), colour: set('red') } });
    const result = spec
      .given(first)
      .when(bad)
      .then({ outcome: 'rejected', code: 'unknown-field', values: { n: 1, title: 'kept' } });
    assert.ok(result.outcome === 'rejected');
    assert.deepStrictEqual(
      result.problems.map((p) => [p.pointer, p.code]),
      [
        ['/fields/colour', 'unknown-field'],
        ['/fields/hi/value', 'invalid-value'],
      ],
    );
    assert.equal(result.state?.version, 1);
  });

  it('refuses an upsert without field changes, or carrying a job or a resolution', () => {
    const e = eventsFor('sink');
    spec
      .given()
      .when(e({ fields: {} }))
      .then({ outcome: 'rejected', code: 'invalid-event', reason: /needs at least one field change/ });
    spec
      .given()
      .when(e({ fields: { n: inc(1) }, job: { to: 'queued', attempt: 1 } }))
      .then({ outcome: 'rejected', code: 'invalid-event', reason: /an upsert carries no job transition/ });
  });

  it('refuses a schema that is not the event’s', () => {
    const e = eventsFor('sink');
    const wrongVersion = e({ schemaVersion: 2, fields: { n: inc(1) } });
    assert.deepStrictEqual(merge(undefined, inputOf(wrongVersion, 1), SINK), {
      outcome: 'rejected',
      code: 'schema-mismatch',
      reason: 'the event was written against sink v2, the schema given is v1',
      problems: [{ pointer: '/schemaVersion', code: 'schema-mismatch', detail: 'the event was written against sink v2, the schema given is v1' }],
      state: undefined,
      decisions: [],
      conflicts: [],
      resolved: [],
      repairs: [],
    });
    const other = eventsFor('annotation')({ fields: { votes: inc(1) } });
    assert.equal(merge(undefined, inputOf(other, 1), SINK).outcome, 'rejected');
  });

  it('looks the schema up in a registry and names an unknown type or version', () => {
    const unknownType = eventsFor('invoice')({ fields: { total: set(1) } });
    const result = mergeWithRegistry(undefined, inputOf(unknownType, 1), defaultRegistry);
    assert.ok(result.outcome === 'rejected');
    assert.equal(result.code, 'unknown-entity-type');
    assert.equal(result.reason, 'unknown entity type "invoice" (known: annotation, job, output, prompt)');
    const unknownVersion = eventsFor('sink', 'sink-1', 3)({ fields: { n: inc(1) } });
    mergeSpec(sinkRegistry)
      .given()
      .when(unknownVersion)
      .then({ outcome: 'rejected', code: 'unknown-schema-version', reason: /has no schema version 3 \(known: 1\)/ });
  });

  it('throws when handed another entity’s state: a caller bug, not a domain outcome', () => {
    const e = eventsFor('sink');
    const state = replay(SINK, [e({ fields: { n: inc(1) } })]);
    const other = eventsFor('sink', 'sink-2')({ fields: { n: inc(1) } });
    assert.throws(() => merge(state, inputOf(other, 2), SINK), /state of sink\/sink-1 for an event on sink\/sink-2/);
  });
});

describe('duplicates', () => {
  it('an event applied again is a no-op, even beyond the recent window when a field holds its id', () => {
    const e = eventsFor('sink');
    const tagged = e({ fields: { tags: add('x') } });
    const later = Array.from({ length: 80 }, () => e({ fields: { n: inc(1) } }));
    const state = replay(SINK, [tagged, ...later]);
    assert.equal(state?.recent.length, 64);
    assert.ok(!state?.recent.some((r) => r.eventId === tagged.eventId), 'the add fell out of the window');
    const again = checkedMerge(SINK, state, tagged);
    assert.equal(again.outcome, 'noop');
  });

  it('works through the default registry on real types', () => {
    const e = eventsFor('annotation');
    mergeSpec(defaultRegistry)
      .given(e({ fields: { label: set('cat'), confidence: set(0.7), tags: add('animal'), votes: inc(1) } }))
      .when(e({ deviceId: 'dev-b', baseVersion: 1, fields: { confidence: set(0.9), notes: append('looks right'), votes: inc(1) } }))
      .then({ outcome: 'applied', values: { confidence: 0.9, label: 'cat', notes: ['looks right'], tags: ['animal'], votes: 2 } });
  });
});
