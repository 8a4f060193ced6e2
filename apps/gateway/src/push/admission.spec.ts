import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PushAdmission, type Refusal, type Ticket } from './admission';

const MiB = 1024 * 1024;
const limits = { perDevice: 2, bytes: 4 * MiB, events: 1000, bodyLimit: MiB, retryAfterSeconds: 1, deviceBytesPerSecond: 100 * MiB, deviceBurstBytes: 100 * MiB };
const ticket = (t: Ticket | Refusal): Ticket => {
  assert.ok('release' in t, `admitted, not ${JSON.stringify(t)}`);
  return t;
};

describe('push admission', () => {
  it('limits a device to its pushes in flight (429), whatever the others do', () => {
    const a = new PushAdmission(limits);
    ticket(a.admit('d1', MiB, 0));
    const second = ticket(a.admit('d1', MiB, 0));
    assert.deepEqual(a.admit('d1', 100, 0), {
      status: 429,
      limit: 'PUSH_MAX_IN_FLIGHT_PER_DEVICE',
      detail: 'this device already has 2 pushes in flight (at most 2); wait for their answers, then retry',
    });
    ticket(a.admit('d2', 100, 0));
    second.release();
    second.release();
    ticket(a.admit('d1', 100, 0));
  });

  it('refuses a large push past the byte budget (503) while small pushes still use the headroom', () => {
    const a = new PushAdmission(limits);
    for (const d of ['a', 'b']) for (let i = 0; i < 2; i++) ticket(a.admit(d, MiB, 0));
    assert.equal((a.admit('c', MiB, 0) as Refusal).status, 503);
    assert.equal((a.admit('c', undefined, 0) as Refusal).limit, 'PUSH_IN_FLIGHT_BYTES', 'no Content-Length counts as the body limit');
    ticket(a.admit('c', 2000, 0));
    ticket(a.admit('e', 2000, 0));
  });

  it('counts parsed events against the event budget and gives everything back on release', () => {
    const a = new PushAdmission(limits);
    const first = ticket(a.admit('a', 1000, 0));
    assert.equal(first.events(800), undefined);
    const second = ticket(a.admit('b', 1000, 0));
    assert.equal(second.events(300)?.limit, 'PUSH_IN_FLIGHT_EVENTS');
    assert.deepEqual(a.inFlight(), { bytes: 1000, events: 800, devices: 1 }, 'the refused push released its bytes');
    first.release();
    assert.deepEqual(a.inFlight(), { bytes: 0, events: 0, devices: 0 });
  });

  it('holds each device to its byte rate: a burst, then the sustained rate, with the wait in the refusal; others untouched', () => {
    const a = new PushAdmission({ ...limits, deviceBytesPerSecond: MiB, deviceBurstBytes: 2 * MiB });
    ticket(a.admit('flood', MiB, 0)).release();
    ticket(a.admit('flood', MiB, 0)).release();
    const refused = a.admit('flood', MiB, 100) as Refusal;
    assert.equal(refused.status, 429);
    assert.equal(refused.limit, 'PUSH_DEVICE_BYTES_PER_SECOND');
    assert.equal(refused.retryAfterSeconds, 1, 'about 0.9 s to refill one MiB, rounded up');
    ticket(a.admit('steady', 2000, 100)).release();
    ticket(a.admit('flood', MiB, 1000)).release();
    assert.equal((a.admit('flood', MiB, 1500) as Refusal).limit, 'PUSH_DEVICE_BYTES_PER_SECOND');
    ticket(a.admit('flood', MiB, 3000)).release();
    ticket(a.admit('flood', MiB, 3000)).release();
    assert.equal((a.admit('flood', 10, 3000) as Refusal).limit, 'PUSH_DEVICE_BYTES_PER_SECOND', 'the allowance was spent');
  });
});
