import type { AppliedChange, ConflictOpened, ConflictResolved, ParkCode, ParkedAction, ParkedStatus } from '@tidemark/contracts';
import type { ConflictDraft, FieldDecision, FieldOutcome, DecisionRule, MergeOutcome, RepairCode } from '../merge/result';
import type { PolicyName } from '../schema/schema';
import type { EntityState, EntityView } from '../state/entity-state';

/** A receipt's status: the merge outcome, `duplicate` for a copy of an accepted event, or the parking's. */
export type ReceiptStatus = MergeOutcome | 'duplicate' | 'parked' | 'skipped';

/** An `entities` row: the entity's state and view after the batch. */
export interface EntityRow {
  workspace: string;
  entityType: string;
  entityId: string;
  version: number;
  deleted: boolean;
  state: EntityState;
  view: EntityView;
  /** Where the record sits for partial sync (`scopeKey` of @tidemark/contracts). */
  scopeKey: string;
  lastEventId: string;
  lastStreamSeq: number;
  /** A job's facts for per-queue figures (`jobColumnsOf`); all null for an entity that is not a live job. */
  jobQueue: string | null;
  jobState: string | null;
  jobAttempt: number | null;
  /** When the job entered its state: the HLC wall of that transition, ISO-8601. */
  jobSince: string | null;
}

/** A `change_log` row: one accepted event's view of its entity, what devices pull. */
export interface ChangeRow {
  workspace: string;
  entityType: string;
  entityId: string;
  version: number;
  deleted: boolean;
  view: EntityView;
  /** The record's scope key after this change. */
  scopeKey: string;
  /** The record's scope key before this change, when the change moved it (null otherwise): its old scope's devices drop it. */
  movedFromKey: string | null;
  eventId: string;
  deviceId: string;
  streamSeq: number;
}

/** An `event_receipts` row: where an event stands, keyed (eventId, workspace). */
export interface ReceiptRow {
  eventId: string;
  workspace: string;
  deviceId: string;
  deviceSeq: number;
  entityType: string;
  entityId: string;
  status: ReceiptStatus;
  reason: string | null;
  streamSeq: number;
  /** The entity's version the event produced; null unless it was accepted. */
  version: number | null;
  acceptedAt: string;
}

/** A `journal_duplicates` row: a copy of an event whose fate was already decided. */
export interface DuplicateRow {
  streamSeq: number;
  eventId: string;
  workspace: string;
  deviceId: string;
}

/**
 * A `merge_decisions` row: an accepted event's field decisions, in the merge's order (a decision's `idx` is
 * its position), one row per event. An event that decided no field has no row.
 */
export interface DecisionRow {
  eventId: string;
  workspace: string;
  entityType: string;
  entityId: string;
  streamSeq: number;
  /** Stored as `StoredDecision` tuples (`storeDecision`). */
  decisions: FieldDecision[];
}

/** A `conflicts` row: a conflict an accepted event opened. */
export interface ConflictRow {
  conflictId: string;
  workspace: string;
  entityType: string;
  entityId: string;
  field: string;
  kind: ConflictDraft['kind'];
  rule: ConflictDraft['rule'];
  status: 'open';
  /** The draft without its id, kind, rule and field. */
  detail: Record<string, unknown>;
  openedEventId: string;
  openedSeq: number;
  openedAcceptedAt: string;
}

/** An open conflict an accepted event closed. */
export interface ConflictResolution {
  conflictId: string;
  workspace: string;
  eventId: string;
  streamSeq: number;
}

/** A `repairs` row: an impossible job transition with both facts. */
export interface RepairRow {
  repairId: string;
  workspace: string;
  entityType: string;
  entityId: string;
  code: RepairCode;
  reason: string;
  detail: { current: unknown; reported: unknown };
  eventId: string;
  streamSeq: number;
}

/** What the MERGED stream carries for an accepted event: the published schema (`@tidemark/contracts`, `AppliedChange`). */
export type MergedMessage = AppliedChange;

/** What the REVIEW stream carries when an event opens or closes a conflict: the published schemas. */
export type ReviewMessage = ConflictOpened | ConflictResolved;

/**
 * An `outbox` row. Its id is derived from what it reports (`msgId`), so a rebuild never publishes a
 * second copy. `headers` name the payload's schema version (`tm-schema-version`).
 */
export type OutboxRow = { subject: string; msgId: string; headers: Record<string, string> } & ({ payload: MergedMessage } | { payload: ReviewMessage });

// The published enumerations are exactly the merge engine's: a rule, policy or outcome added to one and not
// the other fails to compile here, not in an integrator's consumer.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Decision = AppliedChange['decisions'][number];
export const PUBLISHED_ENUMS_MATCH: [
  Same<Decision['rule'], DecisionRule>,
  Same<Decision['policy'], PolicyName>,
  Same<Decision['outcome'], FieldOutcome>,
  Same<AppliedChange['outcome'], Extract<MergeOutcome, 'applied' | 'merged' | 'conflicted'>>,
] = [true, true, true, true];

/** An `entity_assets` row: one asset reference an entity holds. */
export interface EntityAssetRow {
  workspace: string;
  entityType: string;
  entityId: string;
  field: string;
  sha256: string;
}

/** The asset references of the changed entities that have asset fields: what they held is replaced by `rows`. */
export interface AssetRefsWrite {
  entities: { workspace: string; entityType: string; entityId: string }[];
  rows: EntityAssetRow[];
}

/** A device's first-seen events in a batch: their sequences, acceptance times and sites (in journal order). */
export interface DeviceArrivals {
  workspace: string;
  deviceId: string;
  seqs: number[];
  acceptedAts: string[];
  sites: { seq: number; site: string }[];
}

/**
 * A write to a parked entry or to a receipt outside the batch's receipt rows, in journal order (a later
 * step may depend on an earlier one: a skip marker for an entry parked earlier in the batch).
 */
export type ParkedStep =
  /** The event's open entry (one parked before `seq`) is resolved by the copy at `seq`. */
  | { kind: 'resolve'; workspace: string; eventId: string; seq: number; resolution: ParkedAction | 'retry'; note: string | null }
  /** The record at `seq` is parked as a new entry (its receipt is among the batch's receipt rows). */
  | { kind: 'park'; seq: number; workspace: string; eventId: string; reason: string; code: ParkCode }
  /** The entry at `entrySeq` becomes `skipped` by the marker at `seq`, while it is parked. */
  | { kind: 'skip-entry'; entrySeq: number; seq: number; note: string | null }
  /** A stored receipt of the skipped entry's event becomes `skipped`, while it is parked. */
  | { kind: 'skip-receipt'; workspace: string; eventId: string; reason: string }
  /** A skip marker whose entry is not parked (absent, re-driven, skipped already): nothing is written. */
  | { kind: 'skip-ignored'; entrySeq: number; markerConsumer: string; status: ParkedStatus | null };
