import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PARKED_HEADERS, journalSubject, partitionOf, type DeviceEvent, type JournalRecord } from '@tidemark/contracts';
import { buildHeaders } from '@tidemark/messaging';
import { FakeDevice, count, eventually, startSlice, type SliceStack } from '@tidemark/testing';

/** Parked work end to end: an unknown schema parks, the operator publishes it, re-drives, skips and edits through ops-api. */
describe('parked events: re-drive, skip and edit exactly once', () => {
  let stack: SliceStack;
  const device = new FakeDevice('field-cam');

  const ops = async (method: string, path: string, body?: unknown, headers: Record<string, string> = stack.operatorHeaders) => {
    const response = await fetch(`${stack.url('ops-api')}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as any };
  };
  const entriesOf = async (eventId: string) =>
    (
      await stack.db.query<{
        consumer: string;
        stream_seq: string;
        status: string;
        code: string;
        reason: string;
        resolution: string | null;
        resolved_seq: string | null;
        note: string | null;
        payload: string;
      }>('SELECT consumer, stream_seq, status, code, reason, resolution, resolved_seq, note, payload FROM parked_events WHERE event_id = $1 ORDER BY stream_seq', [eventId])
    ).rows;
  const receiptOf = async (eventId: string) =>
    (
      await stack.db.query<{ status: string; reason: string | null; version: string | null; stream_seq: string }>(
        'SELECT status, reason, version, stream_seq FROM event_receipts WHERE event_id = $1',
        [eventId],
      )
    ).rows[0];
  const parkedOf = async (eventId: string) => {
    const open = await eventually(async () => {
      const rows = (await entriesOf(eventId)).filter((r) => r.status === 'parked');
      assert.equal(rows.length, 1, 'one open parked entry');
      return rows[0]!;
    });
    return { ...open, seq: Number(open.stream_seq), path: `/v1/parked/${open.consumer}/${open.stream_seq}` };
  };
  const photoSchema = {
    type: 'photo',
    version: 1,
    onDeleteConflict: 'delete-wins',
    fields: { caption: { policy: 'lww', valueType: 'string' }, rating: { policy: 'counter', valueType: 'integer' } },
  };

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway', 'ops-api']);
  });
  after(async () => {
    await stack?.stop();
  });

  let photo: DeviceEvent;

  it('parks an event of an unknown entity type with its reason, and later events of the partition still apply', async () => {
    photo = device.event('photo', 'harbour', 'upsert', { fields: { caption: { op: 'set', value: 'boats at dawn' }, rating: { op: 'inc', by: 1 } } });
    // A later event in the same journal partition (so behind the parked one on the same consumer).
    const samePartitionId = Array.from({ length: 100 }, (_, i) => `harbour-${i}`).find((id) => partitionOf({ type: 'annotation', id }, 4) === partitionOf(photo.entity, 4))!;
    const later = device.upsert('annotation', samePartitionId, { label: 'boat' });
    const pushed = await stack.push([photo, later]);
    assert.equal(pushed.status, 200);
    await eventually(async () => assert.equal((await receiptOf(later.eventId))?.status, 'applied'));
    assert.equal((await receiptOf(photo.eventId))?.status, 'parked', 'parked in the batch before it, or in the same one');
    assert.match((await receiptOf(photo.eventId))!.reason ?? '', /unknown entity type "photo"/);

    const unauthenticated = await ops('GET', '/v1/parked', undefined, {});
    assert.equal(unauthenticated.status, 401);
    const list = await ops('GET', '/v1/parked?code=unknown-entity-type');
    assert.equal(list.status, 200);
    assert.equal(list.body.parked.length, 1);
    const [entry] = list.body.parked;
    assert.equal(entry.eventId, photo.eventId);
    assert.equal(entry.status, 'parked');
    assert.match(entry.reason, /unknown entity type "photo" \(known: annotation, job, output, prompt\)/);
    assert.deepEqual(entry.event.entity, { type: 'photo', id: 'harbour' });
    const one = await ops('GET', `/v1/parked/${entry.consumer}/${entry.seq}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body.record.event, photo, 'the journal record as parked');
    assert.equal(one.body.journal.seq, entry.seq);
    assert.equal(JSON.parse(one.body.journal.data).event.eventId, photo.eventId, 'and as the journal holds it');
    assert.equal(one.body.receipt.status, 'parked');
    assert.equal((await ops('GET', '/v1/parked?status=redriven')).body.parked.length, 0);
    assert.equal((await ops('GET', '/v1/parked?status=bogus')).status, 400);
  });

  it('a re-drive before the schema exists parks it again as a new entry; after publishing, it applies exactly once', async () => {
    const first = await parkedOf(photo.eventId);
    const noReason = await ops('POST', `${first.path}/redrive`, {});
    assert.equal(noReason.status, 400);
    assert.match(noReason.type ?? '', /problem\+json/);
    assert.deepEqual(noReason.body.errors, [{ pointer: '/reason', detail: 'is required: say why (it is audited)' }]);

    const early = await ops('POST', `${first.path}/redrive`, { reason: 'checking it fails' });
    assert.equal(early.status, 202);
    const second = await eventually(async () => {
      const rows = await entriesOf(photo.eventId);
      assert.deepEqual(
        rows.map((r) => r.status),
        ['redriven', 'parked'],
      );
      return rows;
    });
    assert.equal(Number(second[0]!.resolved_seq), early.body.journalSeq);
    assert.equal(Number(second[1]!.stream_seq), early.body.journalSeq, 'parked again at the re-drive’s own journal sequence');
    assert.equal((await ops('POST', `${first.path}/redrive`, { reason: 'again' })).status, 409, 'the first entry is no longer parked');

    const put = await fetch(`${stack.url('journal-service')}/v1/schemas/photo/1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...stack.operatorHeaders },
      body: JSON.stringify(photoSchema),
    });
    assert.equal(put.status, 201);

    const current = await parkedOf(photo.eventId);
    // A double click: the second call is the same journal message (deduplicated by its msgID), or, when
    // merge-service applied the first in between, refused because the entry is no longer parked.
    const clicks = await Promise.all([ops('POST', `${current.path}/redrive`, { reason: 'photo v1 published' }), ops('POST', `${current.path}/redrive`, { reason: 'photo v1 published' })]);
    const a = clicks.find((c) => c.status === 202 && c.body.duplicate === false)!;
    assert.ok(a, 'one call journaled the re-drive');
    const b = clicks.find((c) => c !== a)!;
    if (b.status === 202) assert.deepEqual([b.body.duplicate, b.body.journalSeq], [true, a.body.journalSeq]);
    else assert.equal(b.status, 409);

    await eventually(async () => assert.equal((await receiptOf(photo.eventId))?.status, 'applied'));
    const receipt = (await receiptOf(photo.eventId))!;
    assert.equal(Number(receipt.version), 1);
    assert.equal(Number(receipt.stream_seq), a.body.journalSeq);
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM event_receipts WHERE event_id = $1', [photo.eventId]), 1);
    assert.equal(await count(stack.db, 'SELECT coalesce(sum(jsonb_array_length(decisions)), 0) AS n FROM merge_decisions WHERE event_id = $1', [photo.eventId]), 2);
    const entity = (await stack.db.query<{ version: string; view: any }>("SELECT version, view FROM entities WHERE entity_type = 'photo' AND entity_id = 'harbour'")).rows[0]!;
    assert.equal(Number(entity.version), 1);
    assert.deepEqual(entity.view.values, { caption: 'boats at dawn', rating: 1 });
    const entries = await entriesOf(photo.eventId);
    assert.deepEqual(
      entries.map((r) => [r.status, r.resolution]),
      [
        ['redriven', 'redrive'],
        ['redriven', 'redrive'],
      ],
    );
    assert.equal(entries[1]!.note, 'photo v1 published');
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'parked.redrive' AND target->>'seq' = $1", [String(current.seq)]), 2, 'each call is audited');
    const audited = (await stack.db.query("SELECT actor, reason, outcome FROM audit_log WHERE action = 'parked.redrive' AND target->>'seq' = $1 ORDER BY id", [String(current.seq)])).rows;
    assert.deepEqual(audited[0], { actor: 'test-operator', reason: 'photo v1 published', outcome: 'ok' });
  });

  it('a second re-drive never applies the event twice: 409 from the API, a duplicate from the journal', async () => {
    const [, last] = await entriesOf(photo.eventId);
    const again = await ops('POST', `/v1/parked/${last!.consumer}/${last!.stream_seq}/redrive`, { reason: 'double check' });
    assert.equal(again.status, 409);
    assert.match(again.body.type, /parked-entry-not-parked$/);
    assert.match(again.body.detail, /the entry is redriven, not parked/);
    assert.equal(
      await count(stack.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'parked.redrive' AND outcome = 'not-parked' AND reason = 'double check'"),
      1,
      'a refused call is audited with its outcome',
    );

    // Past the journal's dedupe window a re-drive is a new message: the projection answers it as a duplicate.
    const record: JournalRecord = JSON.parse(last!.payload);
    const headers = buildHeaders({ [PARKED_HEADERS.action]: 'redrive', [PARKED_HEADERS.consumer]: last!.consumer, [PARKED_HEADERS.seq]: last!.stream_seq, [PARKED_HEADERS.reason]: 'late' });
    const ack = await stack.js.js.publish(journalSubject('default', photo.entity, 4), JSON.stringify(record), { msgID: 'late-redrive', headers });
    await eventually(async () => assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM journal_duplicates WHERE stream_seq = $1', [ack.seq]), 1));
    assert.equal(await count(stack.db, "SELECT version AS n FROM entities WHERE entity_type = 'photo' AND entity_id = 'harbour'"), 1);
    assert.equal(await count(stack.db, 'SELECT coalesce(sum(jsonb_array_length(decisions)), 0) AS n FROM merge_decisions WHERE event_id = $1', [photo.eventId]), 2);
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM change_log WHERE event_id = $1', [photo.eventId]), 1);
  });

  it('skip: the entry and the receipt become skipped with the reason, and nothing is applied', async () => {
    const sketch = device.event('sketch', 'pier', 'upsert', { fields: { lines: { op: 'set', value: 12 } } });
    assert.equal((await stack.push([sketch])).status, 200);
    const entry = await parkedOf(sketch.eventId);
    const skipped = await ops('POST', `${entry.path}/skip`, { reason: 'sketch never shipped to devices' });
    assert.equal(skipped.status, 202);
    await eventually(async () => assert.equal((await receiptOf(sketch.eventId))?.status, 'skipped'));
    assert.equal((await receiptOf(sketch.eventId))!.reason, 'skipped by an operator: sketch never shipped to devices');
    const [row] = await entriesOf(sketch.eventId);
    assert.deepEqual([row!.status, row!.resolution, row!.note], ['skipped', 'skip', 'sketch never shipped to devices']);
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM entities WHERE entity_type = 'sketch'"), 0);
    const seen = await stack.get(`/v1/receipts/${sketch.eventId}`, device.deviceId);
    assert.equal(seen.status, 'skipped', 'the device sees the fate of its write');
    assert.equal((await ops('POST', `${entry.path}/skip`, { reason: 'again' })).status, 409);
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'parked.skip' AND outcome = 'ok'"), 1);
  });

  it('edit: a corrected event is re-driven once, the original stays in the entry; another event is refused with 422', async () => {
    const wrongVersion = device.event('annotation', 'dock', 'upsert', { schemaVersion: 4, fields: { label: { op: 'set', value: 'crane' } } });
    assert.equal((await stack.push([wrongVersion])).status, 200);
    const entry = await parkedOf(wrongVersion.eventId);
    assert.equal(entry.code, 'unknown-schema-version');

    const other = await ops('POST', `${entry.path}/edit`, { reason: 'fix version', event: { ...wrongVersion, schemaVersion: 1, deviceSeq: 99, entity: { type: 'annotation', id: 'elsewhere' } } });
    assert.equal(other.status, 422);
    assert.match(other.type ?? '', /problem\+json/);
    assert.match(other.body.type, /edited-event-changes-identity$/);
    assert.deepEqual(
      other.body.errors.map((e: { pointer: string }) => e.pointer),
      ['/event/deviceSeq', '/event/entity/id'],
    );
    const invalid = await ops('POST', `${entry.path}/edit`, { reason: 'fix version', event: { ...wrongVersion, schemaVersion: 1, fields: {} } });
    assert.equal(invalid.status, 400);
    assert.deepEqual(invalid.body.errors, [{ pointer: '/event/fields', detail: 'an upsert needs at least one field change' }]);

    const edited = { ...wrongVersion, schemaVersion: 1, fields: { label: { op: 'set', value: 'crane' }, confidence: { op: 'set', value: 0.8 } } };
    const accepted = await ops('POST', `${entry.path}/edit`, { reason: 'device shipped v4 by mistake', event: edited });
    assert.equal(accepted.status, 202);
    await eventually(async () => assert.equal((await receiptOf(wrongVersion.eventId))?.status, 'applied'));
    const [row] = await entriesOf(wrongVersion.eventId);
    assert.deepEqual([row!.status, row!.resolution, Number(row!.resolved_seq)], ['redriven', 'edit', accepted.body.journalSeq]);
    assert.equal((JSON.parse(row!.payload) as JournalRecord).event.schemaVersion, 4, 'the original payload stays for audit');
    const entity = (await stack.db.query<{ version: string; view: any }>("SELECT version, view FROM entities WHERE entity_type = 'annotation' AND entity_id = 'dock'")).rows[0]!;
    assert.deepEqual([Number(entity.version), entity.view.values], [1, { confidence: 0.8, label: 'crane' }]);
    const journaled = await stack.js.jsm.streams.getMessage('JOURNAL', { seq: accepted.body.journalSeq });
    assert.equal(journaled!.header!.get(PARKED_HEADERS.action), 'edit', 'the journal records that it was edited');
    const audit = (await stack.db.query("SELECT reason, detail FROM audit_log WHERE action = 'parked.edit' AND outcome = 'ok'")).rows;
    assert.equal(audit.length, 1);
    assert.equal(audit[0].reason, 'device shipped v4 by mistake');
    assert.deepEqual(audit[0].detail.event.fields, edited.fields);
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'parked.edit' AND outcome = 'invalid-edit'"), 1);
  });
});
