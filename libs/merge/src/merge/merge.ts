import { findSchema, type SchemaRegistry } from '../schema/registry';
import type { EntityTypeSchema } from '../schema/schema';
import { assertNever, compareText } from '../schema/own';
import { cloneJson } from '../schema/values';
import type { EntityState } from '../state/entity-state';
import { emptyState } from '../state/state';
import { decide, type Verdict } from './decide';
import { evolve } from './evolve';
import type { ConflictDraft, MergeInput, MergeProblem, MergeResult, RepairDraft } from './result';

function rejected(state: EntityState | undefined, problems: MergeProblem[]): MergeResult {
  return {
    decisions: [],
    conflicts: [],
    resolved: [],
    repairs: [],
    outcome: 'rejected',
    code: problems[0]!.code,
    reason: problems.map((problem) => problem.detail).join('; '),
    problems,
    state,
  };
}

function repairDraft(state: EntityState | undefined, input: MergeInput, code: RepairDraft['code'], reason: string): RepairDraft {
  const { event } = input;
  const last = state?.job?.history.at(-1);
  return {
    id: `${event.eventId}:job`,
    code,
    reason,
    entity: { type: event.entity.type, id: event.entity.id },
    workspace: input.workspace,
    acceptedAt: input.acceptedAt,
    streamSeq: input.streamSeq,
    current: state?.job
      ? { state: state.job.state, attempt: state.job.attempt, ...(last ? { eventId: last.eventId, deviceId: last.deviceId, hlc: { ...last.hlc }, version: last.version } : {}) }
      : { state: null, attempt: null },
    reported: { ...cloneJson(event.job!), eventId: event.eventId, deviceId: event.deviceId, hlc: { ...event.hlc } },
  };
}

/** Turns a verdict into the result: folds accepted facts into the next state and drafts conflicts. */
function settle(state: EntityState | undefined, input: MergeInput, verdict: Verdict): MergeResult {
  const { event } = input;
  switch (verdict.kind) {
    case 'reject':
      return rejected(state, verdict.problems);
    case 'noop':
      return { decisions: [], conflicts: [], resolved: [], repairs: [], outcome: 'noop', code: verdict.code, reason: verdict.reason, state };
    case 'repair':
      return { decisions: [], conflicts: [], resolved: [], repairs: [repairDraft(state, input, verdict.code, verdict.reason)], outcome: 'repair', reason: verdict.reason, state };
    case 'accept': {
      let next = state ?? emptyState(event.entity.type, event.entity.id);
      const conflicts: ConflictDraft[] = [];
      for (const fact of verdict.facts) {
        next = evolve(next, fact);
        if (fact.kind === 'conflict-opened') {
          conflicts.push({
            ...cloneJson(fact.conflict),
            entity: { type: event.entity.type, id: event.entity.id },
            workspace: input.workspace,
            acceptedAt: input.acceptedAt,
            streamSeq: input.streamSeq,
          });
        }
      }
      conflicts.sort((a, b) => compareText(a.id, b.id));
      const decisions = [...verdict.decisions].sort((a, b) => compareText(a.field, b.field));
      const combined = verdict.merged || decisions.some((d) => d.outcome === 'merged' || d.outcome === 'lost' || d.outcome === 'discarded');
      return {
        outcome: conflicts.length > 0 ? 'conflicted' : combined ? 'merged' : 'applied',
        ...(verdict.reason !== undefined ? { reason: verdict.reason } : {}),
        state: next,
        decisions,
        conflicts,
        resolved: [...verdict.resolved].sort(compareText),
        repairs: [],
      };
    }
    default:
      return assertNever(verdict, 'verdict');
  }
}

/**
 * Merges one journal event into one entity's state under the event's schema.
 *
 * Pure and deterministic: no clock, randomness or I/O; inputs are never mutated; the same state and
 * input always give the same result, byte for byte under `canonicalJson`. `state` is undefined for an
 * entity with no accepted event yet. A state for another entity is a caller bug and throws.
 *
 * Duplicates: an event whose eventId the state holds evidence of (see README, "Idempotence") is a
 * `noop`; beyond that evidence the caller must not deliver an accepted eventId twice.
 */
export function merge(state: EntityState | undefined, input: MergeInput, schema: EntityTypeSchema): MergeResult {
  const { event } = input;
  if (state && (state.type !== event.entity.type || state.id !== event.entity.id)) {
    throw new Error(`merge was given the state of ${state.type}/${state.id} for an event on ${event.entity.type}/${event.entity.id}`);
  }
  return settle(state, input, decide(state, event, schema));
}

/** `merge` with the schema looked up by the event's entity type and schema version; unknown ones are rejected. */
export function mergeWithRegistry(state: EntityState | undefined, input: MergeInput, registry: SchemaRegistry): MergeResult {
  const { event } = input;
  const found = findSchema(registry, event.entity.type, event.schemaVersion);
  if (!found.ok) return rejected(state, [{ pointer: found.code === 'unknown-entity-type' ? '/entity/type' : '/schemaVersion', code: found.code, detail: found.reason }]);
  return merge(state, input, found.schema);
}
