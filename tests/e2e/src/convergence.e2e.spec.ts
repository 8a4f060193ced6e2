// Two devices edit the same entities offline for a simulated week, then reconnect with interleaved
// pushes. Mergeable fields converge by their declared rules, review fields open conflicts, impossible job
// transitions become repairs, every event has a receipt, and rebuilding the projection from the journal
// into an empty database gives exactly the live projection.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceEvent } from '@tidemark/contracts';
import { findFreePort } from '@tidemark/local-stack';
import { STREAMS } from '@tidemark/messaging';
import { createDataSource, projectionDigest } from '@tidemark/persistence';
import { FakeDevice, count, eventually, getJson, startServiceProcess, startSlice, testDatabase, type SliceStack } from '@tidemark/testing';

const ENTITIES = 20;
const JOBS = 5;
const HOUR = 3_600_000;
const WEEK_START = Date.UTC(2026, 10, 16);

describe('two devices offline for a week', () => {
  let stack: SliceStack;
  const pushed: DeviceEvent[] = [];

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway', 'ops-api']);
  });
  after(async () => {
    await stack?.stop();
  });

  const send = async (events: DeviceEvent[]) => {
    for (let i = 0; i < events.length; i += 100) {
      const batch = events.slice(i, i + 100);
      const result = await stack.push(batch);
      assert.equal(result.status, 200, JSON.stringify(result.body).slice(0, 500));
      pushed.push(...batch);
    }
  };

  it('converges mergeable fields, opens conflicts, makes repairs, and receipts every event', async () => {
    // Both devices start from the same pulled state: every annotation at version 1 with a seed tag.
    const seeder = new FakeDevice('seeder', WEEK_START - HOUR, 1000);
    const ids = Array.from({ length: ENTITIES }, (_, i) => `img-${i}`);
    await send(
      ids.map((id) =>
        seeder.event('annotation', id, 'upsert', {
          fields: { label: { op: 'set', value: 'unlabelled' }, tags: { op: 'add', values: ['seed'] }, votes: { op: 'inc', by: 1 }, confidence: { op: 'set', value: 0.1 } },
        }),
      ),
    );
    await eventually(async () => assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM event_receipts'), ENTITIES));

    // A week offline: both devices work on every entity with baseVersion 1 (what they last pulled).
    const a = new FakeDevice('tablet-a', WEEK_START, 20 * 60_000);
    const b = new FakeDevice('laptop-b', WEEK_START + 7_000, 20 * 60_000);
    const queueA: DeviceEvent[] = [];
    const queueB: DeviceEvent[] = [];
    const expected = new Map(ids.map((id) => [id, { votes: 1, confidence: 0.1, tags: new Set(['seed']), notes: 0, lww: { wall: -1, device: '', value: '' } }]));
    for (let round = 0; round < 8; round++) {
      for (const [i, id] of ids.entries()) {
        for (const [device, queue, tag] of [
          [a, queueA, 'a'],
          [b, queueB, 'b'],
        ] as const) {
          const e = expected.get(id)!;
          const by = (round + i) % 3 === 0 ? -1 : 2;
          const confidence = ((round * 7 + i * 3 + (tag === 'a' ? 1 : 2)) % 97) / 100;
          const fields: NonNullable<DeviceEvent['fields']> = {
            votes: { op: 'inc', by },
            confidence: { op: 'set', value: confidence },
            tags: { op: 'add', values: [`${tag}-${round}`] },
            notes: { op: 'append', values: [`${tag} note ${round}`] },
            assetId: { op: 'set', value: `${tag}-asset-${round}` },
          };
          if (round === 3 && tag === 'b') fields.tags = { op: 'remove', values: ['seed'] };
          if (round === 5) fields.label = { op: 'set', value: tag === 'a' ? 'cat' : 'dog' };
          const event = device.event('annotation', id, 'upsert', { baseVersion: 1, fields });
          queue.push(event);
          e.votes += by;
          e.confidence = Math.max(e.confidence, confidence);
          if (fields.tags.op === 'add') e.tags.add(`${tag}-${round}`);
          else e.tags.delete('seed');
          e.notes += 1;
          const stamp = { wall: event.hlc.wall, device: event.deviceId };
          if (stamp.wall > e.lww.wall || (stamp.wall === e.lww.wall && stamp.device > e.lww.device)) e.lww = { ...stamp, value: `${tag}-asset-${round}` };
        }
      }
    }
    // Jobs: A runs them to success; B, stale, later reports that it is running them.
    for (let j = 0; j < JOBS; j++) {
      queueA.push(a.transition(`job-${j}`, 'queued', 1, 0, { kind: { op: 'set', value: 'caption' } }), a.transition(`job-${j}`, 'running', 1, 1), a.transition(`job-${j}`, 'succeeded', 1, 2));
      queueB.push(b.transition(`job-${j}`, 'running', 1, 1));
    }

    // Reconnect: interleaved pushes, A first in each round, B's jobs land after A's.
    for (let i = 0; i < Math.max(queueA.length, queueB.length); i += 50) {
      await send(queueA.slice(i, i + 50));
      await send(queueB.slice(i, i + 50));
    }
    const total = pushed.length;
    assert.ok(total > 2 * 160, `hundreds of events per device (${total})`);
    await eventually(async () => assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM event_receipts'), total), { timeoutMs: 30_000 });

    // Every event has exactly one receipt, keyed by its id.
    const receiptIds = (await stack.db.query<{ event_id: string }>('SELECT event_id FROM event_receipts')).rows.map((r) => r.event_id);
    assert.deepEqual(new Set(receiptIds), new Set(pushed.map((e) => e.eventId)));

    // Each device's sequence arrived whole: contiguous up to its last event, no gaps (ops-api view).
    const { devices } = await getJson(`${stack.url('ops-api')}/v1/devices?sort=device`, stack.operatorHeaders);
    for (const device of [a, b]) {
      const mine = pushed.filter((e) => e.deviceId === device.deviceId);
      const row = devices.find((d: { deviceId: string }) => d.deviceId === device.deviceId);
      assert.deepEqual({ contiguous: row.contiguousSeq, missing: row.missing, gaps: row.gaps, events: row.events }, { contiguous: mine.length, missing: 0, gaps: [], events: mine.length });
    }

    // Mergeable fields converged to what their rules say, whatever the interleaving.
    const rows = (await stack.db.query<{ entity_id: string; view: { values: Record<string, any>; inConflict: string[] } }>("SELECT entity_id, view FROM entities WHERE entity_type = 'annotation'"))
      .rows;
    assert.equal(rows.length, ENTITIES);
    for (const row of rows) {
      const e = expected.get(row.entity_id)!;
      const v = row.view.values;
      assert.equal(v.votes, e.votes, `${row.entity_id} votes (counter)`);
      assert.equal(v.confidence, e.confidence, `${row.entity_id} confidence (max)`);
      assert.deepEqual(new Set(v.tags), e.tags, `${row.entity_id} tags (add-wins set, observed remove)`);
      assert.equal(v.notes.length, e.notes, `${row.entity_id} notes (append keeps every item)`);
      assert.equal(v.assetId, e.lww.value, `${row.entity_id} assetId (lww by HLC)`);
      // review: both devices relabelled concurrently to different values → an open conflict, no winner.
      assert.deepEqual(row.view.inConflict, ['label'], `${row.entity_id} label is in conflict`);
    }

    const conflicts = (await stack.db.query<{ entity_id: string; field: string; detail: any }>("SELECT entity_id, field, detail FROM conflicts WHERE status = 'open'")).rows;
    assert.equal(conflicts.length, ENTITIES, 'one open label conflict per entity');
    for (const c of conflicts) {
      assert.equal(c.field, 'label');
      assert.deepEqual(new Set([c.detail.ours.deviceId, c.detail.theirs.deviceId]), new Set(['tablet-a', 'laptop-b']));
      assert.deepEqual(new Set([c.detail.ours.value, c.detail.theirs.value]), new Set(['cat', 'dog']));
    }
    // …and each is on the REVIEW stream for reviewers and integrators.
    await eventually(async () => {
      const info = await stack.js.jsm.streams.info(STREAMS.review);
      assert.equal(info.state.messages, ENTITIES);
    });

    // Integrators get every applied change on MERGED, shaped as docs/integrators.md documents.
    const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'integrators.md'), 'utf8');
    const example = JSON.parse(/merged-example:start -->\s*```json\n([\s\S]*?)```/.exec(doc)![1]!);
    const merged = await stack.js.jsm.streams.getMessage(STREAMS.merged, { last_by_subj: `tm.merged.default.annotation.${ids[0]}` });
    const message = merged!.json<Record<string, unknown>>();
    assert.deepEqual(Object.keys(message).sort(), Object.keys(example).sort(), 'MERGED payload keys match the documentation');
    assert.deepEqual(Object.keys(message.view as object).sort(), Object.keys(example.view).sort());

    // Impossible job transitions became repairs with both facts; the jobs stayed succeeded.
    const repairs = (await stack.db.query<{ entity_id: string; code: string; detail: any }>('SELECT entity_id, code, detail FROM repairs ORDER BY entity_id')).rows;
    assert.equal(repairs.length, JOBS);
    for (const r of repairs) {
      assert.equal(r.detail.current.state, 'succeeded');
      assert.equal(r.detail.reported.to, 'running');
      assert.equal(r.detail.reported.deviceId, 'laptop-b');
    }
    const jobs = (await stack.db.query<{ view: any }>("SELECT view FROM entities WHERE entity_type = 'job'")).rows;
    assert.ok(jobs.length === JOBS && jobs.every((j) => j.view.job.state === 'succeeded'));
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM event_receipts WHERE status = 'repair'"), JOBS);
  });

  it('rebuilds from the journal into an empty database, equal to the live projection', async () => {
    const live = createDataSource({ url: stack.env.DATABASE_URL! });
    await live.initialize();
    const shadow = await testDatabase('rebuild');
    const rebuild = await startServiceProcess('merge-service', {
      ...stack.env,
      DATABASE_URL: shadow.url,
      HTTP_PORT: String(await findFreePort()),
      MERGE_CONSUMER_PREFIX: 'rebuild',
      OUTBOX_ENABLED: 'false',
    });
    const rebuilt = createDataSource({ url: shadow.url });
    await rebuilt.initialize();
    try {
      await eventually(async () => assert.equal(Number((await rebuilt.query('SELECT count(*) AS n FROM event_receipts'))[0].n), pushed.length), { timeoutMs: 30_000 });
      const [a, b] = [await projectionDigest(live), await projectionDigest(rebuilt)];
      assert.deepEqual(b.tables, a.tables);
      assert.equal(b.digest, a.digest);
      assert.ok(a.tables.entities!.rows > 0 && a.tables.merge_decisions!.rows > 0 && a.tables.conflicts!.rows > 0);
    } finally {
      await rebuild.kill();
      await rebuilt.destroy();
      await live.destroy();
      await shadow.drop();
    }
  });
});
