import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PROMPT_V1, type EntityTypeSchema } from '@tidemark/merge';
import { FakeDevice, count, eventually, startSlice, type SliceStack } from '@tidemark/testing';

describe('a schema version published through the admin API', () => {
  let stack: SliceStack;
  before(async () => {
    stack = await startSlice(['journal-service', 'gateway']);
    // A refresh interval far longer than the test: only the projector's ensure() can pick the new version up.
    await stack.start('merge-service', { SCHEMA_REFRESH_MS: '600000' });
  });
  after(async () => {
    await stack?.stop();
  });

  it('applies an event written against it right away, and parks one naming a version never published', async () => {
    const v2: EntityTypeSchema = { ...PROMPT_V1, version: 2, fields: { ...PROMPT_V1.fields, rating: { policy: 'max', valueType: 'integer', description: 'best rating' } } };
    const put = await fetch(`${stack.url('journal-service')}/v1/schemas/prompt/2`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...stack.operatorHeaders },
      body: JSON.stringify(v2),
    });
    assert.equal(put.status, 201);

    const device = new FakeDevice('schema-dev');
    const result = await stack.push([
      device.event('prompt', 'p1', 'upsert', { schemaVersion: 2, fields: { text: { op: 'set', value: 'describe the image' }, rating: { op: 'set', value: 4 } } }),
      device.event('prompt', 'p2', 'upsert', { schemaVersion: 9, fields: { text: { op: 'set', value: 'x' } } }),
    ]);
    assert.equal(result.status, 200);
    await eventually(async () => assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM event_receipts'), 2));
    const receipts = (await stack.db.query<{ entity_id: string; status: string; reason: string | null }>('SELECT entity_id, status, reason FROM event_receipts ORDER BY entity_id')).rows;
    assert.equal(receipts[0]!.status, 'applied');
    assert.equal(receipts[1]!.status, 'parked', 'a version the registry lacks waits for an operator, it is not the device’s fault');
    assert.match(receipts[1]!.reason ?? '', /version 9/);
    const changes = await stack.get('/v1/changes', 'schema-dev');
    assert.deepEqual(changes.changes[0].state, { rating: 4, text: 'describe the image' });
  });
});
