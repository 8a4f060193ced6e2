import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PatchSlots } from './patch-slots';

describe('PATCH slots per instance, workspace and device', () => {
  it('refuses a device past its limit, a workspace past its limit, and the instance past its limit, naming each', () => {
    const slots = new PatchSlots({ instance: 5, workspace: 3, device: 2 });
    assert.ok(slots.acquire('a', 'd1').ok);
    assert.ok(slots.acquire('a', 'd1').ok);
    assert.deepEqual(slots.acquire('a', 'd1'), { ok: false, scope: 'device', limit: 2, variable: 'UPLOAD_MAX_PATCHES_PER_DEVICE' });
    assert.ok(slots.acquire('a', 'd2').ok);
    assert.deepEqual(slots.acquire('a', 'd3'), { ok: false, scope: 'workspace', limit: 3, variable: 'UPLOAD_MAX_PATCHES_PER_WORKSPACE' });
    assert.ok(slots.acquire('b', 'd1').ok, 'another workspace still gets a slot (the same device id is another device there)');
    assert.ok(slots.acquire('b', 'd2').ok);
    assert.deepEqual(slots.acquire('c', 'd1'), { ok: false, scope: 'instance', limit: 5, variable: 'UPLOAD_MAX_ACTIVE_PATCHES' });
  });

  it('gives every slot back once, however often release is called', () => {
    const slots = new PatchSlots({ instance: 2, workspace: 2, device: 1 });
    const first = slots.acquire('a', 'd1');
    assert.ok(first.ok);
    first.release();
    first.release();
    assert.deepEqual(slots.inUse('a', 'd1'), { total: 0, workspace: 0, device: 0 });
    const again = slots.acquire('a', 'd1');
    assert.ok(again.ok);
    assert.deepEqual(slots.inUse('a', 'd1'), { total: 1, workspace: 1, device: 1 });
  });
});
