import type { DataSource, QueryRunner } from '@tidemark/persistence';
import { inTransaction, isDeterministicDataError, postgresCheck, useSchemaLocally } from '@tidemark/persistence';
import { backoffDelay, type JournalRecord, type ParkCode } from '@tidemark/contracts';
import { planBatch, type BatchItem, type BatchPlan, type StoredParkedEntry } from '@tidemark/merge';
import type { MergeFn, PartitionBy } from '@tidemark/merge';
import { DependencyUnavailableError, isWaitOut, type JsMsg, type MessageBatch } from '@tidemark/messaging';
import { isDependencyUnavailable } from '@tidemark/platform';
import { counter, histogram, type Logger } from '@tidemark/telemetry';
import { decode, markOf } from './journal-message';
import { projectionTables as tables } from '@tidemark/persistence';

/** Between tries of one message committed on its own (a batch isolated after failing whole). */
const ISOLATED_COMMIT_BACKOFF = { baseMs: 100, maxMs: 2000 };

export { decode, markOf } from './journal-message';
export type { MergeFn, ParkedMark } from '@tidemark/merge';

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
  /** After a commit that added to the change log: the workspaces it added to (merge-service sends the commit notice). */
  /** After a commit that added to the change log: per workspace, the scope keys its changes were in or left. */
  onCommitted?: (keysByWorkspace: ReadonlyMap<string, ReadonlySet<string>>) => void;
  /**
   * A Postgres schema holding its own copy of the projection tables (a replay's shadow): each transaction
   * starts with `SET LOCAL search_path TO "<schema>"`, so the same projector writes there. Only that
   * schema (and pg_catalog): a table missing from it is an error, never a write into the live one.
   */
  searchPath?: string;
  /**
   * `false` (a replay's shadow) leaves out what only live serves: the change log and the outbox (devices and
   * integrators are fed from live, and a swap writes its own changes from the shadow's entities) and the
   * devices' sequence progress (nothing reads a shadow's, and its rows, shared by every partition's batches,
   * would serialise them). Entities, receipts, decisions, conflicts, repairs, parked entries and asset
   * references are written as live writes them. Default `true`.
   */
  liveFeeds?: boolean;
  /** The fields of an entity type that hold asset references (`valueType: 'asset'`); none when absent. */
  assetFields?: (type: string) => readonly string[];
  /** The field that partitions an entity type for partial sync (undefined: not partitioned). */
  partition?: (type: string) => PartitionBy | undefined;
  /** The field that names a job type's queue (`queueBy`). */
  queueField?: (type: string) => string | undefined;
  /**
   * Whether this replica still holds the consumer's partition, checked through the parking transaction
   * (`q`): parking is a decision only the partition's owner may take. A replica that lost its claim (its
   * claim session died, another replica took the partition) parks nothing. Absent: always held (a replay's
   * shadow projector, tests).
   */
  holdsPartition?: (consumer: string, q: QueryRunner) => Promise<boolean>;
}

const applied = counter('tidemark_projected_events_total', 'journal events projected, by outcome', ['outcome']);
const batchSeconds = histogram('tidemark_projection_batch_seconds', 'time to apply one batch in one transaction', [], [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);
const parkedTotal = counter('tidemark_parked_total', 'journal messages parked for an operator, by code', ['code']);

const key = (workspace: string, type: string, id: string) => `${workspace}\u0000${type}\u0000${id}`;
const eventKey = (workspace: string, eventId: string) => `${workspace}\u0000${eventId}`;

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
          await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, ISOLATED_COMMIT_BACKOFF)));
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
        await postgresCheck(this.ds).check();
      } catch {
        throw new DependencyUnavailableError('postgres', error);
      }
      throw error;
    }
  }

  /**
   * One batch in one transaction: lock the partition's checkpoint, load what the batch's records and skip
   * markers read, plan the batch (`planBatch`, pure), write the plan table by table, advance the checkpoint,
   * and write the change log last.
   */
  async commit(consumer: string, messages: JsMsg[]): Promise<void> {
    const end = batchSeconds.startTimer();
    let wroteOutbox = false;
    let committed = new Map<string, Set<string>>();
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
      const checkpoint = await tables.lockCheckpoint(q, consumer);
      await this.options.ensurePolicies?.(q);
      const fresh = prepared.filter((p) => p.msg.seq > checkpoint);
      if (fresh.length === 0) return;
      const items: BatchItem[] = [];
      const bySeq = new Map<number, JsMsg>();
      for (const { msg, mark, decoded } of fresh) {
        if (mark?.action === 'skip') items.push({ seq: msg.seq, skip: mark });
        else if (decoded?.ok) {
          items.push({ seq: msg.seq, record: decoded.record, mark });
          bySeq.set(msg.seq, msg);
        } else await this.insertParked(q, consumer, msg, decoded?.reason ?? 'undecodable', 'undecodable', 1);
      }
      const plan = items.length > 0 ? await this.apply(q, consumer, items, bySeq) : undefined;
      await tables.advanceCheckpoint(q, consumer, fresh[fresh.length - 1]!.msg.seq);
      if (this.options.liveFeeds === false) return;
      wroteOutbox = (plan?.outbox.length ?? 0) > 0;
      // Everything above runs in parallel across partitions; the change log is written last, under its per-workspace lock.
      await tables.insertChanges(q, plan?.changes ?? []);
      committed = new Map();
      for (const c of plan?.changes ?? []) {
        const keys = committed.get(c.workspace) ?? new Set<string>();
        keys.add(c.scopeKey);
        if (c.movedFromKey !== null) keys.add(c.movedFromKey);
        committed.set(c.workspace, keys);
      }
    });
    end();
    if (committed.size > 0) this.options.onCommitted?.(committed);
    if (wroteOutbox) this.options.onOutbox?.();
  }

  private async useSearchPath(q: QueryRunner): Promise<void> {
    if (this.options.searchPath) await useSchemaLocally(q, this.options.searchPath);
  }

  /** Loads what the batch reads, plans it, and writes everything but the change log and the checkpoint. */
  private async apply(q: QueryRunner, consumer: string, items: BatchItem[], bySeq: Map<number, JsMsg>): Promise<BatchPlan> {
    const records = items.flatMap((item) => ('record' in item ? [item.record] : []));
    const receipts = await tables.readReceipts(
      q,
      records.map((r) => ({ eventId: r.event.eventId, workspace: r.workspace })),
    );
    const entityKeys = new Map<string, { workspace: string; type: string; id: string }>();
    for (const record of records)
      entityKeys.set(key(record.workspace, record.event.entity.type, record.event.entity.id), { workspace: record.workspace, type: record.event.entity.type, id: record.event.entity.id });
    const entities = await tables.readEntities(q, [...entityKeys.values()]);
    // The parked entries skip markers name, and their events' receipts when the batch did not load them.
    const parked: StoredParkedEntry[] = [];
    const read = new Set<number>();
    for (const item of items) {
      if (!('skip' in item) || read.has(item.skip.seq)) continue;
      read.add(item.skip.seq);
      const entry = await tables.readParkedEntry(q, consumer, item.skip.seq);
      if (entry) parked.push(entry);
    }
    const parkedReceipts: { eventId: string; workspace: string; status: string }[] = [];
    const loaded = new Set(receipts.map((r) => eventKey(r.workspace, r.eventId)));
    for (const { eventId, workspace } of parked) {
      if (!eventId || workspace === null || loaded.has(eventKey(workspace, eventId))) continue;
      loaded.add(eventKey(workspace, eventId));
      const status = await tables.readReceiptStatus(q, eventId, workspace);
      if (status !== undefined) parkedReceipts.push({ eventId, workspace, status });
    }

    const plan = planBatch({
      items,
      state: { receipts, entities, parked, parkedReceipts },
      merge: this.options.merge,
      assetFields: this.options.assetFields,
      partition: this.options.partition,
      queueField: this.options.queueField,
    });
    for (const outcome of plan.outcomes) applied.inc({ outcome });

    for (const step of plan.steps) {
      switch (step.kind) {
        case 'resolve':
          await tables.resolveParkedEntry(q, step.workspace, step.eventId, step.seq, step.resolution, step.note);
          break;
        case 'park': {
          const msg = bySeq.get(step.seq)!;
          this.countParked(consumer, msg, step.eventId, step.reason, step.code);
          await tables.insertParkedEntry(q, {
            consumer,
            seq: step.seq,
            record: { eventId: step.eventId, workspace: step.workspace },
            subject: msg.subject,
            reason: step.reason,
            code: step.code,
            attempts: 1,
            payload: msg.string(),
          });
          break;
        }
        case 'skip-entry':
          await tables.skipParkedEntry(q, consumer, step.entrySeq, step.seq, step.note);
          break;
        case 'skip-receipt':
          await tables.skipReceipt(q, step.eventId, step.workspace, step.reason);
          break;
        case 'skip-ignored':
          this.options.logger.warn({ consumer, markerConsumer: step.markerConsumer, seq: step.entrySeq, status: step.status }, 'skip marker for an entry that is not parked: nothing to skip');
          break;
        default:
          step satisfies never;
      }
    }
    if (plan.entities.length > 0) {
      await tables.upsertEntities(q, plan.entities);
      if (plan.assetRefs) await tables.replaceAssetRefs(q, plan.assetRefs);
    }
    await tables.insertReceipts(q, plan.receipts.inserted);
    await tables.updateReceipts(q, plan.receipts.updated);
    await tables.insertDuplicates(q, plan.duplicates);
    await tables.insertDecisions(q, plan.decisions);
    await tables.insertConflicts(q, plan.conflicts);
    await tables.resolveConflicts(q, plan.resolvedConflicts);
    await tables.insertRepairs(q, plan.repairs);
    if (this.options.liveFeeds === false) return plan;
    await tables.insertOutbox(q, plan.outbox);
    await tables.advanceDevices(q, plan.arrivals);
    return plan;
  }

  /**
   * Parks a message in its own transaction, moving the checkpoint past it so the partition flows on. Only
   * while this replica holds the partition: otherwise nothing is written and the failure is an outage of
   * the claim (the consumer waits until it is stopped or the claim is back).
   */
  async park(consumer: string, msg: JsMsg, reason: string, attempts: number): Promise<void> {
    await inTransaction(this.ds, async (q) => {
      await this.useSearchPath(q);
      const checkpoint = await tables.lockCheckpoint(q, consumer);
      if (msg.seq <= checkpoint) return;
      if (this.options.holdsPartition && !(await this.options.holdsPartition(consumer, q))) {
        throw new DependencyUnavailableError('partition-claim', new Error(`this replica no longer holds the partition of ${consumer}; parking nothing`));
      }
      await this.insertParked(q, consumer, msg, reason, 'failing', attempts);
      await tables.advanceCheckpoint(q, consumer, msg.seq);
    });
  }

  /** Parks a message that failed before merge (not a record, or failing): the record, when it is one, is parked like a merged one. */
  private async insertParked(q: QueryRunner, consumer: string, msg: JsMsg, reason: string, code: ParkCode, attempts: number): Promise<void> {
    const decoded = decode(msg);
    if (decoded.ok) {
      const record: JournalRecord = decoded.record;
      const { event: e, workspace, acceptedAt, site } = record;
      // A copy of an event already decided (applied, skipped …) keeps its receipt; a parked one takes the new reason.
      await tables.resolveParkedEntry(q, workspace, e.eventId, msg.seq, markOf(msg)?.action ?? 'retry', markOf(msg)?.reason ?? null);
      this.countParked(consumer, msg, e.eventId, reason, code);
      await tables.insertParkedEntry(q, { consumer, seq: msg.seq, record: { eventId: e.eventId, workspace }, subject: msg.subject, reason, code, attempts, payload: msg.string() });
      const inserted = await tables.upsertParkedReceipt(q, {
        eventId: e.eventId,
        workspace,
        deviceId: e.deviceId,
        deviceSeq: e.deviceSeq,
        entityType: e.entity.type,
        entityId: e.entity.id,
        reason,
        streamSeq: msg.seq,
        acceptedAt,
      });
      // Its first arrival: the device's progress counts it, as it counts an event parked by merge.
      if (inserted && this.options.liveFeeds !== false)
        await tables.advanceDevices(q, [{ workspace, deviceId: e.deviceId, seqs: [e.deviceSeq], acceptedAts: [acceptedAt], sites: site ? [{ seq: e.deviceSeq, site }] : [] }]);
      return;
    }
    this.options.logger.error({ consumer, seq: msg.seq, subject: msg.subject, reason, code }, 'parking journal message');
    parkedTotal.inc({ code });
    await tables.insertParkedEntry(q, { consumer, seq: msg.seq, record: undefined, subject: msg.subject, reason, code, attempts, payload: msg.string() });
  }

  /** Logs and counts a journal record being parked. */
  private countParked(consumer: string, msg: JsMsg, eventId: string, reason: string, code: ParkCode): void {
    this.options.logger.warn({ consumer, seq: msg.seq, subject: msg.subject, eventId, reason, code }, 'parking journal message');
    parkedTotal.inc({ code });
  }
}
