import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkEditedEvent, checkOperatorAction, intakeOf, planParked, skipDecision } from '../index';
import { eventsFor, set } from '../testing/events';

describe('intakeOf: what a journal record does given its receipt', () => {
  it('a record without a receipt is merged for the first time', () => {
    assert.equal(intakeOf(undefined), 'first');
  });

  it('a parked receipt is not "seen": the record is merged again', () => {
    assert.equal(intakeOf('parked'), 'again');
  });

  it('every decided fate makes a later copy a duplicate, never a second application', () => {
    for (const status of ['applied', 'merged', 'conflicted', 'repair', 'rejected', 'noop', 'duplicate', 'skipped']) assert.equal(intakeOf(status), 'duplicate', status);
  });
});

describe('planParked: what the projector writes for a merged record', () => {
  const parking = { code: 'unknown-entity-type' as const, reason: 'unknown entity type "photo"' };

  it('first arrival: insert the receipt; park it when the registry lacks its schema', () => {
    assert.deepStrictEqual(planParked('first', undefined, undefined), { receipt: 'insert', park: undefined, resolveOpen: undefined });
    assert.deepStrictEqual(planParked('first', parking, undefined), { receipt: 'insert', park: parking, resolveOpen: undefined });
  });

  it('a re-drive that applies upgrades the parked receipt and resolves the open entry as re-driven', () => {
    assert.deepStrictEqual(planParked('again', undefined, 'redrive'), { receipt: 'update', park: undefined, resolveOpen: { resolution: 'redrive' } });
    assert.deepStrictEqual(planParked('again', undefined, 'edit'), { receipt: 'update', park: undefined, resolveOpen: { resolution: 'edit' } });
  });

  it('a re-drive that fails again is parked as a new entry, which resolves the earlier one', () => {
    assert.deepStrictEqual(planParked('again', parking, 'redrive'), { receipt: 'update', park: parking, resolveOpen: { resolution: 'redrive' } });
  });

  it('the device’s own later copy of a parked event (no operator action) resolves it as a retry', () => {
    assert.deepStrictEqual(planParked('again', undefined, undefined).resolveOpen, { resolution: 'retry' });
    assert.deepStrictEqual(planParked('again', undefined, 'skip').resolveOpen, { resolution: 'retry' });
  });
});

describe('skipDecision', () => {
  it('skips a parked entry and its parked receipt', () => {
    assert.deepStrictEqual(skipDecision('parked', 'parked'), { entry: true, receipt: true });
  });

  it('skips an entry without a receipt (not a record) and never undoes an applied copy', () => {
    assert.deepStrictEqual(skipDecision('parked', undefined), { entry: true, receipt: false });
    assert.deepStrictEqual(skipDecision('parked', 'applied'), { entry: true, receipt: false });
  });

  it('does nothing to an entry already resolved', () => {
    assert.deepStrictEqual(skipDecision('redriven', 'applied'), { entry: false, receipt: false });
    assert.deepStrictEqual(skipDecision('skipped', 'skipped'), { entry: false, receipt: false });
    assert.deepStrictEqual(skipDecision(undefined, 'parked'), { entry: false, receipt: false });
  });
});

describe('checkOperatorAction: allowed transitions of a parked entry', () => {
  it('allows every action on a parked record', () => {
    for (const action of ['redrive', 'edit', 'skip'] as const) assert.equal(checkOperatorAction({ status: 'parked', hasRecord: true }, action), undefined);
  });

  it('refuses any action on an entry that is no longer parked', () => {
    for (const status of ['redriven', 'skipped']) {
      for (const action of ['redrive', 'edit', 'skip'] as const) {
        const refusal = checkOperatorAction({ status, hasRecord: true }, action);
        assert.equal(refusal?.code, 'not-parked');
        assert.match(refusal!.detail, new RegExp(`the entry is ${status}, not parked: there is nothing left to ${action}`));
      }
    }
  });

  it('only skips a message that is not a journal record, and names a missing entry', () => {
    assert.equal(checkOperatorAction({ status: 'parked', hasRecord: false }, 'skip'), undefined);
    assert.equal(checkOperatorAction({ status: 'parked', hasRecord: false }, 'redrive')?.code, 'not-a-record');
    assert.equal(checkOperatorAction({ status: 'parked', hasRecord: false }, 'edit')?.code, 'not-a-record');
    assert.equal(checkOperatorAction(undefined, 'skip')?.code, 'not-found');
  });
});

describe('checkEditedEvent', () => {
  const e = eventsFor('photo');
  const original = e({ fields: { caption: set('x') }, schemaVersion: 3 });

  it('accepts corrected fields, schema version, op and base version', () => {
    assert.deepStrictEqual(checkEditedEvent(original, { ...original, schemaVersion: 1, baseVersion: 2, fields: { title: set('y') } }), []);
  });

  it('names every identity part that changed, by pointer', () => {
    const other = e({ deviceId: 'dev-b' });
    const problems = checkEditedEvent(original, { ...original, eventId: other.eventId, deviceId: 'dev-b', deviceSeq: 9, entity: { type: 'image', id: 'other' } });
    assert.deepStrictEqual(
      problems.map((p) => p.pointer),
      ['/event/eventId', '/event/deviceId', '/event/deviceSeq', '/event/entity/type', '/event/entity/id'],
    );
    assert.match(problems[2]!.detail, /must stay 1 \(the original event's\); got 9/);
  });
});
