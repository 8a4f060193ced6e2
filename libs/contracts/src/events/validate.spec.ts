import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { LIMITS, validatePushRequest, type DeviceEvent } from '../index';

function event(overrides: Partial<DeviceEvent> = {}): DeviceEvent {
  return {
    eventId: randomUUID(),
    deviceId: 'dev-a',
    deviceSeq: 1,
    hlc: { wall: 1_700_000_000_000, counter: 0 },
    entity: { type: 'annotation', id: 'a1' },
    op: 'upsert',
    baseVersion: 0,
    fields: { label: { op: 'set', value: 'cat' } },
    schemaVersion: 1,
    ...overrides,
  };
}

describe('validatePushRequest', () => {
  it('accepts a well-formed batch', () => {
    const result = validatePushRequest({ events: [event(), event({ deviceSeq: 2 })] });
    assert.equal(result.ok, true);
  });

  it('names unknown fields by pointer', () => {
    const result = validatePushRequest({ events: [{ ...event(), colour: 'red' }] });
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.errors.some((e) => e.pointer === '/events/0/colour' && e.detail === 'unknown field'));
  });

  it('names wrong types and missing fields', () => {
    const bad = { ...event(), deviceSeq: 'one' } as unknown as DeviceEvent;
    delete (bad as Partial<DeviceEvent>).hlc;
    const result = validatePushRequest({ events: [bad] });
    assert.ok(!result.ok);
    const pointers = result.errors.map((e) => e.pointer);
    assert.ok(pointers.includes('/events/0/deviceSeq'), pointers.join());
    assert.ok(pointers.includes('/events/0/hlc'), pointers.join());
  });

  it('refuses more events than the batch limit, naming the limit', () => {
    const events = Array.from({ length: LIMITS.maxEventsPerBatch + 1 }, (_, i) => event({ deviceSeq: i + 1 }));
    const result = validatePushRequest({ events });
    assert.ok(!result.ok);
    assert.match(result.errors[0]!.detail, new RegExp(`limit is ${LIMITS.maxEventsPerBatch}`));
  });

  it('refuses a repeated eventId inside one batch', () => {
    const first = event();
    const result = validatePushRequest({ events: [first, { ...first, deviceSeq: 2 }] });
    assert.ok(!result.ok);
    assert.equal(result.errors[0]!.pointer, '/events/1/eventId');
  });

  it('refuses values nested too deep', () => {
    let value: unknown = 'leaf';
    for (let i = 0; i < LIMITS.maxValueDepth + 2; i++) value = [value];
    const result = validatePushRequest({ events: [event({ fields: { label: { op: 'set', value } } })] });
    assert.ok(!result.ok);
    assert.match(result.errors[0]!.detail, /nested deeper/);
  });

  it('requires job details on a transition', () => {
    const result = validatePushRequest({ events: [event({ op: 'transition', fields: undefined })] });
    assert.ok(!result.ok);
    assert.equal(result.errors[0]!.pointer, '/events/0/job');
  });
});
