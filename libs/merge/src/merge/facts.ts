import type { EventStamp, FieldState, JobHistoryEntry, OpenConflict, Tombstone } from '../state/entity-state';

/**
 * What a decision changes, as a list of facts `evolve` folds into the state one by one. Facts are
 * internal: the public record of a merge is its `MergeResult`.
 */
export type MergeFact =
  /** The event joins the entity's history: version + 1, remembered for duplicate detection. */
  | { kind: 'event-accepted'; stamp: EventStamp }
  | { kind: 'field-set'; field: string; state: FieldState }
  | { kind: 'conflict-opened'; conflict: OpenConflict }
  | { kind: 'conflict-resolved'; conflictId: string }
  | { kind: 'entity-deleted'; tombstone: Tombstone }
  | { kind: 'entity-revived' }
  | { kind: 'job-transitioned'; entry: JobHistoryEntry };
