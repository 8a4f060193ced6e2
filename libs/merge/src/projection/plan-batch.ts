import type { JournalRecord, MESSAGE_SCHEMA_VERSIONS, ParkCode, ParkedAction, ParkedStatus, SCHEMA_VERSION_HEADER } from '@tidemark/contracts';
import { mergedSubject, reviewSubject, scopeKey } from '@tidemark/contracts/core';
import type { MergeInput, MergeResult } from '../merge/result';
import { assetRefsOf } from '../schema/assets';
import { recordPartition } from '../schema/partition';
import type { PartitionBy } from '../schema/schema';
import { jobColumnsOf } from './job-columns';
import { intakeOf, parkingOf, planParked, skipDecision } from '../schema/parking';
import type { EntityState } from '../state/entity-state';
import { view } from '../state/state';
import type {
  AssetRefsWrite,
  ChangeRow,
  ConflictResolution,
  ConflictRow,
  DecisionRow,
  DeviceArrivals,
  DuplicateRow,
  EntityRow,
  OutboxRow,
  ParkedStep,
  ReceiptRow,
  ReceiptStatus,
  RepairRow,
} from './rows';

// The payload schema versions of the published messages (`tm-schema-version`): see @tidemark/contracts' messages.
const MERGED_HEADERS = { 'tm-schema-version': '1' } as const satisfies Record<typeof SCHEMA_VERSION_HEADER, `${(typeof MESSAGE_SCHEMA_VERSIONS)['mergedChange']}`>;
const OPENED_HEADERS = { 'tm-schema-version': '1' } as const satisfies Record<typeof SCHEMA_VERSION_HEADER, `${(typeof MESSAGE_SCHEMA_VERSIONS)['conflictOpened']}`>;
const RESOLVED_HEADERS = { 'tm-schema-version': '1' } as const satisfies Record<typeof SCHEMA_VERSION_HEADER, `${(typeof MESSAGE_SCHEMA_VERSIONS)['conflictResolved']}`>;

/** The merge a projection applies: pure, so the same journal always gives the same projection. */
export type MergeFn = (current: EntityState | undefined, input: MergeInput) => MergeResult;

/** An operator's action on a parked entry, as the journal message carrying it says. */
export interface ParkedMark {
  action: ParkedAction;
  /** The live consumer the marker was published for. */
  consumer: string;
  /** The parked entry's stream sequence. */
  seq: number;
  reason: string | null;
}

/** A journal message of a batch, in stream order: a record to merge, or a skip marker for a parked entry. */
export type BatchItem = { seq: number; record: JournalRecord; mark: ParkedMark | undefined } | { seq: number; skip: ParkedMark };

/** A parked entry of the batch's consumer as stored before the batch (only those a skip marker names are needed). */
export interface StoredParkedEntry {
  seq: number;
  eventId: string | null;
  workspace: string | null;
  status: ParkedStatus;
}

/** What the projection held before the batch, for the batch's records and skip markers. */
export interface BatchState {
  /** The receipts of the batch's records' events. */
  receipts: readonly { eventId: string; workspace: string; status: string }[];
  /** The stored state of the batch's entities (absent: the entity does not exist yet). */
  entities: readonly { workspace: string; entityType: string; entityId: string; state: EntityState }[];
  /** The parked entries the batch's skip markers name (absent: no such entry). */
  parked: readonly StoredParkedEntry[];
  /** The receipts of those entries' events, when they are not among `receipts`. */
  parkedReceipts: readonly { eventId: string; workspace: string; status: string }[];
}

export interface BatchPlanInput {
  items: readonly BatchItem[];
  state: BatchState;
  merge: MergeFn;
  /** The fields of an entity type that hold asset references; asset references are not tracked when absent. */
  assetFields?: (type: string) => readonly string[];
  /** What partitions an entity type for partial sync (`partitionBy`); undefined: not partitioned. */
  partition?: (type: string) => PartitionBy | undefined;
  /** The field that names a job type's queue (`queueBy`); undefined: the type declares none. */
  queueField?: (type: string) => string | undefined;
}

/**
 * Everything a batch writes, per table. Rows keep the order in which they are to be written; `steps` are
 * written first, in journal order, the rows after them.
 */
export interface BatchPlan {
  /** Each record's fate (the receipt status, or `duplicate`), in journal order: what the projection counts. */
  outcomes: ReceiptStatus[];
  steps: ParkedStep[];
  /** Upserts of the entities the batch changed, each with its final state. */
  entities: EntityRow[];
  /** Present when a changed entity has asset fields. */
  assetRefs: AssetRefsWrite | undefined;
  /** New receipts, and receipts that existed before the batch (a parked event re-driven, or skipped). */
  receipts: { inserted: ReceiptRow[]; updated: ReceiptRow[] };
  duplicates: DuplicateRow[];
  decisions: DecisionRow[];
  conflicts: ConflictRow[];
  resolvedConflicts: ConflictResolution[];
  repairs: RepairRow[];
  outbox: OutboxRow[];
  /** The devices' first-seen events, one entry per (workspace, device) in order of first appearance. */
  arrivals: DeviceArrivals[];
  /** Change-log rows in journal order (written last, under the per-workspace lock). */
  changes: ChangeRow[];
}

/** A receipt's status: the merge outcome, with a duplicate named as such. */
function receiptStatus(result: MergeResult): ReceiptStatus {
  if (result.outcome === 'noop') return result.code === 'duplicate-event' ? 'duplicate' : 'noop';
  return result.outcome;
}

const entityKey = (workspace: string, type: string, id: string) => `${workspace}\u0000${type}\u0000${id}`;
/** An event's identity: eventIds are the devices', so the same id in two workspaces is two unrelated events. */
const eventKey = (workspace: string, eventId: string) => `${workspace}\u0000${eventId}`;

/**
 * Plans one batch of a partition: merges its records in journal order over the stored state and says
 * what to write. Pure: the same input always gives the same plan (no clock, no ids of its own).
 *
 * - An event whose receipt is decided (`intakeOf` → duplicate) is recorded as a duplicate, never applied.
 * - A first arrival counts toward its device's progress; a re-drive of a parked event does not.
 * - A record the registry cannot merge yet is parked (a new entry, receipt `parked`); a re-drive resolves
 *   the event's open entry first.
 * - A skip marker skips its entry, and the event's receipt, while they are parked.
 * - Several events of one entity merge one over the other; the entity row holds the last state.
 *
 * Parked entries change during the batch (parked, resolved, skipped) and a skip marker reads them: the
 * plan follows the stored entries it was given through the batch's own steps.
 */
export function planBatch(input: BatchPlanInput): BatchPlan {
  const { items, state, merge, assetFields, partition, queueField } = input;
  // Each changed entity's scope key as the batch leaves it (the stored one is derived from its stored state).
  const scopeKeys = new Map<string, string>();
  const keyOf = (type: string, id: string, state: EntityState, previous: string | undefined): string => {
    // A tombstone stays where the record was, so the devices that held it learn of the delete.
    if (state.deleted && previous !== undefined) return previous;
    const rule = partition?.(type);
    return rule === undefined ? scopeKey(type) : scopeKey(type, recordPartition(rule, id, view(state).values));
  };
  // Each event's receipt status, by (workspace, eventId), as the batch goes: a parked one is not "seen" (a re-drive applies it).
  const known = new Map<string, string>(state.receipts.map((r) => [eventKey(r.workspace, r.eventId), r.status]));
  const stored = new Set(known.keys());
  const storedElsewhere = new Map(state.parkedReceipts.map((r) => [eventKey(r.workspace, r.eventId), r.status]));
  // The parked entries a skip marker may read, as the batch's steps leave them.
  const parked = new Map<number, Omit<StoredParkedEntry, 'seq'>>(state.parked.map(({ seq, ...entry }) => [seq, { ...entry }]));
  const current = new Map<string, EntityState>(state.entities.map((e) => [entityKey(e.workspace, e.entityType, e.entityId), e.state]));

  const plan: BatchPlan = {
    outcomes: [],
    steps: [],
    entities: [],
    assetRefs: undefined,
    receipts: { inserted: [], updated: [] },
    duplicates: [],
    decisions: [],
    conflicts: [],
    resolvedConflicts: [],
    repairs: [],
    outbox: [],
    arrivals: [],
    changes: [],
  };
  const changed = new Map<string, EntityRow>();
  const receipts = new Map<string, { row: ReceiptRow; stored: boolean }>();
  const devices = new Map<string, DeviceArrivals>();

  for (const item of items) {
    if ('skip' in item) {
      skip(item.seq, item.skip);
      continue;
    }
    const { seq, record, mark } = item;
    const { event, workspace } = record;
    const ek = eventKey(workspace, event.eventId);
    const intake = intakeOf(known.get(ek));
    if (intake === 'duplicate') {
      plan.duplicates.push({ streamSeq: seq, eventId: event.eventId, workspace, deviceId: event.deviceId });
      plan.outcomes.push('duplicate');
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
    const k = entityKey(workspace, event.entity.type, event.entity.id);
    const result = merge(current.get(k), { event, workspace, acceptedAt: record.acceptedAt, streamSeq: seq });
    const parkedPlan = planParked(intake, parkingOf(result), mark?.action);
    const status: ReceiptStatus = parkedPlan.park ? 'parked' : receiptStatus(result);
    plan.outcomes.push(status);
    const accepted = !parkedPlan.park && (result.outcome === 'applied' || result.outcome === 'merged' || result.outcome === 'conflicted');
    known.set(ek, status);
    receipts.set(ek, {
      row: {
        eventId: event.eventId,
        workspace,
        deviceId: event.deviceId,
        deviceSeq: event.deviceSeq,
        entityType: event.entity.type,
        entityId: event.entity.id,
        status,
        reason: parkedPlan.park ? parkedPlan.park.reason : (result.reason ?? null),
        streamSeq: seq,
        version: accepted ? result.state.version : null,
        acceptedAt: record.acceptedAt,
      },
      stored: stored.has(ek),
    });
    if (parkedPlan.resolveOpen) {
      plan.steps.push({ kind: 'resolve', workspace, eventId: event.eventId, seq, resolution: parkedPlan.resolveOpen.resolution, note: mark?.reason ?? null });
      for (const [entrySeq, entry] of parked) {
        if (entry.eventId === event.eventId && entry.workspace === workspace && entry.status === 'parked' && entrySeq < seq) entry.status = 'redriven';
      }
    }
    if (parkedPlan.park) {
      plan.steps.push({ kind: 'park', seq, workspace, eventId: event.eventId, reason: parkedPlan.park.reason, code: parkedPlan.park.code as ParkCode });
      if (!parked.has(seq)) parked.set(seq, { eventId: event.eventId, workspace, status: 'parked' });
      continue;
    }
    for (const repair of result.repairs) {
      plan.repairs.push({
        repairId: repair.id,
        workspace,
        entityType: event.entity.type,
        entityId: event.entity.id,
        code: repair.code,
        reason: repair.reason,
        detail: { current: repair.current, reported: repair.reported },
        eventId: event.eventId,
        streamSeq: seq,
      });
    }
    if (!accepted) continue;
    const next = result.state;
    const shown = view(next);
    const before = current.get(k);
    const previousKey = scopeKeys.get(k) ?? (before === undefined ? undefined : keyOf(event.entity.type, event.entity.id, before, undefined));
    const key = keyOf(event.entity.type, event.entity.id, next, previousKey);
    scopeKeys.set(k, key);
    current.set(k, next);
    changed.set(k, {
      workspace,
      entityType: event.entity.type,
      entityId: event.entity.id,
      version: next.version,
      deleted: next.deleted,
      state: next,
      view: shown,
      scopeKey: key,
      lastEventId: event.eventId,
      lastStreamSeq: seq,
      ...jobColumnsOf(next, queueField?.(event.entity.type)),
    });
    plan.changes.push({
      workspace,
      entityType: event.entity.type,
      entityId: event.entity.id,
      version: next.version,
      deleted: next.deleted,
      view: shown,
      scopeKey: key,
      movedFromKey: previousKey !== undefined && previousKey !== key ? previousKey : null,
      eventId: event.eventId,
      deviceId: event.deviceId,
      streamSeq: seq,
    });
    if (result.decisions.length > 0) {
      plan.decisions.push({ eventId: event.eventId, workspace, entityType: event.entity.type, entityId: event.entity.id, streamSeq: seq, decisions: result.decisions });
    }
    for (const c of result.conflicts) {
      const { id, kind, rule, field, ...detail } = c;
      plan.conflicts.push({
        conflictId: id,
        workspace,
        entityType: event.entity.type,
        entityId: event.entity.id,
        field,
        kind,
        rule,
        status: 'open',
        detail,
        openedEventId: event.eventId,
        openedSeq: seq,
        openedAcceptedAt: record.acceptedAt,
      });
      plan.outbox.push({
        subject: reviewSubject(workspace, event.entity, 'opened'),
        payload: { kind: 'conflict.opened', conflict: c },
        msgId: `conflict-opened-${workspace}-${id}`,
        headers: OPENED_HEADERS,
      });
    }
    for (const id of result.resolved) {
      plan.resolvedConflicts.push({ conflictId: id, eventId: event.eventId, streamSeq: seq, workspace });
      plan.outbox.push({
        subject: reviewSubject(workspace, event.entity, 'resolved'),
        payload: { kind: 'conflict.resolved', conflictId: id, workspace, entity: event.entity, eventId: event.eventId, version: next.version },
        msgId: `conflict-resolved-${workspace}-${id}`,
        headers: RESOLVED_HEADERS,
      });
    }
    plan.outbox.push({
      subject: mergedSubject(workspace, event.entity),
      payload: {
        workspace,
        entity: event.entity,
        version: next.version,
        deleted: next.deleted,
        view: shown,
        eventId: event.eventId,
        deviceId: event.deviceId,
        streamSeq: seq,
        outcome: result.outcome,
        decisions: result.decisions.map((d) => ({ field: d.field, policy: d.policy, rule: d.rule, outcome: d.outcome })),
      },
      msgId: `merged-${workspace}-${event.eventId}`,
      headers: MERGED_HEADERS,
    });
  }

  plan.entities = [...changed.values()];
  plan.assetRefs = assetRefsWrite(plan.entities, assetFields);
  for (const { row, stored: existed } of receipts.values()) (existed ? plan.receipts.updated : plan.receipts.inserted).push(row);
  plan.arrivals = [...devices.values()];
  return plan;

  /**
   * A skip marker at `seq`: its entry becomes `skipped` while it is `parked`, and so does the receipt of the
   * entry's event while that is `parked` (a receipt this batch writes is changed in place).
   */
  function skip(seq: number, marker: ParkedMark): void {
    const entry = parked.get(marker.seq);
    const ek = entry?.eventId && entry.workspace !== null ? eventKey(entry.workspace, entry.eventId) : undefined;
    const receipt = ek ? (known.get(ek) ?? storedElsewhere.get(ek)) : undefined;
    const decision = skipDecision(entry?.status, receipt);
    if (!entry || !decision.entry) {
      plan.steps.push({ kind: 'skip-ignored', entrySeq: marker.seq, markerConsumer: marker.consumer, status: entry?.status ?? null });
      return;
    }
    plan.steps.push({ kind: 'skip-entry', entrySeq: marker.seq, seq, note: marker.reason });
    entry.status = 'skipped';
    if (!decision.receipt || !entry.eventId || entry.workspace === null || !ek) return;
    const reason = `skipped by an operator${marker.reason ? `: ${marker.reason}` : ''}`;
    const pending = receipts.get(ek);
    if (pending) {
      pending.row.status = 'skipped';
      pending.row.reason = reason;
    } else {
      plan.steps.push({ kind: 'skip-receipt', workspace: entry.workspace, eventId: entry.eventId, reason });
    }
    known.set(ek, 'skipped');
  }
}

/**
 * The asset references each changed entity holds now, replacing what it held: a function of the entity's
 * final state in the batch, so the table is as deterministic as the entities themselves.
 */
function assetRefsWrite(entities: readonly EntityRow[], fieldsOf: ((type: string) => readonly string[]) | undefined): AssetRefsWrite | undefined {
  if (!fieldsOf || entities.length === 0) return undefined;
  const touched = entities.map((e) => ({ e, fields: fieldsOf(e.entityType) })).filter((t) => t.fields.length > 0);
  if (touched.length === 0) return undefined;
  return {
    entities: touched.map(({ e }) => ({ workspace: e.workspace, entityType: e.entityType, entityId: e.entityId })),
    rows: touched.flatMap(({ e, fields }) =>
      assetRefsOf(e.view.values, fields).map((ref) => ({ workspace: e.workspace, entityType: e.entityType, entityId: e.entityId, field: ref.field, sha256: ref.sha256 })),
    ),
  };
}
