import { canonicalJson } from '@tidemark/contracts/core';
import { assertNever, own, sortedKeys } from '../schema/own';
import { cloneJson } from '../schema/values';
import { ENTITY_FIELD, MERGE_LIMITS, type EntityState, type EntityView, type EventStamp, type FieldState } from './entity-state';
import { compareStamps, stampOf } from './order';

/** The state an entity has before its first event. */
export function emptyState(type: string, id: string): EntityState {
  return { type, id, version: 0, deleted: false, fields: {}, openConflicts: [], conflicts: {}, recent: [] };
}

/** The value a device sees for one field. */
export function fieldValue(field: FieldState): unknown {
  switch (field.policy) {
    case 'lww':
    case 'counter':
    case 'max':
    case 'min':
    case 'review':
      return field.value;
    case 'set':
      return field.elements.map((element) => element.value);
    case 'append':
      return field.items.map((item) => item.value);
    default:
      return assertNever(field, 'field state');
  }
}

/** What devices pull: version, deleted flag, field values (keys sorted), fields in conflict, job facts. */
export function view(state: EntityState): EntityView {
  const values: Record<string, unknown> = {};
  if (!state.deleted) for (const name of sortedKeys(state.fields)) values[name] = cloneJson(fieldValue(state.fields[name]!));
  const inConflict = [...new Set(state.openConflicts.map((id) => own(state.conflicts, id)?.field ?? ENTITY_FIELD))].sort();
  const result: EntityView = { version: state.version, deleted: state.deleted, values, inConflict };
  if (state.job) result.job = { state: state.job.state, attempt: state.job.attempt, ...(state.job.error !== undefined ? { error: state.job.error } : {}) };
  return result;
}

/** Adds an accepted event to the recent window, keeping the `recentEvents` greatest stamps. */
export function remember(recent: readonly EventStamp[], stamp: EventStamp): EventStamp[] {
  const next = [...recent, stampOf(stamp)].sort(compareStamps);
  return next.length > MERGE_LIMITS.recentEvents ? next.slice(next.length - MERGE_LIMITS.recentEvents) : next;
}

/**
 * True when the state holds evidence that this event was already accepted: it is in the recent window,
 * or its eventId stamps a field value, a set tag, an appended item, a job transition, the tombstone or an
 * open conflict. Counter increments and losing writes leave no trace beyond the window; for those the
 * caller's unique eventId (the projector's receipts) is the guarantee.
 */
export function hasAccepted(state: EntityState, eventId: string): boolean {
  if (state.recent.some((stamp) => stamp.eventId === eventId)) return true;
  if (state.tombstone?.eventId === eventId) return true;
  if (state.job?.history.some((entry) => entry.eventId === eventId)) return true;
  for (const id of state.openConflicts) if (own(state.conflicts, id)?.theirs.eventId === eventId) return true;
  for (const name of sortedKeys(state.fields)) {
    const field = state.fields[name]!;
    switch (field.policy) {
      case 'lww':
      case 'max':
      case 'min':
        if (field.stamp.eventId === eventId) return true;
        break;
      case 'review':
        if (field.changed.eventId === eventId) return true;
        break;
      case 'set':
        if (field.elements.some((element) => element.tags.some((tag) => tag.eventId === eventId))) return true;
        break;
      case 'append':
        if (field.items.some((item) => item.eventId === eventId)) return true;
        break;
      case 'counter':
        break;
      default:
        assertNever(field, 'field state');
    }
  }
  return false;
}

/** Canonical JSON of a value (the identity of set elements and the equality of review values). */
export function keyOf(value: unknown): string {
  return canonicalJson(value);
}
