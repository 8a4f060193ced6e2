import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { journalSubject } from '@tidemark/contracts';
import { STREAMS } from '@tidemark/messaging';
import { FakeDevice, count, eventually, getJson, push, startSlice, type SliceStack } from '@tidemark/testing';

describe('parking and graceful shutdown', () => {
  let stack: SliceStack;
  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway', 'ops-api']);
  });
  after(async () => {
    await stack?.stop();
  });

  it('parks a poison journal message with its reason and keeps the partition flowing', async () => {
    const device = new FakeDevice('parking-dev');
    const entity = { type: 'annotation', id: 'poisoned' };
    const subject = journalSubject('default', entity, 4);
    // Garbage and a record whose subject lies about its entity, straight into the journal.
    await stack.js.js.publish(subject, 'not json at all', { msgID: 'poison-1' });
    await stack.js.js.publish(subject, JSON.stringify({ v: 1, workspace: 'default', acceptedAt: new Date(0).toISOString(), event: device.upsert('annotation', 'someone-else', { label: 'x' }) }), {
      msgID: 'poison-2',
    });
    const after = await stack.push([device.upsert('annotation', 'poisoned', { label: 'fine' }), device.upsert('annotation', 'poisoned', { confidence: 0.9 }, 1)]);
    assert.equal(after.status, 200);

    await eventually(async () => assert.equal(await count(stack.db, "SELECT count(*) AS n FROM event_receipts WHERE entity_id = 'poisoned' AND status IN ('applied', 'merged')"), 2));
    const parked = (await stack.db.query<{ reason: string; subject: string; attempts: number; payload: string }>('SELECT reason, subject, attempts, payload FROM parked_events ORDER BY stream_seq'))
      .rows;
    assert.equal(parked.length, 2);
    assert.match(parked[0]!.reason, /not JSON/);
    assert.equal(parked[0]!.payload, 'not json at all', 'the parked message is kept whole');
    assert.match(parked[1]!.reason, /does not match/);
    const projection = await getJson(`${stack.url('ops-api')}/v1/projection`, stack.operatorHeaders);
    assert.equal(projection.parked.length, 2, 'operators see parked messages');
  });

  it('drains merge-service on SIGTERM (exit 0) and loses nothing across the restart', async () => {
    const device = new FakeDevice('drain-dev');
    const before = await count(stack.db, 'SELECT count(*) AS n FROM event_receipts');
    let pushedCount = 0;
    const ingest = (async () => {
      for (let b = 0; b < 20; b++) {
        const result = await stack.push(Array.from({ length: 200 }, (_, i) => device.event('annotation', `drain-${i % 50}`, 'upsert', { fields: { votes: { op: 'inc', by: 1 } } })));
        assert.equal(result.status, 200);
        pushedCount += 200;
      }
    })();
    await eventually(async () => assert.ok((await count(stack.db, 'SELECT count(*) AS n FROM event_receipts')) > before + 200));
    const exit = await stack.services.get('merge-service')!.stop();
    assert.equal(exit.code, 0, 'graceful shutdown exits 0');
    await ingest;
    await stack.start('merge-service');
    await eventually(async () => assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM event_receipts'), before + pushedCount), { timeoutMs: 30_000 });
    assert.equal(await count(stack.db, "SELECT sum((view->'values'->>'votes')::int) AS n FROM entities WHERE entity_id LIKE 'drain-%'"), pushedCount);
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM journal_duplicates'), 0);
  });

  it('finishes in-flight pushes when the gateway gets SIGTERM, then exits 0', async () => {
    // One device each: a device may have only PUSH_MAX_IN_FLIGHT_PER_DEVICE pushes in flight (more are 429).
    const devices = Array.from({ length: 8 }, (_, b) => new FakeDevice(`gw-drain-${b}`));
    const gateway = stack.services.get('gateway')!;
    const headers = await Promise.all(devices.map((d) => stack.headersFor(d.deviceId)));
    const inflight = devices.map((device, b) =>
      push(
        stack.url('gateway'),
        Array.from({ length: 300 }, (_, i) => device.event('annotation', `gw-${b}-${i % 10}`, 'upsert', { fields: { votes: { op: 'inc', by: 1 } } })),
        headers[b]!,
      ).catch((error: unknown) => error),
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    const exited = gateway.stop();
    const results = await Promise.all(inflight);
    assert.equal((await exited).code, 0);
    const answered = results.filter((r): r is { status: number; body: any; contentType: string | null } => typeof r === 'object' && r !== null && 'status' in r);
    assert.ok(
      answered.some((r) => r.status === 200),
      'requests in flight when SIGTERM came were answered in full',
    );
    for (const r of answered) {
      if (r.status === 200) continue;
      // Arrived after shutdown began: refused before any work, as problem+json, so the device retries.
      assert.equal(r.status, 503);
      assert.match(r.contentType ?? '', /problem\+json/);
    }
    // Whatever was answered "accepted" is journaled.
    const accepted = answered.flatMap((r) => r.body.results ?? []).filter((r: { status: string }) => r.status === 'accepted').length;
    const journal = (await stack.js.jsm.streams.info(STREAMS.journal)).state.messages;
    assert.ok(accepted > 0 && journal >= accepted);
    await stack.start('gateway');
  });
});
