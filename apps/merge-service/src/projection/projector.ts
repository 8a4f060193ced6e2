import type { DataSource, QueryRunner } from '@tidemark/persistence';
import { inTransaction, isDeterministicDataError } from '@tidemark/persistence';
import { PARKED_HEADERS, mergedSubject, parseJournalSubject, reviewSubject, type JournalRecord, type ParkCode, type ParkedAction, type ParkedStatus } from '@tidemark/contracts';
import { assetRefsOf, intakeOf, parkingOf, planParked, skipDecision, view, type EntityState, type MergeInput, type MergeResult } from '@tidemark/merge';
import { advanceSequence, type DeviceSequence } from '@tidemark/merge';
import { latestSite } from './device-site';
import { DependencyUnavailableError, isWaitOut, type JsMsg, type MessageBatch } from '@tidemark/messaging';
import { isDependencyUnavailable } from '@tidemark/platform';
import { counter, histogram, type Logger } from '@tidemark/telemetry';

/** The merge the projector applies: pure, so the same journal always gives the same projection. */
export type MergeFn = (current: EntityState | undefined, input: MergeInput) => MergeResult;

/** A receipt's status: the merge outcome, with a duplicate named as such. */
function receiptStatus(result: MergeResult): string {
  if (result.outcome === 'noop') return result.code === 'duplicate-event' ? 'duplicate' : 'noop';
  return result.outcome;
}

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

export interface ProjectorOptions {
  isolateAfter: number;
  parkAfter: number;
  logger: Logger;
  merge: MergeFn;
  /** Makes sure the schemas a batch names are loaded (a version published a moment ago is applied, not rejected). */
  ensureSchemas?: (pairs: { type: string; version: number }[]) => Promise<void>;
  /**
   * Brings the merge policies in force up to date, through the batch's own connection, right after the
   * batch locked its partition's checkpoint row: a replay swap activates revisions while it holds every
   * checkpoint row, so a batch either committed before the swap or merges with what it activated.
   */
  ensurePolicies?: (q: QueryRunner) => Promise<void>;
  /** Called after each committed batch, before its ack (crash tests use it to die in that window). */
  afterCommit?: () => void;
  /** Called after a commit that wrote outbox rows. */
  onOutbox?: () => void;
  /**
   * A Postgres schema holding its own copy of the projection tables (a replay's shadow): each transaction
   * starts with `SET LOCAL search_path TO "<schema>"`, so the same projector writes there. Only that
   * schema (and pg_catalog): a table missing from it is an error, never a write into the live one.
   */
  searchPath?: string;
  /** The fields of an entity type that hold asset references (`valueType: 'asset'`); none when absent. */
  assetFields?: (type: string) => readonly string[];
  /**
   * Whether this replica still holds the consumer's partition, checked through the parking transaction
   * (`q`): parking is a decision only the partition's owner may take. A replica that lost its claim (its
   * claim session died, another replica took the partition) parks nothing. Absent: always held (a replay's
   * shadow projector, tests).
   */
  holdsPartition?: (consumer: string, q: QueryRunner) => Promise<boolean>;
}

/** An operator's action on a parked entry, as the journal message carrying it says (`PARKED_HEADERS`). */
export interface ParkedMark {
  action: ParkedAction;
  consumer: string;
  seq: number;
  reason: string | null;
}

/** A journal message of a batch, in stream order: a record to merge, or a skip marker for a parked entry. */
type Item = { msg: JsMsg; record: JournalRecord; mark: ParkedMark | undefined } | { msg: JsMsg; skip: ParkedMark };

/** A receipt as this batch leaves it; `stored` when its row existed before the batch (updated, not inserted). */
interface ReceiptWrite {
  row: unknown[];
  stored: boolean;
}

/** A device's first-seen events in this batch: their sequences, acceptance times and sites. */
interface Arrivals {
  workspace: string;
  deviceId: string;
  seqs: number[];
  acceptedAts: string[];
  sites: { seq: number; site: string }[];
}

const applied = counter('tidemark_projected_events_total', 'journal events projected, by outcome', ['outcome']);
const batchSeconds = histogram('tidemark_projection_batch_seconds', 'time to apply one batch in one transaction', [], [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);
const parkedTotal = counter('tidemark_parked_total', 'journal messages parked for an operator, by code', ['code']);

const key = (workspace: string, type: string, id: string) => `${workspace}\u0000${type}\u0000${id}`;
/** An event's identity: eventIds are the devices', so the same id in two workspaces is two unrelated events. */
const eventKey = (workspace: string, eventId: string) => `${workspace}\u0000${eventId}`;

/** The operator action a journal message carries in its headers (`PARKED_HEADERS`), if it carries a well-formed one. */
export function markOf(msg: Pick<JsMsg, 'headers'>): ParkedMark | undefined {
  const h = msg.headers;
  const action = h?.get(PARKED_HEADERS.action);
  if (!h || (action !== 'redrive' && action !== 'edit' && action !== 'skip')) return undefined;
  const seq = Number(h.get(PARKED_HEADERS.seq));
  if (!Number.isSafeInteger(seq) || seq < 1) return undefined;
  const raw = h.has(PARKED_HEADERS.reason) ? h.get(PARKED_HEADERS.reason) : null;
  let reason = raw;
  try {
    reason = raw === null ? null : decodeURIComponent(raw);
  } catch {
    // Not URI-encoded: keep it as written.
  }
  return { action, consumer: h.get(PARKED_HEADERS.consumer), seq, reason };
}

/** Turns a journal message into its record, or says why it cannot be one. */
export function decode(msg: JsMsg): { ok: true; record: JournalRecord } | { ok: false; reason: string } {
  let record: JournalRecord;
  try {
    record = msg.json<JournalRecord>();
  } catch (error) {
    return { ok: false, reason: `payload is not JSON: ${(error as Error).message}` };
  }
  const where = parseJournalSubject(msg.subject);
  if (!record || record.v !== 1 || !record.event || typeof record.workspace !== 'string') return { ok: false, reason: 'payload is not a version 1 journal record' };
  if (!where || where.workspace !== record.workspace || where.entity.type !== record.event.entity?.type || where.entity.id !== record.event.entity?.id) {
    return { ok: false, reason: `subject ${msg.subject} does not match the record's workspace and entity` };
  }
  return { ok: true, record };
}

/**
 * Applies journal batches to Postgres with exactly-once effect. One transaction holds: entity rows,
 * change-log rows, receipts, duplicates, the outbox and the consumer checkpoint. Messages at or below
 * the checkpoint were committed before (an ack lost in a crash) and are skipped; an eventId that already
 * has a receipt is a duplicate from beyond the dedupe window and is recorded, not applied again.
 *
 * Parking: an event naming an entity type or schema version the registry lacks is parked (a
 * `parked_events` entry with its code and reason, receipt `parked`) in the batch's transaction, and the
 * partition flows on. A parked receipt does not make a later copy a duplicate: an operator's re-drive or
 * edit (a journal message with `PARKED_HEADERS`) is merged, its receipt becomes the outcome and the entry
 * `redriven` — or it is parked again as a new entry. A skip marker turns the entry and receipt `skipped`.
 * Each is decided in journal order, so a rebuild from the journal reaches the same place.
 *
 * An event's identity is (workspace, eventId): receipts, merge decisions, conflicts, repairs, parked entries
 * and outbox message ids are read and written with the workspace, so the same eventId in another workspace
 * has no effect at all on this one.
 */
export class Projector {
  constructor(
    private readonly ds: DataSource,
    private readonly options: ProjectorOptions,
  ) {}

  /**
   * The batch handler: commit the batch, or isolate and park what keeps failing.
   *
   * A failure caused by an unavailable dependency (Postgres down, restarting or out of connections) is
   * thrown as `DependencyUnavailableError`: the consumer waits it out and tries the same attempt again, so
   * an outage never counts toward isolating or parking, however long it lasts. Only a failure that repeats
   * while Postgres answers parks a message, and only while this replica holds the partition.
   */
  async handle(batch: MessageBatch): Promise<void> {
    if (batch.attempt < this.options.isolateAfter) {
      try {
        await this.healthy(() => this.commit(batch.durable, batch.messages));
        this.options.afterCommit?.();
        return;
      } catch (error) {
        // Postgres refused some message's data: it fails the same way on every retry, so the batch is
        // isolated at once and only that message is parked (the others are committed one by one).
        if (isWaitOut(error) || !isDeterministicDataError(error)) throw error;
      }
    }
    for (const msg of batch.messages) {
      let lastError: unknown;
      for (let attempt = 1; attempt <= this.options.parkAfter; attempt++) {
        try {
          await this.healthy(() => this.commit(batch.durable, [msg]));
          lastError = undefined;
          break;
        } catch (error) {
          // An outage: the consumer waits it out and hands the batch back; messages committed one by one
          // so far are below the checkpoint then and are skipped.
          if (isWaitOut(error)) throw error;
          lastError = error;
          if (isDeterministicDataError(error)) break; // the same data fails the same way: park it now
          msg.working();
          await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 50 * 2 ** attempt)));
        }
      }
      if (lastError !== undefined) {
        const failed = isDeterministicDataError(lastError) ? 'failed with a data error' : `failed ${this.options.parkAfter} times`;
        await this.healthy(() => this.park(batch.durable, msg, `${failed}: ${(lastError as Error).message}`, this.options.parkAfter + batch.attempt - 1));
      }
    }
  }

  /**
   * Runs `work`; when it fails, tells an outage from a failure of the work itself. An error that says a
   * dependency is unavailable is one; so is any error while Postgres does not answer right after it (a
   * connection dropped mid-transaction can surface as something else). Either is thrown as
   * `DependencyUnavailableError`; any other error is the work's own and is thrown as it is.
   */
  private async healthy<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isWaitOut(error)) throw error;
      if (isDependencyUnavailable(error)) throw new DependencyUnavailableError('postgres', error);
      try {
        await this.ds.query('SELECT 1');
      } catch {
        throw new DependencyUnavailableError('postgres', error);
      }
      throw error;
    }
  }

  async commit(consumer: string, messages: JsMsg[]): Promise<void> {
    const end = batchSeconds.startTimer();
    let wroteOutbox = false;
    // Decoded, and the schemas they name loaded, before the transaction takes a connection: loading uses
    // the pool too, and a transaction waiting on the pool while holding a connection could starve it.
    const prepared = messages.map((msg) => {
      const mark = markOf(msg);
      return { msg, mark, decoded: mark?.action === 'skip' ? undefined : decode(msg) };
    });
    const named = prepared.flatMap((p) => (p.decoded?.ok ? [p.decoded.record] : []));
    if (this.options.ensureSchemas && named.length > 0) {
      const pairs = new Map(named.map(({ event }) => [`${event.entity.type}@${event.schemaVersion}`, { type: event.entity.type, version: event.schemaVersion }]));
      await this.options.ensureSchemas([...pairs.values()]);
    }
    await inTransaction(this.ds, async (q) => {
      await this.useSearchPath(q);
      const checkpoint = await this.lockCheckpoint(q, consumer);
      await this.options.ensurePolicies?.(q);
      const fresh = prepared.filter((p) => p.msg.seq > checkpoint);
      if (fresh.length === 0) return;
      const items: Item[] = [];
      for (const { msg, mark, decoded } of fresh) {
        if (mark?.action === 'skip') items.push({ msg, skip: mark });
        else if (decoded?.ok) items.push({ msg, record: decoded.record, mark });
        else await this.insertParked(q, consumer, msg, decoded?.reason ?? 'undecodable', 'undecodable', 1);
      }
      const changes: unknown[][] = [];
      wroteOutbox = await this.apply(q, consumer, items, changes);
      const last = fresh[fresh.length - 1]!.msg.seq;
      await q.query('UPDATE consumer_checkpoints SET stream_seq = $2, updated_at = now() WHERE consumer = $1 AND stream_seq < $2', [consumer, last]);
      // Change-log cursors must become visible in cursor order within a workspace, or a pull could pass a
      // cursor whose row commits later. So the change log is written last, under a per-workspace lock held
      // until commit (sorted: two batches never deadlock); everything above runs in parallel across partitions.
      const workspaces = [...new Set(changes.map((c) => c[0] as string))].sort();
      for (const w of workspaces) await q.query("SELECT pg_advisory_xact_lock(hashtext('tidemark.change_log'), hashtext($1))", [w]);
      await insertRows(q, 'change_log', CHANGE_COLUMNS, changes);
    });
    end();
    if (wroteOutbox) this.options.onOutbox?.();
  }

  private async useSearchPath(q: QueryRunner): Promise<void> {
    if (this.options.searchPath) await q.query(`SET LOCAL search_path TO "${this.options.searchPath.replace(/"/g, '""')}"`);
  }

  private async lockCheckpoint(q: QueryRunner, consumer: string): Promise<number> {
    await q.query('INSERT INTO consumer_checkpoints (consumer, stream_seq) VALUES ($1, 0) ON CONFLICT (consumer) DO NOTHING', [consumer]);
    const rows: { stream_seq: string }[] = await q.query('SELECT stream_seq FROM consumer_checkpoints WHERE consumer = $1 FOR UPDATE', [consumer]);
    return Number(rows[0]!.stream_seq);
  }

  private async apply(q: QueryRunner, consumer: string, items: Item[], pendingChanges: unknown[][]): Promise<boolean> {
    if (items.length === 0) return false;
    const decoded = items.filter((item): item is Extract<Item, { record: JournalRecord }> => 'record' in item);
    const found = (await q.query(
      `SELECT r.event_id, r.workspace, r.status FROM event_receipts r JOIN unnest($1::uuid[], $2::text[]) AS k(e, w) ON r.event_id = k.e AND r.workspace = k.w`,
      [decoded.map((d) => d.record.event.eventId), decoded.map((d) => d.record.workspace)],
    )) as { event_id: string; workspace: string; status: string }[];
    // Each event's receipt status, by (workspace, eventId), as this batch goes: a parked one is not "seen" (a re-drive applies it).
    const known = new Map<string, string>(found.map((r) => [eventKey(r.workspace, r.event_id), r.status]));
    const stored = new Set(known.keys());

    const entityKeys = new Map<string, { workspace: string; type: string; id: string }>();
    for (const { record } of decoded) entityKeys.set(key(record.workspace, record.event.entity.type, record.event.entity.id), { workspace: record.workspace, type: record.event.entity.type, id: record.event.entity.id });
    const keys = [...entityKeys.values()];
    // No row locks here: an entity belongs to one partition, and the partition's checkpoint row, locked
    // at the start of this transaction, already serialises every writer of that partition.
    const current = new Map<string, EntityState>();
    const rows: { workspace: string; entity_type: string; entity_id: string; state: EntityState }[] = await q.query(
      `SELECT e.workspace, e.entity_type, e.entity_id, e.state
         FROM entities e JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(w, t, i)
           ON e.workspace = k.w AND e.entity_type = k.t AND e.entity_id = k.i
        ORDER BY e.workspace, e.entity_type, e.entity_id`,
      [keys.map((k) => k.workspace), keys.map((k) => k.type), keys.map((k) => k.id)],
    );
    for (const r of rows) current.set(key(r.workspace, r.entity_type, r.entity_id), r.state);

    const changed = new Map<string, { workspace: string; type: string; id: string; state: EntityState; shown: ReturnType<typeof view>; eventId: string; seq: number }>();
    const changes: unknown[][] = [];
    const receipts = new Map<string, ReceiptWrite>();
    const duplicates: unknown[][] = [];
    const decisions: unknown[][] = [];
    const conflicts: unknown[][] = [];
    const resolved: unknown[][] = [];
    const repairs: unknown[][] = [];
    const outbox: unknown[][] = [];
    const devices = new Map<string, Arrivals>();
    for (const item of items) {
      if ('skip' in item) {
        await this.skipParked(q, consumer, item.msg.seq, item.skip, known, receipts);
        continue;
      }
      const { msg, record, mark } = item;
      const { event, workspace } = record;
      const ek = eventKey(workspace, event.eventId);
      const intake = intakeOf(known.get(ek));
      if (intake === 'duplicate') {
        duplicates.push([msg.seq, event.eventId, workspace, event.deviceId]);
        applied.inc({ outcome: 'duplicate' });
        continue;
      }
      if (intake === 'first') {
        // A device's progress counts each event once, when it first reaches the journal (a re-drive is not a new arrival).
        const dk = `${workspace}\u0000${event.deviceId}`;
        const arrived = devices.get(dk) ?? { workspace, deviceId: event.deviceId, seqs: [], acceptedAts: [], sites: [] };
        arrived.seqs.push(event.deviceSeq);
        arrived.acceptedAts.push(record.acceptedAt);
        if (record.site) arrived.sites.push({ seq: event.deviceSeq, site: record.site });
        devices.set(dk, arrived);
      }
      const k = key(workspace, event.entity.type, event.entity.id);
      const result = this.options.merge(current.get(k), { event, workspace, acceptedAt: record.acceptedAt, streamSeq: msg.seq });
      const plan = planParked(intake, parkingOf(result), mark?.action);
      const status = plan.park ? 'parked' : receiptStatus(result);
      applied.inc({ outcome: status });
      const accepted = !plan.park && (result.outcome === 'applied' || result.outcome === 'merged' || result.outcome === 'conflicted');
      const version = accepted ? result.state.version : null;
      known.set(ek, status);
      receipts.set(ek, {
        row: [event.eventId, workspace, event.deviceId, event.deviceSeq, event.entity.type, event.entity.id, status, plan.park ? plan.park.reason : result.reason ?? null, msg.seq, version, record.acceptedAt],
        stored: stored.has(ek),
      });
      if (plan.resolveOpen) await this.resolveParked(q, workspace, event.eventId, msg.seq, plan.resolveOpen.resolution, mark?.reason ?? null);
      if (plan.park) {
        await this.insertParkedRecord(q, consumer, msg, record, plan.park.reason, plan.park.code as ParkCode, 1);
        continue;
      }
      for (const repair of result.repairs) {
        repairs.push([repair.id, workspace, event.entity.type, event.entity.id, repair.code, repair.reason, JSON.stringify({ current: repair.current, reported: repair.reported }), event.eventId, msg.seq]);
      }
      if (!accepted) continue;
      const next = result.state;
      const shown = view(next);
      current.set(k, next);
      changed.set(k, { workspace, type: event.entity.type, id: event.entity.id, state: next, shown, eventId: event.eventId, seq: msg.seq });
      changes.push([workspace, event.entity.type, event.entity.id, next.version, next.deleted, JSON.stringify(shown), event.eventId, event.deviceId, msg.seq]);
      result.decisions.forEach((d, idx) => {
        decisions.push([event.eventId, idx, workspace, event.entity.type, event.entity.id, d.field, d.policy, d.rule, d.outcome, JSON.stringify(d.change), json(d.before), json(d.after), d.conflictId ?? null, msg.seq]);
      });
      for (const c of result.conflicts) {
        const { id, kind, rule, field, ...detail } = c;
        conflicts.push([id, workspace, event.entity.type, event.entity.id, field, kind, rule, 'open', JSON.stringify(detail), event.eventId, msg.seq, record.acceptedAt]);
        outbox.push([reviewSubject(workspace, event.entity, 'opened'), JSON.stringify({ kind: 'conflict.opened', conflict: c }), `conflict-opened-${workspace}-${id}`]);
      }
      for (const id of result.resolved) {
        resolved.push([id, event.eventId, msg.seq, workspace]);
        outbox.push([reviewSubject(workspace, event.entity, 'resolved'), JSON.stringify({ kind: 'conflict.resolved', conflictId: id, workspace, entity: event.entity, eventId: event.eventId, version: next.version }), `conflict-resolved-${workspace}-${id}`]);
      }
      outbox.push([
        mergedSubject(workspace, event.entity),
        JSON.stringify({
          workspace, entity: event.entity, version: next.version, deleted: next.deleted, view: shown, eventId: event.eventId, deviceId: event.deviceId, streamSeq: msg.seq, outcome: result.outcome,
          decisions: result.decisions.map((d) => ({ field: d.field, policy: d.policy, rule: d.rule, outcome: d.outcome })),
        }),
        `merged-${workspace}-${event.eventId}`,
      ]);
    }

    if (changed.size > 0) {
      const list = [...changed.values()];
      await insertRows(q, 'entities', ENTITY_COLUMNS,
        list.map((c) => [c.workspace, c.type, c.id, c.state.version, c.state.deleted, JSON.stringify(c.state), JSON.stringify(c.shown), c.eventId, c.seq]),
        `ON CONFLICT (workspace, entity_type, entity_id) DO UPDATE SET version = EXCLUDED.version, deleted = EXCLUDED.deleted, state = EXCLUDED.state,
           view = EXCLUDED.view, last_event_id = EXCLUDED.last_event_id, last_stream_seq = EXCLUDED.last_stream_seq`);
      await this.replaceAssetRefs(q, list);
    }
    const writes = [...receipts.values()];
    await insertRows(q, 'event_receipts', RECEIPT_COLUMNS, writes.filter((w) => !w.stored).map((w) => w.row));
    await updateReceipts(q, writes.filter((w) => w.stored).map((w) => w.row));
    await insertRows(q, 'journal_duplicates', DUPLICATE_COLUMNS, duplicates, 'ON CONFLICT (stream_seq) DO NOTHING');
    await insertRows(q, 'merge_decisions', DECISION_COLUMNS, decisions);
    await insertRows(q, 'conflicts', CONFLICT_COLUMNS, conflicts);
    for (const [id, eventId, seq, workspace] of resolved) {
      await q.query("UPDATE conflicts SET status = 'resolved', resolved_event_id = $2, resolved_seq = $3 WHERE conflict_id = $1 AND workspace = $4", [id, eventId, seq, workspace]);
    }
    await insertRows(q, 'repairs', REPAIR_COLUMNS, repairs, 'ON CONFLICT (repair_id, workspace) DO NOTHING');
    // The outbox id of a message is derived from what it reports, so a rebuild never publishes a second copy.
    await insertRows(q, 'outbox', OUTBOX_COLUMNS, outbox.map((o) => [...o, '{}']));
    await this.advanceDevices(q, [...devices.values()]);
    pendingChanges.push(...changes);
    return outbox.length > 0;
  }

  /**
   * The asset references each changed entity holds now, replacing what it held: a function of the entity's
   * final state in this batch, so the table is as deterministic as the entities themselves.
   */
  private async replaceAssetRefs(q: QueryRunner, list: { workspace: string; type: string; id: string; shown: ReturnType<typeof view> }[]): Promise<void> {
    const fieldsOf = this.options.assetFields;
    if (!fieldsOf) return;
    const touched = list.map((c) => ({ ...c, fields: fieldsOf(c.type) })).filter((c) => c.fields.length > 0);
    if (touched.length === 0) return;
    await q.query(
      `DELETE FROM entity_assets r USING unnest($1::text[], $2::text[], $3::text[]) AS k(w, t, i)
        WHERE r.workspace = k.w AND r.entity_type = k.t AND r.entity_id = k.i`,
      [touched.map((c) => c.workspace), touched.map((c) => c.type), touched.map((c) => c.id)],
    );
    const rows = touched.flatMap((c) => assetRefsOf(c.shown.values, c.fields).map((ref) => [c.workspace, c.type, c.id, ref.field, ref.sha256]));
    await insertRows(q, 'entity_assets', ENTITY_ASSET_COLUMNS, rows);
  }

  /**
   * A skip marker: the parked entry at `marker.seq` of this partition's consumer becomes `skipped` (while it is
   * `parked`), and so does the receipt of its event in the entry's workspace (while that is `parked`), with the
   * operator's reason.
   *
   * The entry is keyed (consumer, stream_seq). The marker names the live consumer it was published for, and it
   * travels on the parked message's own subject, so it reaches the same partition; the consumer matched is the
   * one committing it (`consumer`), which is the marker's in the live projection and the rebuild's or replay's
   * own name in theirs (where the marker's name would match nothing).
   */
  private async skipParked(q: QueryRunner, consumer: string, seq: number, marker: ParkedMark, known: Map<string, string>, receipts: Map<string, ReceiptWrite>): Promise<void> {
    const rows: { event_id: string | null; workspace: string | null; status: ParkedStatus }[] = await q.query('SELECT event_id, workspace, status FROM parked_events WHERE consumer = $1 AND stream_seq = $2', [consumer, marker.seq]);
    const entry = rows[0];
    const ek = entry?.event_id && entry.workspace !== null ? eventKey(entry.workspace, entry.event_id) : undefined;
    let receipt = ek ? known.get(ek) : undefined;
    if (entry?.event_id && ek && receipt === undefined && !receipts.has(ek)) {
      const found: { status: string }[] = await q.query('SELECT status FROM event_receipts WHERE event_id = $1 AND workspace = $2', [entry.event_id, entry.workspace]);
      receipt = found[0]?.status;
    }
    const decision = skipDecision(entry?.status, receipt);
    if (!decision.entry) {
      this.options.logger.warn({ consumer, markerConsumer: marker.consumer, seq: marker.seq, status: entry?.status ?? null }, 'skip marker for an entry that is not parked: nothing to skip');
      return;
    }
    await q.query("UPDATE parked_events SET status = 'skipped', resolution = 'skip', resolved_seq = $3, note = $4 WHERE consumer = $1 AND stream_seq = $2 AND status = 'parked'", [consumer, marker.seq, seq, marker.reason]);
    if (!decision.receipt || !entry?.event_id || !ek) return;
    const reason = `skipped by an operator${marker.reason ? `: ${marker.reason}` : ''}`;
    const pending = receipts.get(ek);
    if (pending) {
      pending.row[6] = 'skipped';
      pending.row[7] = reason;
    } else {
      await q.query("UPDATE event_receipts SET status = 'skipped', reason = $3 WHERE event_id = $1 AND workspace = $2 AND status = 'parked'", [entry.event_id, entry.workspace, reason]);
    }
    known.set(ek, 'skipped');
  }

  /** The event's open parked entry in its workspace is resolved by the copy at `seq`: re-driven (applied, or parked again as a new entry). */
  private async resolveParked(q: QueryRunner, workspace: string, eventId: string, seq: number, resolution: ParkedAction | 'retry', note: string | null): Promise<void> {
    await q.query(
      "UPDATE parked_events SET status = 'redriven', resolution = $4, resolved_seq = $3, note = $5 WHERE event_id = $1 AND workspace = $2 AND status = 'parked' AND stream_seq < $3",
      [eventId, workspace, seq, resolution, note],
    );
  }

  /**
   * Records each device's sequence progress. A device's events span partitions, so its row is locked
   * (sorted, after the partition's own checkpoint and before the change-log lock: one global lock order)
   * and the new value is computed from the committed one; the result depends only on the set of
   * sequences seen, so it is the same whatever order the partitions commit in.
   */
  private async advanceDevices(q: QueryRunner, arrived: Arrivals[]): Promise<void> {
    if (arrived.length === 0) return;
    arrived.sort((a, b) => (a.workspace === b.workspace ? (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0) : a.workspace < b.workspace ? -1 : 1));
    const ws = arrived.map((a) => a.workspace);
    const ids = arrived.map((a) => a.deviceId);
    await q.query('INSERT INTO device_sequences (workspace, device_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING', [ws, ids]);
    const rows: { workspace: string; device_id: string; contiguous: string; max_seq: string; ahead: number[]; events: string; last_accepted_at: Date | null; site: string | null; site_seq: string | null }[] = await q.query(
      `SELECT d.workspace, d.device_id, d.contiguous, d.max_seq, d.ahead, d.events, d.last_accepted_at, d.site, d.site_seq
         FROM device_sequences d JOIN unnest($1::text[], $2::text[]) AS k(w, i) ON d.workspace = k.w AND d.device_id = k.i
        ORDER BY d.workspace, d.device_id FOR UPDATE OF d`,
      [ws, ids],
    );
    const stored = new Map(rows.map((r) => [`${r.workspace}\u0000${r.device_id}`, { contiguous: Number(r.contiguous), maxSeq: Number(r.max_seq), ahead: r.ahead, events: Number(r.events), lastAcceptedAt: r.last_accepted_at?.toISOString() ?? null } satisfies DeviceSequence]));
    const next = arrived.map((a) => advanceSequence(stored.get(`${a.workspace}\u0000${a.deviceId}`)!, a.seqs, a.acceptedAts));
    const sitesBefore = new Map(rows.map((r) => [`${r.workspace}\u0000${r.device_id}`, { site: r.site, siteSeq: r.site_seq === null ? null : Number(r.site_seq) }]));
    const sites = arrived.map((a) => latestSite(sitesBefore.get(`${a.workspace}\u0000${a.deviceId}`)!, a.sites));
    await q.query(
      `UPDATE device_sequences d SET contiguous = u.contiguous, max_seq = u.max_seq, ahead = u.ahead, events = u.events, last_accepted_at = u.last_accepted_at,
              site = u.site, site_seq = u.site_seq
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::jsonb[], $6::bigint[], $7::timestamptz[], $8::text[], $9::bigint[])
              AS u(workspace, device_id, contiguous, max_seq, ahead, events, last_accepted_at, site, site_seq)
        WHERE d.workspace = u.workspace AND d.device_id = u.device_id`,
      [ws, ids, next.map((n) => n.contiguous), next.map((n) => n.maxSeq), next.map((n) => JSON.stringify(n.ahead)), next.map((n) => n.events), next.map((n) => n.lastAcceptedAt), sites.map((s) => s.site), sites.map((s) => s.siteSeq)],
    );
  }

  /**
   * Parks a message in its own transaction, moving the checkpoint past it so the partition flows on. Only
   * while this replica holds the partition: otherwise nothing is written and the failure is an outage of
   * the claim (the consumer waits until it is stopped or the claim is back).
   */
  async park(consumer: string, msg: JsMsg, reason: string, attempts: number): Promise<void> {
    await inTransaction(this.ds, async (q) => {
      await this.useSearchPath(q);
      const checkpoint = await this.lockCheckpoint(q, consumer);
      if (msg.seq <= checkpoint) return;
      if (this.options.holdsPartition && !(await this.options.holdsPartition(consumer, q))) {
        throw new DependencyUnavailableError('partition-claim', new Error(`this replica no longer holds the partition of ${consumer}; parking nothing`));
      }
      await this.insertParked(q, consumer, msg, reason, 'failing', attempts);
      await q.query('UPDATE consumer_checkpoints SET stream_seq = $2, updated_at = now() WHERE consumer = $1 AND stream_seq < $2', [consumer, msg.seq]);
    });
  }

  /** Parks a message that failed before merge (not a record, or failing): the record, when it is one, is parked like a merged one. */
  private async insertParked(q: QueryRunner, consumer: string, msg: JsMsg, reason: string, code: ParkCode, attempts: number): Promise<void> {
    const decoded = decode(msg);
    if (decoded.ok) {
      // A copy of an event already decided (applied, skipped …) keeps its receipt; a parked one takes the new reason.
      await this.resolveParked(q, decoded.record.workspace, decoded.record.event.eventId, msg.seq, markOf(msg)?.action ?? 'retry', markOf(msg)?.reason ?? null);
      await this.insertParkedRecord(q, consumer, msg, decoded.record, reason, code, attempts);
      const { event: e, workspace, acceptedAt, site } = decoded.record;
      const written: { inserted: boolean }[] = await q.query(
        `INSERT INTO event_receipts (event_id, workspace, device_id, device_seq, entity_type, entity_id, status, reason, stream_seq, version, accepted_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'parked', $7, $8, NULL, $9)
         ON CONFLICT (event_id, workspace) DO UPDATE SET reason = EXCLUDED.reason, stream_seq = EXCLUDED.stream_seq
           WHERE event_receipts.status = 'parked'
         RETURNING (xmax = 0) AS inserted`,
        [e.eventId, workspace, e.deviceId, e.deviceSeq, e.entity.type, e.entity.id, reason, msg.seq, acceptedAt],
      );
      // Its first arrival: the device's progress counts it, as it counts an event parked by merge.
      if (written[0]?.inserted) await this.advanceDevices(q, [{ workspace, deviceId: e.deviceId, seqs: [e.deviceSeq], acceptedAts: [acceptedAt], sites: site ? [{ seq: e.deviceSeq, site }] : [] }]);
      return;
    }
    this.options.logger.error({ consumer, seq: msg.seq, subject: msg.subject, reason, code }, 'parking journal message');
    parkedTotal.inc({ code });
    await q.query(
      `INSERT INTO parked_events (consumer, stream_seq, event_id, workspace, subject, reason, code, attempts, payload)
       VALUES ($1, $2, NULL, NULL, $3, $4, $5, $6, $7) ON CONFLICT (consumer, stream_seq) DO NOTHING`,
      [consumer, msg.seq, msg.subject, reason, code, attempts, msg.string()],
    );
  }

  /** The parked entry of a journal record (its receipt is written by the caller). */
  private async insertParkedRecord(q: QueryRunner, consumer: string, msg: JsMsg, record: JournalRecord, reason: string, code: ParkCode, attempts: number): Promise<void> {
    this.options.logger.warn({ consumer, seq: msg.seq, subject: msg.subject, eventId: record.event.eventId, reason, code }, 'parking journal message');
    parkedTotal.inc({ code });
    await q.query(
      `INSERT INTO parked_events (consumer, stream_seq, event_id, workspace, subject, reason, code, attempts, payload)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (consumer, stream_seq) DO NOTHING`,
      [consumer, msg.seq, record.event.eventId, record.workspace, msg.subject, reason, code, attempts, msg.string()],
    );
  }
}

type Columns = readonly (readonly [name: string, pgType: string])[];
const ENTITY_COLUMNS: Columns = [['workspace', 'text'], ['entity_type', 'text'], ['entity_id', 'text'], ['version', 'bigint'], ['deleted', 'boolean'], ['state', 'jsonb'], ['view', 'jsonb'], ['last_event_id', 'uuid'], ['last_stream_seq', 'bigint']];
const CHANGE_COLUMNS: Columns = [['workspace', 'text'], ['entity_type', 'text'], ['entity_id', 'text'], ['version', 'bigint'], ['deleted', 'boolean'], ['view', 'jsonb'], ['event_id', 'uuid'], ['device_id', 'text'], ['stream_seq', 'bigint']];
const RECEIPT_COLUMNS: Columns = [['event_id', 'uuid'], ['workspace', 'text'], ['device_id', 'text'], ['device_seq', 'bigint'], ['entity_type', 'text'], ['entity_id', 'text'], ['status', 'text'], ['reason', 'text'], ['stream_seq', 'bigint'], ['version', 'bigint'], ['accepted_at', 'timestamptz']];
const DUPLICATE_COLUMNS: Columns = [['stream_seq', 'bigint'], ['event_id', 'uuid'], ['workspace', 'text'], ['device_id', 'text']];
const DECISION_COLUMNS: Columns = [['event_id', 'uuid'], ['idx', 'integer'], ['workspace', 'text'], ['entity_type', 'text'], ['entity_id', 'text'], ['field', 'text'], ['policy', 'text'], ['rule', 'text'], ['outcome', 'text'], ['change', 'jsonb'], ['before', 'jsonb'], ['after', 'jsonb'], ['conflict_id', 'text'], ['stream_seq', 'bigint']];
const CONFLICT_COLUMNS: Columns = [['conflict_id', 'text'], ['workspace', 'text'], ['entity_type', 'text'], ['entity_id', 'text'], ['field', 'text'], ['kind', 'text'], ['rule', 'text'], ['status', 'text'], ['detail', 'jsonb'], ['opened_event_id', 'uuid'], ['opened_seq', 'bigint'], ['opened_accepted_at', 'timestamptz']];
const REPAIR_COLUMNS: Columns = [['repair_id', 'text'], ['workspace', 'text'], ['entity_type', 'text'], ['entity_id', 'text'], ['code', 'text'], ['reason', 'text'], ['detail', 'jsonb'], ['event_id', 'uuid'], ['stream_seq', 'bigint']];
const OUTBOX_COLUMNS: Columns = [['subject', 'text'], ['payload', 'jsonb'], ['msg_id', 'text'], ['headers', 'jsonb']];
const ENTITY_ASSET_COLUMNS: Columns = [['workspace', 'text'], ['entity_type', 'text'], ['entity_id', 'text'], ['field', 'text'], ['sha256', 'text']];

/**
 * One INSERT for a batch's rows of a table, as typed arrays through `unnest`: one parameter per column
 * whatever the row count (a VALUES list would bind rows × columns parameters, which Postgres parses slowly).
 */
async function insertRows(q: QueryRunner, table: string, columns: Columns, rows: unknown[][], suffix = ''): Promise<void> {
  if (rows.length === 0) return;
  const params = columns.map((_, c) => rows.map((row) => row[c] ?? null));
  const select = columns.map(([, type], c) => `$${c + 1}::${type}[]`).join(', ');
  await q.query(`INSERT INTO ${table} (${columns.map(([name]) => name).join(', ')}) SELECT * FROM unnest(${select}) ${suffix}`, params);
}

/** Receipts that existed before the batch (parked ones, re-driven or skipped): one UPDATE from typed arrays, keyed (eventId, workspace). */
async function updateReceipts(q: QueryRunner, rows: unknown[][]): Promise<void> {
  if (rows.length === 0) return;
  const params = RECEIPT_COLUMNS.map((_, c) => rows.map((row) => row[c] ?? null));
  const select = RECEIPT_COLUMNS.map(([, type], c) => `$${c + 1}::${type}[]`).join(', ');
  await q.query(
    `UPDATE event_receipts r SET status = u.status, reason = u.reason, stream_seq = u.stream_seq, version = u.version
       FROM unnest(${select}) AS u(${RECEIPT_COLUMNS.map(([name]) => name).join(', ')})
      WHERE r.event_id = u.event_id AND r.workspace = u.workspace`,
    params,
  );
}
