// The SDK under a workspace's access rules, against the real gateway, journal and merge services: a device whose
// role may not write a field gets `403 write-not-allowed`; the client quarantines exactly the events the problem
// names (`forbidden`), sends the others, and its outbox drains instead of retrying a refused batch for ever.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startSlice, type SliceStack } from '@tidemark/testing';
import { TidemarkClient } from './client';
import type { DeviceCredentials } from './auth/token-keeper';
import { MemoryStorage } from './storage/storage';

describe('the SDK under access rules (real services)', () => {
  let stack: SliceStack;
  let gateway: string;

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway']);
    gateway = stack.url('gateway');
    const admin = (path: string, method: string, body: unknown) =>
      fetch(`${gateway}/v1/admin${path}`, { method, headers: { ...stack.operatorHeaders, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.ok((await admin('/workspaces', 'POST', { workspace: 'studio' })).ok);
    const rules = { version: 1, roles: { pipeline: { write: { job: '*', annotation: ['confidence'] } } } };
    const published = await admin('/workspaces/studio/access-rules', 'PUT', { rules, reason: 'pipelines write jobs and confidence only' });
    assert.ok(published.ok, `${published.status} ${await published.text()}`);
  });
  after(async () => {
    await stack?.stop();
  });

  it('quarantines the events the role may not write, as forbidden, and syncs the rest', async () => {
    const enrolled = await fetch(`${gateway}/v1/admin/workspaces/studio/devices`, {
      method: 'POST',
      headers: { ...stack.operatorHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: 'gpu-runner', role: 'pipeline', reason: 'test' }),
    });
    assert.equal(enrolled.status, 201);
    const client = await TidemarkClient.open({
      baseUrl: gateway,
      storage: new MemoryStorage(),
      credentials: (await enrolled.json()) as DeviceCredentials,
      retry: { initialDelayMs: 10, maxDelayMs: 50 },
    });
    const allowed = await client.upsert('annotation', 'img-1', { confidence: 0.9 });
    const refused = await client.upsert('annotation', 'img-1', { label: 'cat' });
    const mixed = await client.enqueue({ entity: { type: 'annotation', id: 'img-2' }, op: 'upsert', fields: { confidence: { op: 'set', value: 0.4 }, label: { op: 'set', value: 'dog' } } });
    const summary = await client.push();
    assert.deepEqual({ accepted: summary.accepted, quarantined: summary.quarantined, remaining: summary.remaining }, { accepted: 1, quarantined: 2, remaining: 0 });
    const quarantined = await client.quarantined();
    assert.deepEqual(
      quarantined.map((q) => [q.event.eventId, q.kind, q.status]).sort(),
      [
        [refused.eventId, 'forbidden', 403],
        [mixed.eventId, 'forbidden', 403],
      ].sort(),
    );
    assert.match(quarantined[0]!.reason, /\/events\/\d+\/fields\/label/);
    await eventually(
      async () => {
        await client.pull();
        assert.deepEqual(client.get('annotation', 'img-1')?.values, { confidence: 0.9 });
        assert.equal(client.get('annotation', 'img-1')?.status, 'applied');
      },
      { message: 'the allowed write is applied; the refused ones no longer show' },
    );
    assert.equal(client.get('annotation', 'img-2'), undefined, 'the refused create does not show');
    const receipts = (await client.receipts()).receipts.map((r) => [r.eventId, r.status]);
    assert.deepEqual(receipts, [[allowed.eventId, 'applied']], 'the server has a receipt for the allowed event only: the refused ones were never journaled');
    await client.close();
  });
});
