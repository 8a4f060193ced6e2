import type { FieldChange, HlcStamp, JobState } from '@tidemark/contracts';

/** Who wrote something and when, as carried by the event itself (independent of arrival order). */
export interface EventStamp {
  eventId: string;
  deviceId: string;
  hlc: HlcStamp;
}

/** An event stamp plus the entity version its event produced (arrival evidence). */
export interface VersionedStamp extends EventStamp {
  version: number;
}

/** `lww`: the value of the write with the greatest stamp. */
export interface LwwFieldState {
  policy: 'lww';
  value: unknown;
  stamp: EventStamp;
}

/** `counter`: the sum of every increment. */
export interface CounterFieldState {
  policy: 'counter';
  value: number;
}

/** `max` / `min`: the extreme value, stamped by the greatest stamp among the writes of that value. */
export interface ExtremumFieldState {
  policy: 'max' | 'min';
  value: number | string;
  stamp: EventStamp;
}

/** One add of a set element: the adding event and the entity version at which it arrived. */
export interface SetTag {
  eventId: string;
  deviceId: string;
  /** Entity version produced by the adding event: a remove with `baseVersion >= at` had seen this add. */
  at: number;
}

export interface SetElement {
  value: unknown;
  /** Live add tags, sorted by eventId. An element is present while it has at least one tag. */
  tags: SetTag[];
}

/** `set`: add-wins observed-remove set; elements sorted by their canonical JSON. */
export interface SetFieldState {
  policy: 'set';
  elements: SetElement[];
}

/** One appended value: the appending event and the value's position inside that event. */
export interface AppendItem extends EventStamp {
  index: number;
  value: unknown;
}

/** `append`: every appended value, ordered by (HLC wall, HLC counter, deviceId, eventId, index). */
export interface AppendFieldState {
  policy: 'append';
  items: AppendItem[];
}

/** A past value of a `review` field and the entity version that wrote it. */
export interface ReviewHistoryEntry {
  version: number;
  value: unknown;
}

/** `review`: the current value, who last changed it at which version, and a short history for conflict bases. */
export interface ReviewFieldState {
  policy: 'review';
  value: unknown;
  changed: VersionedStamp;
  /** Entity version that first wrote the field: a device whose baseVersion is older never saw it. */
  created: number;
  /** The latest values with the versions that wrote them, oldest first, at most `MERGE_LIMITS.reviewHistory`. */
  history: ReviewHistoryEntry[];
}

export type FieldState = LwwFieldState | CounterFieldState | ExtremumFieldState | SetFieldState | AppendFieldState | ReviewFieldState;

/** The delete that tombstoned the entity. */
export type Tombstone = VersionedStamp;

/** The value a conflicting device started from, as far as the field's history still knows it. */
export type ConflictBase = { kind: 'value'; value: unknown } | { kind: 'absent' } | { kind: 'unknown' };

/** The stored side of a conflict: the value in the projection and the change that wrote it. */
export interface ConflictOurs extends VersionedStamp {
  value: unknown;
}

/** The incoming side of a conflict: the value the event wanted and the version it had seen. */
export interface ConflictTheirs extends EventStamp {
  value: unknown;
  baseVersion: number;
}

/** Two devices changed a `review` field concurrently to different values. */
export interface FieldConflict {
  id: string;
  kind: 'field';
  rule: 'review:concurrent-edit';
  field: string;
  base: ConflictBase;
  ours: ConflictOurs;
  theirs: ConflictTheirs;
  /** The entity version produced by the event that opened it. */
  openedAt: number;
}

/** An edit arrived that had not seen the entity's delete, and the type says `review`. */
export interface DeleteConflict {
  id: string;
  kind: 'delete';
  rule: 'delete:edit-after-delete';
  /** Always `$entity`: the conflict is about the entity, not one field. */
  field: typeof ENTITY_FIELD;
  ours: Tombstone;
  theirs: EventStamp & { baseVersion: number; fields: Record<string, FieldChange> };
  openedAt: number;
}

export type OpenConflict = FieldConflict | DeleteConflict;

/** Pseudo field name used for entity-level conflicts (never a legal field name). */
export const ENTITY_FIELD = '$entity';

export interface JobHistoryEntry extends VersionedStamp {
  from: JobState | null;
  to: JobState;
  attempt: number;
  error?: string;
}

/** Where a job is in its state machine, and every accepted transition. */
export interface JobFacts {
  state: JobState;
  attempt: number;
  /** The error reported with the latest transition, when it carried one. */
  error?: string;
  history: JobHistoryEntry[];
}

/**
 * The projection of one entity. Plain JSON (stored as jsonb): every array is kept sorted by a rule that
 * does not depend on arrival order, so `canonicalJson(state)` is a function of the journal.
 */
export interface EntityState {
  type: string;
  id: string;
  /** +1 for every accepted event (outcome applied, merged or conflicted). */
  version: number;
  deleted: boolean;
  tombstone?: Tombstone;
  fields: Record<string, FieldState>;
  job?: JobFacts;
  /** Ids of open conflicts, sorted. */
  openConflicts: string[];
  /** The open conflicts by id (what a resolution needs: base, ours, theirs). */
  conflicts: Record<string, OpenConflict>;
  /**
   * The accepted events with the greatest stamps (at most `MERGE_LIMITS.recentEvents`), sorted by stamp:
   * the evidence that makes a redelivered event a no-op. Keeping the greatest stamps, not the latest
   * arrivals, makes the window a function of the set of events, whatever their order.
   */
  recent: EventStamp[];
}

/** What a device pulls. */
export interface EntityView {
  version: number;
  deleted: boolean;
  /** Field values by name (keys sorted); empty while the entity is deleted. */
  values: Record<string, unknown>;
  /** Fields with an open conflict (sorted); `$entity` for an open delete conflict. */
  inConflict: string[];
  job?: { state: JobState; attempt: number; error?: string };
}

/** Bounds on the evidence state keeps. */
export const MERGE_LIMITS = {
  /** Accepted events remembered for duplicate detection (those with the greatest stamps). */
  recentEvents: 64,
  /** Values remembered per `review` field to name a conflict's base. */
  reviewHistory: 4,
} as const;
