import type { DeviceEvent, EntityRef, FieldChange, HlcStamp, InvalidParam, JobState, JobTransition } from '@tidemark/contracts';
import type { PolicyName } from '../schema/schema';
import type { EntityState, OpenConflict } from '../state/entity-state';

/** One journal event as merge sees it: the device event plus what the journal knew. All time is input. */
export interface MergeInput {
  event: DeviceEvent;
  workspace: string;
  /** ISO-8601 time the gateway accepted the event; copied into drafts, never compared. */
  acceptedAt: string;
  /** The event's journal stream sequence; copied into drafts. */
  streamSeq: number;
}

/** What happened to one field change. */
export type FieldOutcome =
  /** Took effect as written. */
  | 'applied'
  /** Took effect, combined with changes the device had not seen (a concurrent add kept alive, an item placed before later ones). */
  | 'merged'
  /** Did not take effect: the stored value wins by the field's policy (an older lww stamp, a lower max). */
  | 'lost'
  /** Nothing to do: same value, element already absent. */
  | 'unchanged'
  /** Opened a conflict; the field keeps its value. */
  | 'conflicted'
  /** Not applied: the entity was deleted and the type's rule is delete-wins. */
  | 'discarded';

/** The rule that decided a field change. */
export type DecisionRule =
  | 'lww:first-write'
  | 'lww:newer-stamp'
  | 'lww:older-stamp'
  | 'counter:add'
  | 'max:first-write'
  | 'max:raised'
  | 'max:equal'
  | 'max:not-higher'
  | 'min:first-write'
  | 'min:lowered'
  | 'min:equal'
  | 'min:not-lower'
  | 'set:add'
  | 'set:observed-remove'
  | 'set:add-wins'
  | 'set:remove-absent'
  | 'append:at-end'
  | 'append:ordered-by-hlc'
  | 'append:already-present'
  | 'review:first-write'
  | 'review:saw-latest'
  | 'review:same-device'
  | 'review:same-value'
  | 'review:concurrent-edit'
  | 'delete:delete-wins'
  | 'delete:review'
  | 'resolve:ours'
  | 'resolve:theirs'
  | 'resolve:value';

/** The record of one field change: its inputs (before, change), its result (after) and why. */
export interface FieldDecision {
  field: string;
  policy: PolicyName;
  change: FieldChange;
  /** The field's value before (absent when the field had none). */
  before?: unknown;
  /** The field's value after (absent when the field has none). */
  after?: unknown;
  outcome: FieldOutcome;
  rule: DecisionRule;
  conflictId?: string;
}

/** A conflict to store and publish on the REVIEW stream. Its id is `${eventId}:${field}`. */
export type ConflictDraft = OpenConflict & {
  entity: EntityRef;
  workspace: string;
  /** The opening event's journal acceptance time and stream sequence. */
  acceptedAt: string;
  streamSeq: number;
};

export type RepairCode =
  /** The first transition of a job was not `queued`. */
  | 'not-queued'
  /** The job already reached succeeded, failed or cancelled. */
  | 'terminal-state'
  /** The reported attempt is older than the job's current attempt. */
  | 'stale-attempt'
  /** The state machine has no edge from the current state to the reported one. */
  | 'illegal-transition'
  /** The edge exists but the attempt number is not the one it requires. */
  | 'attempt-mismatch'
  /** A second device claims to be running the same attempt. */
  | 'duplicate-claim'
  /** The job entity is deleted. */
  | 'job-deleted';

/** An impossible job transition, parked for an operator with both facts side by side. Id: `${eventId}:job`. */
export interface RepairDraft {
  id: string;
  code: RepairCode;
  reason: string;
  entity: EntityRef;
  workspace: string;
  acceptedAt: string;
  streamSeq: number;
  /** What the projection holds (`state: null` when the job was never queued). */
  current: { state: JobState | null; attempt: number | null; eventId?: string; deviceId?: string; hlc?: HlcStamp; version?: number };
  /** What the device reported. */
  reported: JobTransition & { eventId: string; deviceId: string; hlc: HlcStamp };
}

export type RejectCode =
  | 'schema-mismatch'
  | 'unknown-entity-type'
  | 'unknown-schema-version'
  | 'invalid-event'
  | 'unknown-field'
  | 'unsupported-op'
  | 'invalid-value'
  | 'not-a-job'
  | 'conflict-not-open'
  | 'invalid-resolution';

/** One reason for a rejection, named by JSON pointer into the event. */
export interface MergeProblem extends InvalidParam {
  code: RejectCode;
}

export type NoopCode =
  /** The eventId was already accepted (evidence in the state). */
  | 'duplicate-event'
  /** A delete of an entity already deleted. */
  | 'already-deleted'
  /** The job already holds exactly the reported state and attempt. */
  | 'already-reported';

interface ResultParts {
  /** One decision per field change, sorted by field. */
  decisions: FieldDecision[];
  /** Conflicts this event opened, sorted by id. */
  conflicts: ConflictDraft[];
  /** Conflicts this event closed, sorted. */
  resolved: string[];
  repairs: RepairDraft[];
}

/**
 * The fate of one event. Accepted outcomes carry the next state (its version one higher); the others
 * carry the state they were given, unchanged (undefined for an entity that does not exist).
 *  - `applied`: accepted; every change took effect as written (commuting changes such as counter
 *    increments and set adds are `applied` even when concurrent: nothing was lost).
 *  - `merged`: accepted; shaped by changes the device had not seen: a field decision is `merged`, `lost`
 *    or `discarded` (a stale lww write, a lower max, an add kept alive against the remove, an item placed
 *    before later ones), or a delete rule decided the event.
 *  - `conflicted`: accepted; at least one conflict opened (other field changes still took effect).
 *  - `repair`: an impossible job transition; nothing applied, a repair item is drafted.
 *  - `noop`: nothing to do (a duplicate, a repeated fact).
 *  - `rejected`: invalid for the schema; nothing applied.
 */
export type MergeResult =
  | (ResultParts & { outcome: 'applied' | 'merged' | 'conflicted'; reason?: string; state: EntityState })
  | (ResultParts & { outcome: 'repair'; reason: string; state: EntityState | undefined })
  | (ResultParts & { outcome: 'noop'; code: NoopCode; reason: string; state: EntityState | undefined })
  | (ResultParts & { outcome: 'rejected'; code: RejectCode; reason: string; problems: MergeProblem[]; state: EntityState | undefined });

export type MergeOutcome = MergeResult['outcome'];
