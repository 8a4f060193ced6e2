import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PARKED_HEADERS, journalSubject, type DeviceEvent, type JournalRecord } from '@tidemark/contracts';
import { assetFieldsOf, mergeWithRegistry, type EntityTypeSchema } from '@tidemark/merge';
import { STREAMS, applyTopology, buildHeaders, connectJetStream, journalTopology, mergeConsumerConfig, mergeConsumerName, type JetStreamConnection, type JsMsg } from '@tidemark/messaging';
import { createDataSource, migrateWithLock, projectionDigest, type DataSource } from '@tidemark/persistence';
import { createLogger } from '@tidemark/telemetry';
import { FakeDevice, testDatabase, testNats, type TestDatabase } from '@tidemark/testing';
import { Projector } from './projector';
import { SchemaRegistryCache } from './schema-registry-cache';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const PHOTO_V1: EntityTypeSchema = {
  type: 'photo',
  version: 1,
  onDeleteConflict: 'delete-wins',
  fields: { caption: { policy: 'lww', valueType: 'string' }, original: { policy: 'lww', valueType: 'asset' }, renders: { policy: 'set', valueType: 'asset' } },
};

/** One projection: a database, its registry, a projector and its durable consumer on the one partition. */
interface Projection {
  db: TestDatabase;
  ds: DataSource;
  schemas: SchemaRegistryCache;
  projector: Projector;
  consumer: string;
}

describe('projector parking, re-drive, skip and edit (real Postgres and JetStream)', () => {
  let nats: Awaited<ReturnType<typeof testNats>>;
  let conn: JetStreamConnection;
  const projections: Projection[] = [];
  const logger = createLogger('parking-test', 'silent');
  const device = new FakeDevice('cam-1');
  let live: Projection;

  const open = async (name: string, prefix: string, failing?: (entityId: string) => boolean, parkAfter = 2): Promise<Projection> => {
    const db = await testDatabase(name);
    const ds = createDataSource({ url: db.url });
    await ds.initialize();
    await migrateWithLock(ds);
    const schemas = new SchemaRegistryCache(ds, { refreshMs: 600_000, logger });
    await schemas.start();
    const projector = new Projector(ds, {
      isolateAfter: 3,
      parkAfter,
      logger,
      merge: (state, input) => {
        if (failing?.(input.event.entity.id)) throw new Error(`cannot merge ${input.event.entity.id} right now`);
        return mergeWithRegistry(state, input, schemas.current());
      },
      ensureSchemas: async (pairs) => void (await Promise.all(pairs.map((p) => schemas.ensure(p.type, p.version)))),
      assetFields: (type) => assetFieldsOf(schemas.current(), type),
    });
    const consumer = mergeConsumerName(0, prefix);
    await conn.jsm.consumers.add(STREAMS.journal, mergeConsumerConfig(0, 0, prefix));
    const p = { db, ds, schemas, projector, consumer };
    projections.push(p);
    return p;
  };

  /**
   * Fetches what the projection's consumer has pending, up to stream sequence `upTo`, and commits it in
   * batches of `batch`, acking after each commit. With one partition the consumer sees every journal message.
   */
  const drain = async (p: Projection, upTo = Number.MAX_SAFE_INTEGER, batch = 100, isolate: boolean | number = false): Promise<void> => {
    const consumer = await conn.js.consumers.get(STREAMS.journal, p.consumer);
    for (;;) {
      const info = await consumer.info();
      const room = Math.min(batch, upTo - info.delivered.stream_seq);
      if (info.num_pending === 0 || room <= 0) return;
      const msgs: JsMsg[] = [];
      for await (const m of await consumer.fetch({ max_messages: room, expires: 1000 })) msgs.push(m);
      if (msgs.length === 0) return;
      // `isolate`: as the batch handler does after repeated failures (message by message, parking what keeps failing).
      // A number: the batch handler's attempt (1 is the batch's first delivery).
      if (isolate !== false) await p.projector.handle({ stream: STREAMS.journal, durable: p.consumer, messages: msgs, attempt: isolate === true ? 3 : isolate });
      else await p.projector.commit(p.consumer, msgs);
      for (const m of msgs) m.ack();
    }
  };

  const record = (event: DeviceEvent, site?: string): JournalRecord => ({
    v: 1,
    workspace: 'default',
    acceptedAt: new Date(1_764_000_000_000 + event.deviceSeq * 1000).toISOString(),
    ...(site ? { site } : {}),
    event,
  });
  const publish = async (rec: JournalRecord, msgID: string, headers: Record<string, string> = {}): Promise<number> =>
    (await conn.js.publish(journalSubject(rec.workspace, rec.event.entity, 1), JSON.stringify(rec), { msgID, headers: buildHeaders(headers) })).seq;
  const mark = (action: string, seq: number, reason: string) => ({
    [PARKED_HEADERS.action]: action,
    [PARKED_HEADERS.consumer]: live.consumer,
    [PARKED_HEADERS.seq]: String(seq),
    [PARKED_HEADERS.reason]: encodeURIComponent(reason),
  });
  const rows = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => (await live.ds.query(sql, params)) as T[];
  const one = async <T>(sql: string, params: unknown[] = []): Promise<T> => (await rows<T>(sql, params))[0]!;
  const publishSchema = (p: Projection, schema: EntityTypeSchema) =>
    p.ds.query('INSERT INTO entity_schemas (type, version, definition) VALUES ($1, $2, $3::jsonb)', [schema.type, schema.version, JSON.stringify(schema)]);

  // Sequences of the scenario, for the rebuild below.
  let schemaPublishedAfter = 0;

  before(async () => {
    nats = await testNats();
    conn = await connectJetStream({ servers: nats.url, name: 'parking-test' });
    const topology = journalTopology({ partitions: 1, duplicateWindowMs: 120_000, replicas: 1 });
    await applyTopology(conn.jsm, { streams: topology.streams, consumers: [] });
    live = await open('parking_live', 'merge');
  });
  after(async () => {
    for (const p of projections) {
      await p.schemas.stop();
      await p.ds.destroy();
      await p.db.drop();
    }
    await conn?.close();
    await nats?.stop();
  });

  let photoEvent: DeviceEvent;
  let parkedSeq = 0;

  it('parks an event of an unknown entity type with its code and reason, and keeps the partition flowing', async () => {
    photoEvent = device.event('photo', 'p1', 'upsert', { fields: { caption: { op: 'set', value: 'harbour' }, original: { op: 'set', value: A } } });
    parkedSeq = await publish(record(photoEvent, 'lab'), photoEvent.eventId);
    const later = device.upsert('annotation', 'a1', { label: 'boat' });
    await publish(record(later, 'lab'), later.eventId);
    const invalid = device.upsert('annotation', 'a2', { colour: 'red' });
    await publish(record(invalid, 'lab'), invalid.eventId);
    await drain(live);

    const parked = await rows<{ stream_seq: string; status: string; code: string; reason: string; event_id: string }>(
      'SELECT stream_seq, status, code, reason, event_id FROM parked_events ORDER BY stream_seq',
    );
    assert.deepEqual(
      parked.map((r) => [Number(r.stream_seq), r.status, r.code, r.event_id]),
      [[parkedSeq, 'parked', 'unknown-entity-type', photoEvent.eventId]],
    );
    assert.match(parked[0]!.reason, /unknown entity type "photo"/);
    const receipts = await rows<{ event_id: string; status: string; reason: string | null }>('SELECT event_id, status, reason FROM event_receipts ORDER BY device_seq');
    assert.deepEqual(
      receipts.map((r) => r.status),
      ['parked', 'applied', 'rejected'],
      'an unknown type is parked; an undeclared field stays the device’s rejection',
    );
    assert.equal(receipts[0]!.reason, parked[0]!.reason);
    const seq = await one<{ contiguous: string; events: string; site: string }>("SELECT contiguous, events, site FROM device_sequences WHERE device_id = 'cam-1'");
    assert.deepEqual([Number(seq.contiguous), Number(seq.events), seq.site], [3, 3, 'lab'], 'the parked event counts as received; the site is the token’s');
  });

  it('re-drives after the schema is published: applied exactly once, the entry re-driven, a second re-drive a duplicate', async () => {
    schemaPublishedAfter = (await conn.jsm.streams.info(STREAMS.journal)).state.last_seq;
    await publishSchema(live, PHOTO_V1);
    const first = await publish(record(photoEvent, 'lab'), `redrive-${parkedSeq}`, mark('redrive', parkedSeq, 'photo v1 published'));
    const again = await publish(record(photoEvent, 'lab'), `redrive-${parkedSeq}`, mark('redrive', parkedSeq, 'photo v1 published'));
    assert.equal(again, first, 'a double click within the dedupe window is one journal message');
    await drain(live);

    const receipt = await one<{ status: string; stream_seq: string; version: string; reason: string | null }>('SELECT status, stream_seq, version, reason FROM event_receipts WHERE event_id = $1', [
      photoEvent.eventId,
    ]);
    assert.deepEqual([receipt.status, Number(receipt.stream_seq), Number(receipt.version), receipt.reason], ['applied', first, 1, null]);
    const entry = await one<{ status: string; resolution: string; resolved_seq: string; note: string; payload: string }>(
      'SELECT status, resolution, resolved_seq, note, payload FROM parked_events WHERE stream_seq = $1',
      [parkedSeq],
    );
    assert.deepEqual([entry.status, entry.resolution, Number(entry.resolved_seq), entry.note], ['redriven', 'redrive', first, 'photo v1 published']);
    const entity = await one<{ version: string; view: { values: Record<string, unknown> } }>("SELECT version, view FROM entities WHERE entity_id = 'p1'");
    assert.equal(Number(entity.version), 1);
    assert.deepEqual(entity.view.values, { caption: 'harbour', original: A });
    assert.equal(Number((await one<{ n: string }>('SELECT coalesce(sum(jsonb_array_length(decisions)), 0) AS n FROM merge_decisions WHERE event_id = $1', [photoEvent.eventId])).n), 2);

    // Beyond the dedupe window a re-drive is a new journal message: it finds the event applied.
    const late = await publish(record(photoEvent, 'lab'), `redrive-${parkedSeq}-late`, mark('redrive', parkedSeq, 'again'));
    await drain(live);
    assert.equal(Number((await one<{ version: string }>("SELECT version FROM entities WHERE entity_id = 'p1'")).version), 1, 'never applied twice');
    assert.equal(Number((await one<{ n: string }>('SELECT coalesce(sum(jsonb_array_length(decisions)), 0) AS n FROM merge_decisions WHERE event_id = $1', [photoEvent.eventId])).n), 2);
    assert.equal(Number((await one<{ n: string }>('SELECT count(*) AS n FROM change_log WHERE event_id = $1', [photoEvent.eventId])).n), 1);
    assert.deepEqual(
      (await rows<{ stream_seq: string }>('SELECT stream_seq FROM journal_duplicates WHERE event_id = $1', [photoEvent.eventId])).map((r) => Number(r.stream_seq)),
      [late],
    );
    assert.equal((await one<{ status: string }>('SELECT status FROM event_receipts WHERE event_id = $1', [photoEvent.eventId])).status, 'applied');
    const seq = await one<{ events: string }>("SELECT events FROM device_sequences WHERE device_id = 'cam-1'");
    assert.equal(Number(seq.events), 3, 're-drives are not new arrivals');
  });

  it('records the entity’s asset references, replaced on each change', async () => {
    assert.deepEqual(await rows('SELECT field, sha256 FROM entity_assets WHERE entity_id = $1 ORDER BY field, sha256', ['p1']), [{ field: 'original', sha256: A }]);
    const change = device.event('photo', 'p1', 'upsert', { baseVersion: 1, fields: { original: { op: 'set', value: B }, renders: { op: 'add', values: [A, B] } } });
    await publish(record(change), change.eventId);
    await drain(live);
    assert.deepEqual(await rows('SELECT field, sha256 FROM entity_assets WHERE entity_id = $1 ORDER BY field, sha256', ['p1']), [
      { field: 'original', sha256: B },
      { field: 'renders', sha256: A },
      { field: 'renders', sha256: B },
    ]);
  });

  it('a re-drive that fails again is parked again as a new entry with the new reason', async () => {
    const v3 = device.event('photo', 'p2', 'upsert', { schemaVersion: 3, fields: { caption: { op: 'set', value: 'x' } } });
    const seq1 = await publish(record(v3), v3.eventId);
    await drain(live);
    const seq2 = await publish(record(v3), `redrive-${seq1}`, mark('redrive', seq1, 'try again'));
    await drain(live);
    const entries = await rows<{ stream_seq: string; status: string; code: string; resolved_seq: string | null }>(
      'SELECT stream_seq, status, code, resolved_seq FROM parked_events WHERE event_id = $1 ORDER BY stream_seq',
      [v3.eventId],
    );
    assert.deepEqual(
      entries.map((e) => [Number(e.stream_seq), e.status, e.code, e.resolved_seq === null ? null : Number(e.resolved_seq)]),
      [
        [seq1, 'redriven', 'unknown-schema-version', seq2],
        [seq2, 'parked', 'unknown-schema-version', null],
      ],
    );
    const receipt = await one<{ status: string; stream_seq: string; reason: string }>('SELECT status, stream_seq, reason FROM event_receipts WHERE event_id = $1', [v3.eventId]);
    assert.deepEqual([receipt.status, Number(receipt.stream_seq)], ['parked', seq2]);
    assert.match(receipt.reason, /has no schema version 3/);
  });

  it('an edited event is applied in place of the original, whose payload stays in the entry', async () => {
    const entry = await one<{ stream_seq: string; event_id: string; payload: string }>(
      "SELECT stream_seq, event_id, payload FROM parked_events WHERE status = 'parked' AND code = 'unknown-schema-version'",
    );
    const original = (JSON.parse(entry.payload) as JournalRecord).event;
    const edited: DeviceEvent = { ...original, schemaVersion: 1, fields: { caption: { op: 'set', value: 'corrected' } } };
    const seq = await publish(record(edited), `edit-${entry.stream_seq}`, mark('edit', Number(entry.stream_seq), 'device wrote v3 by mistake'));
    await drain(live);
    const after = await one<{ status: string; resolution: string; resolved_seq: string; payload: string }>(
      'SELECT status, resolution, resolved_seq, payload FROM parked_events WHERE stream_seq = $1',
      [entry.stream_seq],
    );
    assert.deepEqual([after.status, after.resolution, Number(after.resolved_seq)], ['redriven', 'edit', seq]);
    assert.equal(after.payload, entry.payload, 'the original stays for audit');
    assert.equal((await one<{ status: string }>('SELECT status FROM event_receipts WHERE event_id = $1', [original.eventId])).status, 'applied');
    assert.deepEqual((await one<{ view: { values: unknown } }>("SELECT view FROM entities WHERE entity_id = 'p2'")).view.values, { caption: 'corrected' });
  });

  it('a skip marker skips the entry and its receipt with the reason, applying nothing; a second one changes nothing', async () => {
    const unknown = device.event('sketch', 's1', 'upsert', { fields: { lines: { op: 'set', value: 3 } } });
    const seq = await publish(record(unknown), unknown.eventId);
    await conn.js.publish(journalSubject('default', { type: 'photo', id: 'garbage' }, 1), 'not a record', { msgID: 'garbage-1' });
    await drain(live);
    const garbage = await one<{ stream_seq: string; code: string }>('SELECT stream_seq, code FROM parked_events WHERE event_id IS NULL');
    assert.equal(garbage.code, 'undecodable');
    const skip = async (target: number, reason: string, id: string) => {
      const h = mark('skip', target, reason);
      return (await conn.js.publish(journalSubject('default', unknown.entity, 1), JSON.stringify({ skip: { seq: target }, reason }), { msgID: id, headers: buildHeaders(h) })).seq;
    };
    const skipSeq = await skip(seq, 'sketch was never shipped', `skip-${seq}`);
    await skip(Number(garbage.stream_seq), 'garbage', `skip-${garbage.stream_seq}`);
    await drain(live);
    const entry = await one<{ status: string; resolution: string; resolved_seq: string; note: string }>('SELECT status, resolution, resolved_seq, note FROM parked_events WHERE stream_seq = $1', [
      seq,
    ]);
    assert.deepEqual([entry.status, entry.resolution, Number(entry.resolved_seq), entry.note], ['skipped', 'skip', skipSeq, 'sketch was never shipped']);
    const receipt = await one<{ status: string; reason: string }>('SELECT status, reason FROM event_receipts WHERE event_id = $1', [unknown.eventId]);
    assert.deepEqual([receipt.status, receipt.reason], ['skipped', 'skipped by an operator: sketch was never shipped']);
    assert.equal((await one<{ status: string }>('SELECT status FROM parked_events WHERE stream_seq = $1', [garbage.stream_seq])).status, 'skipped');
    assert.equal((await rows("SELECT 1 FROM entities WHERE entity_type = 'sketch'")).length, 0);

    // A re-drive after the skip (published before the operator saw the skip land) is a duplicate, not an application.
    await publishSchema(live, { type: 'sketch', version: 1, onDeleteConflict: 'delete-wins', fields: { lines: { policy: 'max', valueType: 'integer' } } });
    await publish(record(unknown), `redrive-${seq}`, mark('redrive', seq, 'too late'));
    await skip(seq, 'twice', `skip-${seq}-again`);
    await drain(live);
    assert.equal((await one<{ status: string }>('SELECT status FROM event_receipts WHERE event_id = $1', [unknown.eventId])).status, 'skipped');
    assert.equal((await one<{ note: string }>('SELECT note FROM parked_events WHERE stream_seq = $1', [seq])).note, 'sketch was never shipped');
    assert.equal((await rows("SELECT 1 FROM entities WHERE entity_type = 'sketch'")).length, 0);
  });

  it('a rebuild from the journal, with the registry changing at the same point, reaches the same projection', async () => {
    const rebuild = await open('parking_rebuild', 'rebuild');
    await drain(rebuild, schemaPublishedAfter);
    await publishSchema(rebuild, PHOTO_V1);
    await rebuild.schemas.refresh();
    // The sketch schema was published after the skip: replay up to there, publish it, then the rest.
    const skipped = await one<{ resolved_seq: string }>("SELECT resolved_seq FROM parked_events WHERE note = 'sketch was never shipped'");
    await drain(rebuild, Number(skipped.resolved_seq) + 1);
    await publishSchema(rebuild, { type: 'sketch', version: 1, onDeleteConflict: 'delete-wins', fields: { lines: { policy: 'max', valueType: 'integer' } } });
    await rebuild.schemas.refresh();
    await drain(rebuild);
    const [a, b] = [await projectionDigest(live.ds), await projectionDigest(rebuild.ds)];
    assert.deepEqual(b.tables, a.tables);
    assert.ok(a.tables.parked_events!.rows >= 5 && a.tables.entity_assets!.rows === 3);
  });

  it('the same journal committed one message per batch reaches the projection a batch of them does (a skip marker in the batch that parked its entry included)', async () => {
    const single = await open('parking_single', 'single');
    const rebuild = projections.find((p) => p.consumer === mergeConsumerName(0, 'rebuild'))!;
    await drain(single, schemaPublishedAfter, 1);
    await publishSchema(single, PHOTO_V1);
    await single.schemas.refresh();
    const skipped = await one<{ resolved_seq: string }>("SELECT resolved_seq FROM parked_events WHERE note = 'sketch was never shipped'");
    await drain(single, Number(skipped.resolved_seq) + 1, 1);
    await publishSchema(single, { type: 'sketch', version: 1, onDeleteConflict: 'delete-wins', fields: { lines: { policy: 'max', valueType: 'integer' } } });
    await single.schemas.refresh();
    await drain(single, Number.MAX_SAFE_INTEGER, 1);
    const [a, b] = [await projectionDigest(rebuild.ds), await projectionDigest(single.ds)];
    assert.deepEqual(b.tables, a.tables);
  });

  it('an event whose merge keeps failing is parked as failing, counted as received, and re-driven once fixed', async () => {
    let broken = true;
    const failing = await open('parking_failing', 'failing', (id) => broken && id === 'boom');
    const boom = device.upsert('annotation', 'boom', { label: 'x' });
    const seq = await publish(record(boom, 'dock'), boom.eventId);
    await drain(failing, Number.MAX_SAFE_INTEGER, 100, true);
    const q = async <T>(sql: string, params: unknown[] = []) => ((await failing.ds.query(sql, params)) as T[])[0]!;
    const entry = await q<{ status: string; code: string; reason: string; attempts: number }>('SELECT status, code, reason, attempts FROM parked_events WHERE stream_seq = $1', [seq]);
    assert.deepEqual([entry.status, entry.code, entry.attempts], ['parked', 'failing', 4]);
    assert.match(entry.reason, /failed 2 times: cannot merge boom right now/);
    assert.equal((await q<{ status: string }>('SELECT status FROM event_receipts WHERE event_id = $1', [boom.eventId])).status, 'parked');
    const progress = await q<{ contiguous: string; site: string }>("SELECT contiguous, site FROM device_sequences WHERE device_id = 'cam-1'");
    assert.deepEqual([Number(progress.contiguous), progress.site], [boom.deviceSeq, 'dock'], 'received, with its site, though not applied');

    broken = false;
    const redriven = await publish(record(boom, 'dock'), `redrive-${seq}`, mark('redrive', seq, 'merge fixed'));
    await drain(failing, Number.MAX_SAFE_INTEGER, 100, true);
    assert.deepEqual(await q('SELECT status, resolution, resolved_seq::int AS seq FROM parked_events WHERE stream_seq = $1', [seq]), { status: 'redriven', resolution: 'redrive', seq: redriven });
    assert.deepEqual(await q('SELECT status, version::int AS version FROM event_receipts WHERE event_id = $1', [boom.eventId]), { status: 'applied', version: 1 });
  });

  it('an eventId used in two workspaces is two events: each applied or parked in its own workspace, neither touching the other', async () => {
    const other = new FakeDevice('cam-other');
    const inB = (rec: JournalRecord): JournalRecord => ({ ...rec, workspace: 'other' });
    // Workspace A ('default'): one event parked (unknown type), one applied.
    const ghost = other.event('ghost', 'g1', 'upsert', { fields: { x: { op: 'set', value: 1 } } });
    const seqA = await publish(record(ghost), ghost.eventId);
    const done = other.upsert('annotation', 'a9', { label: 'kept' });
    await publish(record(done), done.eventId);
    await drain(live);
    const receiptOf = (workspace: string, eventId: string) =>
      rows('SELECT event_id, workspace, status, reason, stream_seq::int AS seq, version FROM event_receipts WHERE event_id = $1 AND workspace = $2', [eventId, workspace]);
    const entryA = () => rows("SELECT consumer, status, resolution, resolved_seq, note, reason FROM parked_events WHERE stream_seq = $1 AND workspace = 'default'", [seqA]);
    const [ghostBefore, doneBefore, entryBefore] = [await receiptOf('default', ghost.eventId), await receiptOf('default', done.eventId), await entryA()];
    assert.equal((ghostBefore[0] as { status: string }).status, 'parked');
    assert.equal((entryBefore[0] as { status: string }).status, 'parked');

    // Workspace B ('other') journals the same eventIds: the applied one, the parked one dressed as a re-drive of
    // A's entry, and in the same batch a copy of A's applied event in A (a duplicate there, and only there).
    const dressed = await publish(inB(record(ghost)), `other:redrive-${seqA}`, mark('redrive', seqA, 'not yours'));
    const reused = await publish(inB(record(done)), `other:${done.eventId}`);
    const again = await publish(record(done), `default:again-${done.eventId}`);
    await drain(live);

    assert.deepEqual(await receiptOf('default', ghost.eventId), ghostBefore, 'A’s parked receipt is untouched');
    assert.deepEqual(await entryA(), entryBefore, 'A’s parked entry is neither resolved nor re-noted');
    assert.deepEqual(await receiptOf('default', done.eventId), doneBefore, 'A’s applied receipt is untouched');
    assert.deepEqual(
      await rows('SELECT stream_seq::int AS seq, workspace FROM journal_duplicates WHERE stream_seq = ANY($1::bigint[])', [[dressed, reused, again]]),
      [{ seq: again, workspace: 'default' }],
      'only A’s own copy is a duplicate',
    );
    assert.deepEqual(
      (await receiptOf('other', done.eventId)).map((r) => [(r as { status: string }).status, (r as { seq: number }).seq, (r as { version: string }).version]),
      [['applied', reused, '1']],
      'B’s event is applied in B as a first arrival',
    );
    assert.deepEqual(await rows("SELECT version::int AS version, view->'values'->>'label' AS label FROM entities WHERE workspace = 'other' AND entity_id = 'a9'"), [{ version: 1, label: 'kept' }]);
    assert.equal((await rows("SELECT 1 FROM merge_decisions WHERE workspace = 'other' AND event_id = $1", [done.eventId])).length, 1, 'B’s merge decisions are its own');
    assert.equal((await receiptOf('other', ghost.eventId)).map((r) => (r as { status: string }).status).join(), 'parked', 'B’s copy of the unknown type is parked in B');
    const parkedB = await rows<{ seq: number; status: string; code: string }>("SELECT stream_seq::int AS seq, status, code FROM parked_events WHERE workspace = 'other' ORDER BY stream_seq");
    assert.deepEqual(
      parkedB.map((e) => [e.seq, e.status, e.code]),
      [[dressed, 'parked', 'unknown-entity-type']],
    );
    const progressB = await rows<{ events: string }>("SELECT events FROM device_sequences WHERE workspace = 'other' AND device_id = 'cam-other'");
    assert.deepEqual(
      progressB.map((p) => Number(p.events)),
      [2],
      'B’s device progress counts both of B’s events',
    );
  });

  it('a skip marker acts on its own consumer’s entry at that sequence, not another consumer’s', async () => {
    const lone = new FakeDevice('cam-skip').event('ghost', 'g2', 'upsert', { fields: { x: { op: 'set', value: 2 } } });
    const seq = await publish(record(lone), lone.eventId);
    await drain(live);
    // Another consumer's entry at the same stream sequence (it sorts before the live consumer's name).
    await live.ds.query(
      "INSERT INTO parked_events (consumer, stream_seq, event_id, workspace, subject, reason, code, attempts, payload) VALUES ('aaa-p00', $1, NULL, NULL, 'x', 'other', 'undecodable', 1, 'x')",
      [seq],
    );
    const skipSeq = (
      await conn.js.publish(journalSubject('default', lone.entity, 1), JSON.stringify({ skip: { seq }, reason: 'mine' }), { msgID: `skip-${seq}`, headers: buildHeaders(mark('skip', seq, 'mine')) })
    ).seq;
    await drain(live);
    assert.deepEqual(await rows('SELECT consumer, status, resolved_seq::int AS resolved FROM parked_events WHERE stream_seq = $1 ORDER BY consumer', [seq]), [
      { consumer: 'aaa-p00', status: 'parked', resolved: null },
      { consumer: live.consumer, status: 'skipped', resolved: skipSeq },
    ]);
    assert.equal((await one<{ status: string }>('SELECT status FROM event_receipts WHERE event_id = $1', [lone.eventId])).status, 'skipped');
  });

  it('an event Postgres refuses as data (NUL, a lone surrogate) isolates its batch on the first attempt and is parked at once, the rest of the batch applied', async () => {
    // Last: its events stay in the shared journal, and a projection opened later would fail on them.
    // Eight retries would back off for about 9 s; a data error is the same on every retry, so it is parked at once.
    const strict = await open('parking_data', 'data', undefined, 8);
    const nul = device.upsert('annotation', 'nul', { label: 'a\u0000b' });
    const lone = device.upsert('annotation', 'lone', { label: '\ud800' });
    const fine = device.upsert('annotation', 'fine', { label: 'ok' });
    const seqs = [await publish(record(nul), nul.eventId), await publish(record(lone), lone.eventId), await publish(record(fine), fine.eventId)];
    const started = Date.now();
    // The batch's first attempt: a data error isolates it at once instead of failing the batch again and again.
    await drain(strict, Number.MAX_SAFE_INTEGER, 100, 1);
    const took = Date.now() - started;
    assert.ok(took < 8000, `parked in ${took} ms, without waiting out the retries`);
    const q = async <T>(sql: string, params: unknown[] = []) => (await strict.ds.query(sql, params)) as T[];
    const parked = await q<{ stream_seq: string; code: string; reason: string }>('SELECT stream_seq, code, reason FROM parked_events WHERE stream_seq = ANY($1::bigint[]) ORDER BY stream_seq', [seqs]);
    assert.deepEqual(
      parked.map((r) => [Number(r.stream_seq), r.code]),
      [
        [seqs[0], 'failing'],
        [seqs[1], 'failing'],
      ],
    );
    for (const r of parked) assert.match(r.reason, /^failed with a data error: /);
    assert.deepEqual(await q('SELECT status FROM event_receipts WHERE event_id = $1', [fine.eventId]), [{ status: 'applied' }]);
  });
});
