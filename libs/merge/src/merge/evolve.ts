import { assertNever, compareText, sortRecord } from '../schema/own';
import type { EntityState } from '../state/entity-state';
import { remember } from '../state/state';
import type { MergeFact } from './facts';

/** Folds one fact into the state. Pure: returns a new state, shares what it does not change. */
export function evolve(state: EntityState, fact: MergeFact): EntityState {
  switch (fact.kind) {
    case 'event-accepted':
      return { ...state, version: state.version + 1, recent: remember(state.recent, fact.stamp) };
    case 'field-set':
      return { ...state, fields: sortRecord({ ...state.fields, [fact.field]: fact.state }) };
    case 'conflict-opened': {
      const { id } = fact.conflict;
      return {
        ...state,
        conflicts: sortRecord({ ...state.conflicts, [id]: fact.conflict }),
        openConflicts: [...state.openConflicts.filter((open) => open !== id), id].sort(compareText),
      };
    }
    case 'conflict-resolved': {
      const conflicts = sortRecord(Object.fromEntries(Object.entries(state.conflicts).filter(([id]) => id !== fact.conflictId)));
      return { ...state, conflicts, openConflicts: state.openConflicts.filter((id) => id !== fact.conflictId) };
    }
    case 'entity-deleted':
      return { ...state, deleted: true, tombstone: fact.tombstone };
    case 'entity-revived': {
      const { tombstone: _gone, ...rest } = state;
      return { ...rest, deleted: false };
    }
    case 'job-transitioned': {
      const { entry } = fact;
      return {
        ...state,
        job: {
          state: entry.to,
          attempt: entry.attempt,
          ...(entry.error !== undefined ? { error: entry.error } : {}),
          history: [...(state.job?.history ?? []), entry],
        },
      };
    }
    default:
      return assertNever(fact, 'merge fact');
  }
}
