import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergedSubject, reviewSubject } from '@tidemark/contracts';
import { schemaRegistryOf } from '../index';
import { eventsFor, inc, set, uuid } from '../testing/events';
import { ACCEPTED_AT, WORKSPACE, journal, projectionSpec } from '../testing/projection-spec';
import { SINK, sinkRegistry } from '../testing/schemas';

const spec = projectionSpec(sinkRegistry);
const entity = { type: 'sink', id: 'sink-1' };

describe('planBatch: a new entity', () => {
  it('inserts the entity, its receipt and change-log row, publishes it merged and counts the device’s event', () => {
    const j = journal();
    const e = eventsFor('sink');
    const created = e({ fields: { title: set('hello'), n: inc(2) } });
    spec
      .given()
      .when(j.record(created, { site: 'north' }))
      .then({
        outcomes: ['applied'],
        steps: [],
        entities: [{ workspace: WORKSPACE, entityType: 'sink', entityId: 'sink-1', version: 1, deleted: false, lastEventId: created.eventId, lastStreamSeq: 1 }],
        values: [{ title: 'hello', n: 2 }],
        inserted: [{ eventId: created.eventId, workspace: WORKSPACE, deviceId: 'dev-a', deviceSeq: 1, status: 'applied', reason: null, streamSeq: 1, version: 1, acceptedAt: ACCEPTED_AT }],
        updated: [],
        duplicates: [],
        decisions: [{ eventId: created.eventId, workspace: WORKSPACE, entityType: 'sink', entityId: 'sink-1', streamSeq: 1 }],
        fieldDecisions: [
          { eventId: created.eventId, idx: 0, field: 'n', policy: 'counter', outcome: 'applied', before: undefined, after: 2, conflictId: undefined, streamSeq: 1 },
          { eventId: created.eventId, idx: 1, field: 'title', policy: 'lww', rule: 'lww:first-write', outcome: 'applied', after: 'hello' },
        ],
        changes: [{ workspace: WORKSPACE, entityType: 'sink', entityId: 'sink-1', version: 1, deleted: false, eventId: created.eventId, deviceId: 'dev-a', streamSeq: 1 }],
        outbox: [{ subject: mergedSubject(WORKSPACE, entity), msgId: `merged-${WORKSPACE}-${created.eventId}` }],
        arrivals: [{ workspace: WORKSPACE, deviceId: 'dev-a', seqs: [1], acceptedAts: [ACCEPTED_AT], sites: [{ seq: 1, site: 'north' }] }],
        plan: (plan) => {
          assert.deepStrictEqual(plan.changes[0]!.view, plan.entities[0]!.view);
          assert.deepStrictEqual(plan.outbox[0]!.payload, {
            workspace: WORKSPACE,
            entity,
            version: 1,
            deleted: false,
            view: plan.entities[0]!.view,
            eventId: created.eventId,
            deviceId: 'dev-a',
            streamSeq: 1,
            outcome: 'applied',
            decisions: [
              { field: 'n', policy: 'counter', rule: 'counter:add', outcome: 'applied' },
              { field: 'title', policy: 'lww', rule: 'lww:first-write', outcome: 'applied' },
            ],
          });
          assert.equal(plan.assetRefs, undefined, 'no asset references are tracked without asset fields');
        },
      });
  });
});

describe('planBatch: an update merging fields', () => {
  it('merges over the stored state: a stale write loses, a concurrent increment adds', () => {
    const j = journal();
    const e = eventsFor('sink');
    const created = e({ deviceId: 'dev-a', fields: { title: set('first'), n: inc(1) }, hlc: 10 });
    const newer = e({ deviceId: 'dev-a', baseVersion: 1, fields: { title: set('newer') }, hlc: 30 });
    const stale = e({ deviceId: 'dev-b', baseVersion: 1, fields: { title: set('stale'), n: inc(5) }, hlc: 20 });
    spec
      .given([j.record(created)], [j.record(newer)])
      .when(j.record(stale))
      .then({
        outcomes: ['merged'],
        entities: [{ version: 3, lastEventId: stale.eventId, lastStreamSeq: 3 }],
        values: [{ title: 'newer', n: 6 }],
        inserted: [{ eventId: stale.eventId, status: 'merged', version: 3 }],
        fieldDecisions: [
          { field: 'n', outcome: 'applied', before: 1, after: 6 },
          { field: 'title', rule: 'lww:older-stamp', outcome: 'lost', before: 'newer', after: 'newer' },
        ],
        changes: [{ version: 3, eventId: stale.eventId, deviceId: 'dev-b' }],
        outbox: [{ msgId: `merged-${WORKSPACE}-${stale.eventId}` }],
        arrivals: [{ deviceId: 'dev-b', seqs: [1] }],
      });
  });
});

describe('planBatch: a duplicate', () => {
  it('an event already receipted is recorded as a duplicate and nothing else', () => {
    const j = journal();
    const e = eventsFor('sink');
    const created = e({ fields: { title: set('once') } });
    spec
      .given([j.record(created)])
      .when(j.record(created))
      .then({
        outcomes: ['duplicate'],
        duplicates: [{ streamSeq: 2, eventId: created.eventId, workspace: WORKSPACE, deviceId: 'dev-a' }],
        entities: [],
        inserted: [],
        updated: [],
        decisions: [],
        changes: [],
        outbox: [],
        arrivals: [],
        steps: [],
      });
  });

  it('a second copy in the same batch is a duplicate of the first', () => {
    const j = journal();
    const e = eventsFor('sink');
    const created = e({ fields: { title: set('once') } });
    spec
      .given()
      .when(j.record(created), j.record(created))
      .then({ outcomes: ['applied', 'duplicate'], duplicates: [{ streamSeq: 2 }], inserted: [{ streamSeq: 1 }], changes: [{ streamSeq: 1 }], arrivals: [{ seqs: [1] }] });
  });

  it('the same eventId in another workspace is another event', () => {
    const j = journal();
    const created = eventsFor('sink')({ fields: { title: set('x') } });
    spec
      .given([j.record(created)])
      .when(j.record(created, { workspace: 'ws-other' }))
      .then({ outcomes: ['applied'], duplicates: [], inserted: [{ workspace: 'ws-other', version: 1 }], arrivals: [{ workspace: 'ws-other' }] });
  });
});

describe('planBatch: a conflict going to review', () => {
  const e = eventsFor('sink');
  const created = e({ deviceId: 'dev-a', fields: { body: set('base') } });
  const ours = e({ deviceId: 'dev-a', baseVersion: 1, fields: { body: set('ours') } });
  const theirs = e({ deviceId: 'dev-b', baseVersion: 1, fields: { body: set('theirs') } });
  const conflictId = `${theirs.eventId}:body`;

  it('opens the conflict, stores it and publishes it on the review stream before the merged message', () => {
    const j = journal();
    spec
      .given([j.record(created), j.record(ours)])
      .when(j.record(theirs))
      .then({
        outcomes: ['conflicted'],
        entities: [{ version: 3 }],
        values: [{ body: 'ours' }],
        inserted: [{ eventId: theirs.eventId, status: 'conflicted', version: 3 }],
        fieldDecisions: [{ field: 'body', outcome: 'conflicted', conflictId }],
        conflicts: [
          {
            conflictId,
            workspace: WORKSPACE,
            entityType: 'sink',
            entityId: 'sink-1',
            field: 'body',
            kind: 'field',
            rule: 'review:concurrent-edit',
            status: 'open',
            openedEventId: theirs.eventId,
            openedSeq: 3,
            openedAcceptedAt: ACCEPTED_AT,
          },
        ],
        outbox: [
          { subject: reviewSubject(WORKSPACE, entity, 'opened'), msgId: `conflict-opened-${WORKSPACE}-${conflictId}` },
          { subject: mergedSubject(WORKSPACE, entity), msgId: `merged-${WORKSPACE}-${theirs.eventId}` },
        ],
        plan: (plan) => {
          const detail = plan.conflicts[0]!.detail;
          assert.equal('id' in detail || 'kind' in detail || 'rule' in detail || 'field' in detail, false, 'the detail holds what the columns do not');
          assert.deepStrictEqual((detail as { theirs: { value: unknown } }).theirs.value, 'theirs');
          const opened = plan.outbox[0]!.payload;
          assert.ok('kind' in opened && opened.kind === 'conflict.opened' && opened.conflict.id === conflictId);
        },
      });
  });

  it('a resolution closes it and publishes the resolution', () => {
    const j = journal();
    const resolve = e({ deviceId: 'reviewer', op: 'resolve', baseVersion: 3, resolution: { conflictId, pick: 'theirs' } });
    spec
      .given([j.record(created), j.record(ours)], [j.record(theirs)])
      .when(j.record(resolve))
      .then({
        outcomes: ['applied'],
        values: [{ body: 'theirs' }],
        conflicts: [],
        resolvedConflicts: [{ conflictId, workspace: WORKSPACE, eventId: resolve.eventId, streamSeq: 4 }],
        outbox: [
          {
            subject: reviewSubject(WORKSPACE, entity, 'resolved'),
            msgId: `conflict-resolved-${WORKSPACE}-${conflictId}`,
            payload: { kind: 'conflict.resolved', conflictId, workspace: WORKSPACE, entity, eventId: resolve.eventId, version: 4 },
          },
          { msgId: `merged-${WORKSPACE}-${resolve.eventId}` },
        ],
      });
  });
});

describe('planBatch: parked and refused records', () => {
  const photo = eventsFor('photo', 'p-1');
  const PHOTO = { type: 'photo', version: 1, onDeleteConflict: 'delete-wins' as const, fields: { caption: { policy: 'lww' as const, valueType: 'string' as const } } };
  const withPhoto = schemaRegistryOf([SINK, PHOTO]);

  it('an event of an entity type the registry lacks is parked: a new entry, a parked receipt, counted as the device’s progress', () => {
    const j = journal();
    const event = photo({ fields: { caption: set('hi') } });
    spec
      .given()
      .when(j.record(event))
      .then({
        outcomes: ['parked'],
        steps: [{ kind: 'park', seq: 1, workspace: WORKSPACE, eventId: event.eventId, code: 'unknown-entity-type' }],
        inserted: [{ eventId: event.eventId, status: 'parked', version: null }],
        entities: [],
        changes: [],
        outbox: [],
        decisions: [],
        arrivals: [{ deviceId: 'dev-a', seqs: [1] }],
        plan: (plan) => assert.match(plan.receipts.inserted[0]!.reason ?? '', /photo/),
      });
  });

  it('an invalid event is refused: its receipt says why, nothing is written for the entity and nothing is parked', () => {
    const j = journal();
    const e = eventsFor('sink');
    const event = e({ fields: { nope: set(1) } });
    spec
      .given()
      .when(j.record(event))
      .then({ outcomes: ['rejected'], steps: [], inserted: [{ status: 'rejected', version: null }], entities: [], changes: [], outbox: [], arrivals: [{ seqs: [1] }] });
  });

  it('a re-drive once the schema is published applies it: the entry resolved, the receipt updated, no second arrival', () => {
    const j = journal();
    const event = photo({ fields: { caption: set('hi') } });
    projectionSpec(sinkRegistry, { whenRegistry: withPhoto })
      .given([j.record(event)])
      .when(j.record(event, { mark: { action: 'redrive', entrySeq: 1, reason: 'schema published' } }))
      .then({
        outcomes: ['applied'],
        steps: [{ kind: 'resolve', workspace: WORKSPACE, eventId: event.eventId, seq: 2, resolution: 'redrive', note: 'schema published' }],
        inserted: [],
        updated: [{ eventId: event.eventId, status: 'applied', streamSeq: 2, version: 1, reason: null }],
        values: [{ caption: 'hi' }],
        arrivals: [],
      });
  });

  it('a re-drive that fails again is parked again as a new entry, resolving the earlier one', () => {
    const j = journal();
    const event = photo({ fields: { caption: set('hi') } });
    spec
      .given([j.record(event)])
      .when(j.record(event, { mark: { action: 'redrive', entrySeq: 1 } }))
      .then({
        outcomes: ['parked'],
        steps: [
          { kind: 'resolve', seq: 2, resolution: 'redrive' },
          { kind: 'park', seq: 2 },
        ],
        updated: [{ status: 'parked', streamSeq: 2 }],
        arrivals: [],
      });
  });

  it('a skip marker skips the entry and the stored receipt', () => {
    const j = journal();
    const event = photo({ fields: { caption: set('hi') } });
    spec
      .given([j.record(event)])
      .when(j.skip(1, 'not needed'))
      .then({
        outcomes: [],
        steps: [
          { kind: 'skip-entry', entrySeq: 1, seq: 2, note: 'not needed' },
          { kind: 'skip-receipt', workspace: WORKSPACE, eventId: event.eventId, reason: 'skipped by an operator: not needed' },
        ],
        inserted: [],
        updated: [],
        arrivals: [],
      });
  });

  it('a skip marker in the batch that parked its entry skips it and writes the receipt skipped', () => {
    const j = journal();
    const event = photo({ fields: { caption: set('hi') } });
    spec
      .given()
      .when(j.record(event), j.skip(1))
      .then({
        outcomes: ['parked'],
        steps: [
          { kind: 'park', seq: 1 },
          { kind: 'skip-entry', entrySeq: 1, seq: 2, note: null },
        ],
        inserted: [{ eventId: event.eventId, status: 'skipped', reason: 'skipped by an operator' }],
      });
  });

  it('a skip marker for an entry re-driven earlier in the batch, or one that does not exist, changes nothing', () => {
    const j = journal();
    const event = photo({ fields: { caption: set('hi') } });
    projectionSpec(sinkRegistry, { whenRegistry: withPhoto })
      .given([j.record(event)])
      .when(j.record(event, { mark: { action: 'redrive', entrySeq: 1 } }), j.skip(1), j.skip(99))
      .then({
        outcomes: ['applied'],
        steps: [
          { kind: 'resolve', seq: 2 },
          { kind: 'skip-ignored', entrySeq: 1, status: 'redriven' },
          { kind: 'skip-ignored', entrySeq: 99, status: null },
        ],
        updated: [{ status: 'applied' }],
      });
  });

  it('a duplicate of a skipped event is a duplicate', () => {
    const j = journal();
    const event = photo({ fields: { caption: set('hi') } });
    projectionSpec(sinkRegistry, { whenRegistry: withPhoto })
      .given([j.record(event)], [j.skip(1)])
      .when(j.record(event, { mark: { action: 'redrive', entrySeq: 1 } }))
      .then({ outcomes: ['duplicate'], steps: [], duplicates: [{ streamSeq: 3 }], updated: [], entities: [] });
  });
});

describe('planBatch: several events of one entity in one batch', () => {
  it('merges them one over the other: one entity row with the last state, a change-log row, a receipt and a decisions row each', () => {
    const j = journal();
    const e = eventsFor('sink');
    const events = [e({ fields: { n: inc(1) } }), e({ baseVersion: 1, fields: { n: inc(2), title: set('a') } }), e({ baseVersion: 2, fields: { n: inc(3) } })];
    spec
      .given()
      .when(...events.map((event) => j.record(event)))
      .then({
        outcomes: ['applied', 'applied', 'applied'],
        entities: [{ version: 3, lastEventId: events[2]!.eventId, lastStreamSeq: 3 }],
        values: [{ n: 6, title: 'a' }],
        inserted: events.map((event, i) => ({ eventId: event.eventId, version: i + 1, streamSeq: i + 1 })),
        changes: [{ version: 1 }, { version: 2 }, { version: 3 }],
        decisions: events.map((event, i) => ({ eventId: event.eventId, streamSeq: i + 1 })),
        fieldDecisions: [
          { idx: 0, streamSeq: 1 },
          { idx: 0, streamSeq: 2 },
          { idx: 1, field: 'title', streamSeq: 2 },
          { idx: 0, streamSeq: 3 },
        ],
        outbox: events.map((event) => ({ msgId: `merged-${WORKSPACE}-${event.eventId}` })),
        arrivals: [{ deviceId: 'dev-a', seqs: [1, 2, 3] }],
        plan: (plan) =>
          assert.deepStrictEqual(
            plan.changes.map((c) => (c.view.values as { n: number }).n),
            [1, 3, 6],
          ),
      });
  });

  it('two entities of a batch are upserted in order of first appearance', () => {
    const j = journal();
    const one = eventsFor('sink', 'sink-1');
    const two = eventsFor('sink', 'sink-2');
    spec
      .given()
      .when(j.record(one({ fields: { n: inc(1) } })), j.record(two({ eventId: uuid(101), deviceId: 'dev-b', fields: { n: inc(2) } })), j.record(one({ baseVersion: 1, fields: { n: inc(1) } })))
      .then({
        entities: [
          { entityId: 'sink-1', version: 2, lastStreamSeq: 3 },
          { entityId: 'sink-2', version: 1 },
        ],
        changes: [{ entityId: 'sink-1' }, { entityId: 'sink-2' }, { entityId: 'sink-1' }],
      });
  });
});

describe('planBatch: device progress across devices', () => {
  it('groups first arrivals by workspace and device in order of first appearance, with their sites; duplicates and re-drives do not count', () => {
    const j = journal();
    const a = eventsFor('sink', 'sink-a');
    const b = eventsFor('sink', 'sink-b');
    const a1 = a({ deviceId: 'dev-a', fields: { n: inc(1) } });
    const b1 = b({ eventId: uuid(101), deviceId: 'dev-b', fields: { n: inc(1) } });
    const a2 = a({ deviceId: 'dev-a', baseVersion: 1, fields: { n: inc(1) } });
    const b2 = b({ eventId: uuid(102), deviceId: 'dev-a', deviceSeq: 3, baseVersion: 1, fields: { n: inc(1) } });
    const later = '2025-01-01T00:00:05.000Z';
    spec
      .given([j.record(a1)])
      .when(j.record(b1, { site: 'south' }), j.record(a1), j.record(a2, { acceptedAt: later, site: 'north' }), j.record(b2), j.record(a1, { workspace: 'ws-other' }))
      .then({
        outcomes: ['applied', 'duplicate', 'applied', 'applied', 'applied'],
        arrivals: [
          { workspace: WORKSPACE, deviceId: 'dev-b', seqs: [1], acceptedAts: [ACCEPTED_AT], sites: [{ seq: 1, site: 'south' }] },
          { workspace: WORKSPACE, deviceId: 'dev-a', seqs: [2, 3], acceptedAts: [later, ACCEPTED_AT], sites: [{ seq: 2, site: 'north' }] },
          { workspace: 'ws-other', deviceId: 'dev-a', seqs: [1], acceptedAts: [ACCEPTED_AT], sites: [] },
        ],
      });
  });
});

describe('planBatch: scope keys for partial sync', () => {
  const partitioned = projectionSpec(schemaRegistryOf([{ ...SINK, partitionBy: 'title' }]));

  it('an unpartitioned type keys every record by its type', () => {
    const j = journal();
    const e = eventsFor('sink');
    spec
      .given()
      .when(j.record(e({ fields: { title: set('p1') } })))
      .then({ entities: [{ scopeKey: 'sink' }], changes: [{ scopeKey: 'sink', movedFromKey: null }] });
  });

  it('a partitioned type keys a record by its partition field; a record without a value has the empty partition', () => {
    const j = journal();
    const e = eventsFor('sink');
    const other = eventsFor('sink', 'sink-2');
    partitioned
      .given()
      .when(j.record(e({ fields: { title: set('p1') } })), j.record(other({ eventId: uuid(201), deviceSeq: 2, fields: { n: inc(1) } })))
      .then({
        entities: [
          { entityId: 'sink-1', scopeKey: 'sink\u001fp1' },
          { entityId: 'sink-2', scopeKey: 'sink\u001f' },
        ],
        changes: [
          { scopeKey: 'sink\u001fp1', movedFromKey: null },
          { scopeKey: 'sink\u001f', movedFromKey: null },
        ],
      });
  });

  it('a change of the partition field moves the record: its change names the key it left, within a batch and across batches', () => {
    const j = journal();
    const e = eventsFor('sink');
    const created = e({ fields: { title: set('p1') } });
    partitioned
      .given([j.record(created)])
      .when(j.record(e({ baseVersion: 1, fields: { title: set('p2') } })), j.record(e({ baseVersion: 2, fields: { n: inc(1) } })), j.record(e({ baseVersion: 3, fields: { title: set('p3') } })))
      .then({
        entities: [{ scopeKey: 'sink\u001fp3' }],
        changes: [
          { scopeKey: 'sink\u001fp2', movedFromKey: 'sink\u001fp1' },
          { scopeKey: 'sink\u001fp2', movedFromKey: null },
          { scopeKey: 'sink\u001fp3', movedFromKey: 'sink\u001fp2' },
        ],
      });
  });

  it('a type partitioned by id prefix keys a record by its id up to the separator, whatever its fields say; an id without one has the empty partition', () => {
    const byId = projectionSpec(schemaRegistryOf([{ ...SINK, partitionBy: { idPrefix: { separator: '/' } } }]));
    const j = journal();
    const inP7 = eventsFor('sink', 'p-7/img-1/crop');
    const loose = eventsFor('sink', 'img-2');
    byId
      .given()
      .when(
        j.record(inP7({ fields: { title: set('p1') } })),
        j.record(inP7({ eventId: uuid(301), deviceSeq: 2, baseVersion: 1, fields: { title: set('p2') } })),
        j.record(loose({ eventId: uuid(302), deviceSeq: 3, fields: { n: inc(1) } })),
      )
      .then({
        entities: [
          { entityId: 'p-7/img-1/crop', scopeKey: 'sink\u001fp-7' },
          { entityId: 'img-2', scopeKey: 'sink\u001f' },
        ],
        changes: [
          { scopeKey: 'sink\u001fp-7', movedFromKey: null },
          { scopeKey: 'sink\u001fp-7', movedFromKey: null },
          { scopeKey: 'sink\u001f', movedFromKey: null },
        ],
      });
  });

  it('a delete keeps the record where it was, so the devices that held it learn of it', () => {
    const j = journal();
    const e = eventsFor('sink');
    partitioned
      .given([j.record(e({ fields: { title: set('p1') } }))])
      .when(j.record(e({ op: 'delete', baseVersion: 1 })))
      .then({ entities: [{ deleted: true, scopeKey: 'sink\u001fp1' }], changes: [{ deleted: true, scopeKey: 'sink\u001fp1', movedFromKey: null }] });
  });
});
