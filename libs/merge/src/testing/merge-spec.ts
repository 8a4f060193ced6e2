// Given / when / then for merge rules (after emmett's DeciderSpecification), with the invariants every
// merge must keep checked on every step: inputs are not mutated (they are frozen), the result is
// deterministic, the state survives a JSON round trip, and an accepted event applied again is a no-op.
import assert from 'node:assert/strict';
import { canonicalJson, type DeviceEvent } from '@tidemark/contracts';
import { merge, mergeWithRegistry } from '../merge/merge';
import type { ConflictDraft, FieldDecision, MergeOutcome, MergeResult, RepairDraft } from '../merge/result';
import type { SchemaRegistry } from '../schema/registry';
import type { EntityTypeSchema } from '../schema/schema';
import type { EntityState, EntityView } from '../state/entity-state';
import { view } from '../state/state';
import { deepFreeze, inputOf } from './events';

export interface Expectation {
  outcome?: MergeOutcome;
  code?: string;
  reason?: RegExp;
  /** The view's values. */
  values?: Record<string, unknown>;
  /** Members of the view (compared one by one). */
  view?: Partial<EntityView>;
  /** Each expected decision's members, in order (the lists must have the same length). */
  decisions?: Partial<FieldDecision>[];
  conflicts?: Partial<ConflictDraft>[];
  repairs?: Partial<RepairDraft>[];
  resolved?: string[];
  /** Any further check on the resulting state. */
  state?: (state: EntityState | undefined) => void;
}

type Target = EntityTypeSchema | SchemaRegistry;

function run(target: Target, state: EntityState | undefined, event: DeviceEvent, streamSeq: number): MergeResult {
  const input = deepFreeze(structuredClone(inputOf(event, streamSeq)));
  const frozen = state === undefined ? undefined : deepFreeze(state);
  return 'schemas' in target ? mergeWithRegistry(frozen, input, target) : merge(frozen, input, target);
}

function matchMembers(actual: unknown, expected: object, what: string): void {
  for (const [key, value] of Object.entries(expected)) {
    assert.deepStrictEqual((actual as Record<string, unknown>)[key], value, `${what}.${key}`);
  }
}

function matchList(actual: readonly object[], expected: readonly object[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: expected ${expected.length}, got ${JSON.stringify(actual, null, 1)}`);
  expected.forEach((item, index) => matchMembers(actual[index], item, `${what}[${index}]`));
}

/** Folds events into a state; a rejected event in a `given` is a broken test and throws. */
export function replay(target: Target, events: readonly DeviceEvent[], start?: EntityState): EntityState | undefined {
  let state = start;
  events.forEach((event, index) => {
    const result = run(target, state, event, index + 1);
    if (result.outcome === 'rejected') throw new Error(`given event #${index + 1} (${event.eventId}) was rejected: ${result.reason}`);
    state = result.state;
  });
  return state;
}

/** Checks the invariants of one merge step and returns its result. */
export function checkedMerge(target: Target, state: EntityState | undefined, event: DeviceEvent, streamSeq = 1): MergeResult {
  const result = run(target, state, event, streamSeq);
  const again = run(target, state, event, streamSeq);
  assert.equal(canonicalJson(again), canonicalJson(result), 'merge is deterministic');
  if (result.state !== undefined) {
    assert.deepStrictEqual(JSON.parse(JSON.stringify(result.state)), result.state, 'state survives a JSON round trip');
  }
  if (result.outcome === 'rejected' || result.outcome === 'noop' || result.outcome === 'repair') {
    assert.equal(result.state, state, `a ${result.outcome} result carries the state it was given`);
  }
  if (result.outcome === 'applied' || result.outcome === 'merged' || result.outcome === 'conflicted') {
    assert.equal(result.state.version, (state?.version ?? 0) + 1, 'an accepted event adds one version');
    const twice = run(target, result.state, event, streamSeq);
    assert.equal(twice.outcome, 'noop', 'an accepted event applied again is a no-op');
    assert.equal(canonicalJson(twice.state), canonicalJson(result.state), 'applying twice equals applying once');
  }
  return result;
}

export function mergeSpec(target: Target) {
  return {
    given(...history: DeviceEvent[]) {
      return {
        when(event: DeviceEvent) {
          return {
            then(expected: Expectation): MergeResult {
              const state = replay(target, history);
              const result = checkedMerge(target, state, event, history.length + 1);
              const detail = result.reason ? ` (${result.reason})` : '';
              if (expected.outcome) assert.equal(result.outcome, expected.outcome, `outcome${detail}`);
              if (expected.code) assert.equal((result as { code?: string }).code, expected.code, `code${detail}`);
              if (expected.reason) assert.match(result.reason ?? '', expected.reason);
              if (expected.values) assert.deepStrictEqual(result.state && view(result.state).values, expected.values, 'view values');
              if (expected.view) matchMembers(result.state && view(result.state), expected.view, 'view');
              if (expected.decisions) matchList(result.decisions, expected.decisions, 'decisions');
              if (expected.conflicts) matchList(result.conflicts, expected.conflicts, 'conflicts');
              if (expected.repairs) matchList(result.repairs, expected.repairs, 'repairs');
              if (expected.resolved) assert.deepStrictEqual(result.resolved, expected.resolved, 'resolved');
              expected.state?.(result.state);
              return result;
            },
          };
        },
      };
    },
  };
}
