// The projection's SQL (merge-service's projector and its replay shadows): one small reader or writer per table, taking and returning typed rows. Batch inserts
// go through one JSON parameter (`json_to_recordset`), whatever the row count.
import type { QueryRunner } from 'typeorm';
import type { ParkCode, ParkedAction, ParkedStatus } from '@tidemark/contracts';
import {
  advanceSequence,
  storeDecision,
  type AssetRefsWrite,
  type ChangeRow,
  type ConflictResolution,
  type ConflictRow,
  type DecisionRow,
  type DeviceArrivals,
  type DeviceSequence,
  type DuplicateRow,
  type EntityRow,
  type EntityState,
  type OutboxRow,
  type ReceiptRow,
  type RepairRow,
  type StoredParkedEntry,
  latestSite,
} from '@tidemark/merge';

/** A table's columns for a batch INSERT: name, Postgres type, and the value a row gives it. */
type Columns<R> = readonly (readonly [name: string, pgType: string, value: (row: R) => unknown])[];

/**
 * One INSERT for a batch's rows of a table, from one JSON parameter (`json_to_recordset`): one
 * `JSON.stringify` of the batch, in native code, where typed arrays cost an escaping pass per element in the
 * driver (the largest single cost of the projection's CPU profile). A `jsonb` column's value is nested as it is
 * (never JSON `null`: `json_to_recordset` reads that as SQL NULL); a `jsonb?` column, whose value may be JSON
 * `null` as well as absent, travels as its JSON text and is cast, so the two stay distinct. Rows are inserted in
 * the order given.
 */
async function insertRows<R>(q: QueryRunner, table: string, columns: Columns<R>, rows: readonly R[], suffix = ''): Promise<void> {
  if (rows.length === 0) return;
  const doc = JSON.stringify(
    rows.map((row) => {
      const record: Record<string, unknown> = {};
      for (let c = 0; c < columns.length; c++) record[`c${c}`] = columns[c]![2](row) ?? null;
      return record;
    }),
  );
  const defs = columns.map(([, type], c) => `c${c} ${type === 'jsonb?' ? 'text' : type}`).join(', ');
  const select = columns.map(([, type], c) => (type === 'jsonb?' ? `c${c}::jsonb` : `c${c}`)).join(', ');
  await q.query(`INSERT INTO ${table} (${columns.map(([name]) => name).join(', ')}) SELECT ${select} FROM json_to_recordset($1::json) AS x(${defs}) ${suffix}`, [doc]);
}

// consumer_checkpoints

/** Makes sure the consumer has a checkpoint row and locks it for the transaction: every writer of the partition waits here. */
export async function lockCheckpoint(q: QueryRunner, consumer: string): Promise<number> {
  await q.query('INSERT INTO consumer_checkpoints (consumer, stream_seq) VALUES ($1, 0) ON CONFLICT (consumer) DO NOTHING', [consumer]);
  const rows: { stream_seq: string }[] = await q.query('SELECT stream_seq FROM consumer_checkpoints WHERE consumer = $1 FOR UPDATE', [consumer]);
  return Number(rows[0]!.stream_seq);
}

export async function advanceCheckpoint(q: QueryRunner, consumer: string, seq: number): Promise<void> {
  await q.query('UPDATE consumer_checkpoints SET stream_seq = $2, updated_at = now() WHERE consumer = $1 AND stream_seq < $2', [consumer, seq]);
}

// entities

const ENTITY_COLUMNS: Columns<EntityRow> = [
  ['workspace', 'text', (r) => r.workspace],
  ['entity_type', 'text', (r) => r.entityType],
  ['entity_id', 'text', (r) => r.entityId],
  ['version', 'bigint', (r) => r.version],
  ['deleted', 'boolean', (r) => r.deleted],
  ['state', 'jsonb', (r) => r.state],
  ['view', 'jsonb', (r) => r.view],
  ['scope_key', 'text', (r) => r.scopeKey],
  ['last_event_id', 'uuid', (r) => r.lastEventId],
  ['last_stream_seq', 'bigint', (r) => r.lastStreamSeq],
  ['job_queue', 'text', (r) => r.jobQueue],
  ['job_state', 'text', (r) => r.jobState],
  ['job_attempt', 'integer', (r) => r.jobAttempt],
  ['job_since', 'timestamptz', (r) => r.jobSince],
];

/**
 * The stored state of the given entities. No row locks: an entity belongs to one partition, and the
 * partition's checkpoint row, locked at the start of the transaction, already serialises its writers.
 */
export async function readEntities(
  q: QueryRunner,
  keys: readonly { workspace: string; type: string; id: string }[],
): Promise<{ workspace: string; entityType: string; entityId: string; state: EntityState }[]> {
  const rows: { workspace: string; entity_type: string; entity_id: string; state: EntityState }[] = await q.query(
    `SELECT e.workspace, e.entity_type, e.entity_id, e.state
       FROM entities e JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(w, t, i)
         ON e.workspace = k.w AND e.entity_type = k.t AND e.entity_id = k.i
      ORDER BY e.workspace, e.entity_type, e.entity_id`,
    [keys.map((k) => k.workspace), keys.map((k) => k.type), keys.map((k) => k.id)],
  );
  return rows.map((r) => ({ workspace: r.workspace, entityType: r.entity_type, entityId: r.entity_id, state: r.state }));
}

export async function upsertEntities(q: QueryRunner, rows: readonly EntityRow[]): Promise<void> {
  await insertRows(
    q,
    'entities',
    ENTITY_COLUMNS,
    rows,
    `ON CONFLICT (workspace, entity_type, entity_id) DO UPDATE SET version = EXCLUDED.version, deleted = EXCLUDED.deleted, state = EXCLUDED.state,
           view = EXCLUDED.view, scope_key = EXCLUDED.scope_key, last_event_id = EXCLUDED.last_event_id, last_stream_seq = EXCLUDED.last_stream_seq,
           job_queue = EXCLUDED.job_queue, job_state = EXCLUDED.job_state, job_attempt = EXCLUDED.job_attempt, job_since = EXCLUDED.job_since`,
  );
}

// entity_assets

/** The asset references the entities hold now, replacing what they held. */
export async function replaceAssetRefs(q: QueryRunner, write: AssetRefsWrite): Promise<void> {
  const { entities } = write;
  await q.query(
    `DELETE FROM entity_assets r USING unnest($1::text[], $2::text[], $3::text[]) AS k(w, t, i)
        WHERE r.workspace = k.w AND r.entity_type = k.t AND r.entity_id = k.i`,
    [entities.map((c) => c.workspace), entities.map((c) => c.entityType), entities.map((c) => c.entityId)],
  );
  await insertRows(
    q,
    'entity_assets',
    [
      ['workspace', 'text', (r) => r.workspace],
      ['entity_type', 'text', (r) => r.entityType],
      ['entity_id', 'text', (r) => r.entityId],
      ['field', 'text', (r) => r.field],
      ['sha256', 'text', (r) => r.sha256],
    ],
    write.rows,
  );
}

// event_receipts

const RECEIPT_COLUMNS: Columns<ReceiptRow> = [
  ['event_id', 'uuid', (r) => r.eventId],
  ['workspace', 'text', (r) => r.workspace],
  ['device_id', 'text', (r) => r.deviceId],
  ['device_seq', 'bigint', (r) => r.deviceSeq],
  ['entity_type', 'text', (r) => r.entityType],
  ['entity_id', 'text', (r) => r.entityId],
  ['status', 'text', (r) => r.status],
  ['reason', 'text', (r) => r.reason],
  ['stream_seq', 'bigint', (r) => r.streamSeq],
  ['version', 'bigint', (r) => r.version],
  ['accepted_at', 'timestamptz', (r) => r.acceptedAt],
];

/** The receipts of the given events, keyed (eventId, workspace). */
export async function readReceipts(q: QueryRunner, keys: readonly { eventId: string; workspace: string }[]): Promise<{ eventId: string; workspace: string; status: string }[]> {
  const found: { event_id: string; workspace: string; status: string }[] = await q.query(
    `SELECT r.event_id, r.workspace, r.status FROM event_receipts r JOIN unnest($1::uuid[], $2::text[]) AS k(e, w) ON r.event_id = k.e AND r.workspace = k.w`,
    [keys.map((k) => k.eventId), keys.map((k) => k.workspace)],
  );
  return found.map((r) => ({ eventId: r.event_id, workspace: r.workspace, status: r.status }));
}

/** One event's receipt status, if it has a receipt. */
export async function readReceiptStatus(q: QueryRunner, eventId: string, workspace: string): Promise<string | undefined> {
  const found: { status: string }[] = await q.query('SELECT status FROM event_receipts WHERE event_id = $1 AND workspace = $2', [eventId, workspace]);
  return found[0]?.status;
}

export async function insertReceipts(q: QueryRunner, rows: readonly ReceiptRow[]): Promise<void> {
  await insertRows(q, 'event_receipts', RECEIPT_COLUMNS, rows);
}

/** Receipts that existed before the batch (parked ones, re-driven or skipped): one UPDATE from typed arrays, keyed (eventId, workspace). */
export async function updateReceipts(q: QueryRunner, rows: readonly ReceiptRow[]): Promise<void> {
  if (rows.length === 0) return;
  const params = RECEIPT_COLUMNS.map(([, , value]) => rows.map((row) => value(row) ?? null));
  const select = RECEIPT_COLUMNS.map(([, type], c) => `$${c + 1}::${type}[]`).join(', ');
  await q.query(
    `UPDATE event_receipts r SET status = u.status, reason = u.reason, stream_seq = u.stream_seq, version = u.version
       FROM unnest(${select}) AS u(${RECEIPT_COLUMNS.map(([name]) => name).join(', ')})
      WHERE r.event_id = u.event_id AND r.workspace = u.workspace`,
    params,
  );
}

/** A skipped parked entry's receipt, while it is parked. */
export async function skipReceipt(q: QueryRunner, eventId: string, workspace: string, reason: string): Promise<void> {
  await q.query("UPDATE event_receipts SET status = 'skipped', reason = $3 WHERE event_id = $1 AND workspace = $2 AND status = 'parked'", [eventId, workspace, reason]);
}

/**
 * The receipt of a record parked outside a batch (`parked`), or a parked receipt's new reason: says
 * whether the receipt is new (the event's first arrival).
 */
export async function upsertParkedReceipt(q: QueryRunner, row: Omit<ReceiptRow, 'status' | 'version' | 'reason'> & { reason: string }): Promise<boolean> {
  const written: { inserted: boolean }[] = await q.query(
    `INSERT INTO event_receipts (event_id, workspace, device_id, device_seq, entity_type, entity_id, status, reason, stream_seq, version, accepted_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'parked', $7, $8, NULL, $9)
         ON CONFLICT (event_id, workspace) DO UPDATE SET reason = EXCLUDED.reason, stream_seq = EXCLUDED.stream_seq
           WHERE event_receipts.status = 'parked'
         RETURNING (xmax = 0) AS inserted`,
    [row.eventId, row.workspace, row.deviceId, row.deviceSeq, row.entityType, row.entityId, row.reason, row.streamSeq, row.acceptedAt],
  );
  return written[0]?.inserted === true;
}

// journal_duplicates

export async function insertDuplicates(q: QueryRunner, rows: readonly DuplicateRow[]): Promise<void> {
  await insertRows(
    q,
    'journal_duplicates',
    [
      ['stream_seq', 'bigint', (r) => r.streamSeq],
      ['event_id', 'uuid', (r) => r.eventId],
      ['workspace', 'text', (r) => r.workspace],
      ['device_id', 'text', (r) => r.deviceId],
    ],
    rows,
    'ON CONFLICT (stream_seq) DO NOTHING',
  );
}

// merge_decisions

/** One row per event: its field decisions as one jsonb array of positional tuples (`storeDecision`). */
export async function insertDecisions(q: QueryRunner, rows: readonly DecisionRow[]): Promise<void> {
  await insertRows(
    q,
    'merge_decisions',
    [
      ['event_id', 'uuid', (r) => r.eventId],
      ['workspace', 'text', (r) => r.workspace],
      ['entity_type', 'text', (r) => r.entityType],
      ['entity_id', 'text', (r) => r.entityId],
      ['stream_seq', 'bigint', (r) => r.streamSeq],
      ['decisions', 'jsonb', (r) => r.decisions.map(storeDecision)],
    ],
    rows,
  );
}

// conflicts

export async function insertConflicts(q: QueryRunner, rows: readonly ConflictRow[]): Promise<void> {
  await insertRows(
    q,
    'conflicts',
    [
      ['conflict_id', 'text', (r) => r.conflictId],
      ['workspace', 'text', (r) => r.workspace],
      ['entity_type', 'text', (r) => r.entityType],
      ['entity_id', 'text', (r) => r.entityId],
      ['field', 'text', (r) => r.field],
      ['kind', 'text', (r) => r.kind],
      ['rule', 'text', (r) => r.rule],
      ['status', 'text', (r) => r.status],
      ['detail', 'jsonb', (r) => r.detail],
      ['opened_event_id', 'uuid', (r) => r.openedEventId],
      ['opened_seq', 'bigint', (r) => r.openedSeq],
      ['opened_accepted_at', 'timestamptz', (r) => r.openedAcceptedAt],
    ],
    rows,
  );
}

/** Closes conflicts, one statement each, in the order given. */
export async function resolveConflicts(q: QueryRunner, resolutions: readonly ConflictResolution[]): Promise<void> {
  for (const r of resolutions) {
    await q.query("UPDATE conflicts SET status = 'resolved', resolved_event_id = $2, resolved_seq = $3 WHERE conflict_id = $1 AND workspace = $4", [r.conflictId, r.eventId, r.streamSeq, r.workspace]);
  }
}

// repairs

export async function insertRepairs(q: QueryRunner, rows: readonly RepairRow[]): Promise<void> {
  await insertRows(
    q,
    'repairs',
    [
      ['repair_id', 'text', (r) => r.repairId],
      ['workspace', 'text', (r) => r.workspace],
      ['entity_type', 'text', (r) => r.entityType],
      ['entity_id', 'text', (r) => r.entityId],
      ['code', 'text', (r) => r.code],
      ['reason', 'text', (r) => r.reason],
      ['detail', 'jsonb', (r) => r.detail],
      ['event_id', 'uuid', (r) => r.eventId],
      ['stream_seq', 'bigint', (r) => r.streamSeq],
    ],
    rows,
    'ON CONFLICT (repair_id, workspace) DO NOTHING',
  );
}

// outbox

export async function insertOutbox(q: QueryRunner, rows: readonly OutboxRow[]): Promise<void> {
  await insertRows(
    q,
    'outbox',
    [
      ['subject', 'text', (r) => r.subject],
      ['payload', 'jsonb', (r) => r.payload],
      ['msg_id', 'text', (r) => r.msgId],
      ['headers', 'jsonb', (r) => r.headers],
    ],
    rows,
  );
}

// change_log

/**
 * Change-log cursors must become visible in cursor order within a workspace, or a pull could pass a
 * cursor whose row commits later. So the change log is written last, under a per-workspace lock held
 * until commit (sorted: two batches never deadlock).
 */
export async function insertChanges(q: QueryRunner, rows: readonly ChangeRow[]): Promise<void> {
  const workspaces = [...new Set(rows.map((c) => c.workspace))].sort();
  for (const w of workspaces) await q.query("SELECT pg_advisory_xact_lock(hashtext('tidemark.change_log'), hashtext($1))", [w]);
  await insertRows(
    q,
    'change_log',
    [
      ['workspace', 'text', (r) => r.workspace],
      ['entity_type', 'text', (r) => r.entityType],
      ['entity_id', 'text', (r) => r.entityId],
      ['version', 'bigint', (r) => r.version],
      ['deleted', 'boolean', (r) => r.deleted],
      ['view', 'jsonb', (r) => r.view],
      ['scope_key', 'text', (r) => r.scopeKey],
      ['moved_from_key', 'text', (r) => r.movedFromKey],
      ['event_id', 'uuid', (r) => r.eventId],
      ['device_id', 'text', (r) => r.deviceId],
      ['stream_seq', 'bigint', (r) => r.streamSeq],
    ],
    rows,
  );
}

// device_sequences

/**
 * Records each device's sequence progress. A device's events span partitions, so its row is locked
 * (sorted, after the partition's own checkpoint and before the change-log lock: one global lock order)
 * and the new value is computed from the committed one; the result depends only on the set of
 * sequences seen, so it is the same whatever order the partitions commit in.
 */
export async function advanceDevices(q: QueryRunner, arrived: DeviceArrivals[]): Promise<void> {
  if (arrived.length === 0) return;
  arrived.sort((a, b) => (a.workspace === b.workspace ? (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0) : a.workspace < b.workspace ? -1 : 1));
  const ws = arrived.map((a) => a.workspace);
  const ids = arrived.map((a) => a.deviceId);
  await q.query('INSERT INTO device_sequences (workspace, device_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING', [ws, ids]);
  const rows: {
    workspace: string;
    device_id: string;
    contiguous: string;
    max_seq: string;
    ahead: number[];
    events: string;
    last_accepted_at: Date | null;
    site: string | null;
    site_seq: string | null;
  }[] = await q.query(
    `SELECT d.workspace, d.device_id, d.contiguous, d.max_seq, d.ahead, d.events, d.last_accepted_at, d.site, d.site_seq
         FROM device_sequences d JOIN unnest($1::text[], $2::text[]) AS k(w, i) ON d.workspace = k.w AND d.device_id = k.i
        ORDER BY d.workspace, d.device_id FOR UPDATE OF d`,
    [ws, ids],
  );
  const stored = new Map(
    rows.map((r) => [
      `${r.workspace}\u0000${r.device_id}`,
      { contiguous: Number(r.contiguous), maxSeq: Number(r.max_seq), ahead: r.ahead, events: Number(r.events), lastAcceptedAt: r.last_accepted_at?.toISOString() ?? null } satisfies DeviceSequence,
    ]),
  );
  const next = arrived.map((a) => advanceSequence(stored.get(`${a.workspace}\u0000${a.deviceId}`)!, a.seqs, a.acceptedAts));
  const sitesBefore = new Map(rows.map((r) => [`${r.workspace}\u0000${r.device_id}`, { site: r.site, siteSeq: r.site_seq === null ? null : Number(r.site_seq) }]));
  const sites = arrived.map((a) => latestSite(sitesBefore.get(`${a.workspace}\u0000${a.deviceId}`)!, a.sites));
  await q.query(
    `UPDATE device_sequences d SET contiguous = u.contiguous, max_seq = u.max_seq, ahead = u.ahead, events = u.events, last_accepted_at = u.last_accepted_at,
              site = u.site, site_seq = u.site_seq
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::jsonb[], $6::bigint[], $7::timestamptz[], $8::text[], $9::bigint[])
              AS u(workspace, device_id, contiguous, max_seq, ahead, events, last_accepted_at, site, site_seq)
        WHERE d.workspace = u.workspace AND d.device_id = u.device_id`,
    [
      ws,
      ids,
      next.map((n) => n.contiguous),
      next.map((n) => n.maxSeq),
      next.map((n) => JSON.stringify(n.ahead)),
      next.map((n) => n.events),
      next.map((n) => n.lastAcceptedAt),
      sites.map((s) => s.site),
      sites.map((s) => s.siteSeq),
    ],
  );
}

// parked_events

/** A parked entry of the consumer, if there is one at `seq`. */
export async function readParkedEntry(q: QueryRunner, consumer: string, seq: number): Promise<StoredParkedEntry | undefined> {
  const rows: { event_id: string | null; workspace: string | null; status: ParkedStatus }[] = await q.query(
    'SELECT event_id, workspace, status FROM parked_events WHERE consumer = $1 AND stream_seq = $2',
    [consumer, seq],
  );
  const entry = rows[0];
  return entry && { seq, eventId: entry.event_id, workspace: entry.workspace, status: entry.status };
}

/** A parked message: a journal record (`record` names its event) or a message that is none. Kept when the entry exists. */
export interface ParkedEntryRow {
  consumer: string;
  seq: number;
  record: { eventId: string; workspace: string } | undefined;
  subject: string;
  reason: string;
  code: ParkCode;
  attempts: number;
  payload: string;
}

export async function insertParkedEntry(q: QueryRunner, row: ParkedEntryRow): Promise<void> {
  if (row.record) {
    await q.query(
      `INSERT INTO parked_events (consumer, stream_seq, event_id, workspace, subject, reason, code, attempts, payload)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (consumer, stream_seq) DO NOTHING`,
      [row.consumer, row.seq, row.record.eventId, row.record.workspace, row.subject, row.reason, row.code, row.attempts, row.payload],
    );
    return;
  }
  await q.query(
    `INSERT INTO parked_events (consumer, stream_seq, event_id, workspace, subject, reason, code, attempts, payload)
       VALUES ($1, $2, NULL, NULL, $3, $4, $5, $6, $7) ON CONFLICT (consumer, stream_seq) DO NOTHING`,
    [row.consumer, row.seq, row.subject, row.reason, row.code, row.attempts, row.payload],
  );
}

/** The event's open parked entry in its workspace is resolved by the copy at `seq`: re-driven (applied, or parked again as a new entry). */
export async function resolveParkedEntry(q: QueryRunner, workspace: string, eventId: string, seq: number, resolution: ParkedAction | 'retry', note: string | null): Promise<void> {
  await q.query("UPDATE parked_events SET status = 'redriven', resolution = $4, resolved_seq = $3, note = $5 WHERE event_id = $1 AND workspace = $2 AND status = 'parked' AND stream_seq < $3", [
    eventId,
    workspace,
    seq,
    resolution,
    note,
  ]);
}

/** The consumer's entry at `entrySeq` is skipped by the marker at `seq`, while it is parked. */
export async function skipParkedEntry(q: QueryRunner, consumer: string, entrySeq: number, seq: number, note: string | null): Promise<void> {
  await q.query("UPDATE parked_events SET status = 'skipped', resolution = 'skip', resolved_seq = $3, note = $4 WHERE consumer = $1 AND stream_seq = $2 AND status = 'parked'", [
    consumer,
    entrySeq,
    seq,
    note,
  ]);
}
