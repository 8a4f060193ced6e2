// Given / when / then for the batch planner: given(earlier batches, committed) when(a batch) then(what it
// writes). The stored state the planner is given is what the earlier batches' plans wrote, loaded as the
// projector loads it (the receipts and entities of the batch's records, the entries its skip markers name).
// Every step checks that the planner is pure: its inputs are frozen, and planning twice gives the same plan.
import assert from 'node:assert/strict';
import { canonicalJson, type DeviceEvent, type ParkedAction } from '@tidemark/contracts';
import { mergeWithRegistry } from '../merge/merge';
import { planBatch, type BatchItem, type BatchPlan, type BatchState, type MergeFn, type StoredParkedEntry } from '../projection/plan-batch';
import type { FieldDecision } from '../merge/result';
import type { ReceiptStatus } from '../projection/rows';
import { partitionOf, queueFieldOf } from '../schema/partition';
import type { SchemaRegistry } from '../schema/registry';
import type { EntityState } from '../state/entity-state';
import { view } from '../state/state';
import { deepFreeze } from './events';

export const WORKSPACE = 'ws-test';
export const ACCEPTED_AT = '2025-01-01T00:00:00.000Z';

/** Journal messages with increasing stream sequences, in the order they are made. */
export function journal(start = 1) {
  let seq = start - 1;
  return {
    /** A journal record of `event` (optionally carrying an operator's re-drive or edit of the entry at `entrySeq`). */
    record(
      event: DeviceEvent,
      options: { workspace?: string; acceptedAt?: string; site?: string; mark?: { action: Exclude<ParkedAction, 'skip'>; entrySeq: number; reason?: string } } = {},
    ): BatchItem {
      const { workspace = WORKSPACE, acceptedAt = ACCEPTED_AT, site, mark } = options;
      return {
        seq: ++seq,
        record: { v: 1, workspace, acceptedAt, ...(site ? { site } : {}), event },
        mark: mark && { action: mark.action, consumer: 'merge-test', seq: mark.entrySeq, reason: mark.reason ?? null },
      };
    },
    /** An operator's skip marker for the entry at `entrySeq`. */
    skip(entrySeq: number, reason: string | null = null): BatchItem {
      return { seq: ++seq, skip: { action: 'skip', consumer: 'merge-test', seq: entrySeq, reason } };
    },
  };
}

/** The projection tables the planner reads, as committed plans leave them. */
class Store {
  readonly receipts = new Map<string, { eventId: string; workspace: string; status: string }>();
  readonly entities = new Map<string, { workspace: string; entityType: string; entityId: string; state: EntityState }>();
  readonly parked = new Map<number, StoredParkedEntry>();

  /** What the projector loads for `items`. */
  load(items: readonly BatchItem[]): BatchState {
    const records = items.flatMap((item) => ('record' in item ? [item.record] : []));
    const receiptKeys = new Set(records.map((r) => `${r.workspace}\u0000${r.event.eventId}`));
    const entityKeys = new Set(records.map((r) => `${r.workspace}\u0000${r.event.entity.type}\u0000${r.event.entity.id}`));
    const parked = [...new Set(items.flatMap((item) => ('skip' in item ? [item.skip.seq] : [])))].flatMap((seq) => (this.parked.has(seq) ? [{ ...this.parked.get(seq)! }] : []));
    const parkedReceipts = parked.flatMap((p) => {
      const k = `${p.workspace}\u0000${p.eventId}`;
      return p.eventId && p.workspace !== null && !receiptKeys.has(k) && this.receipts.has(k) ? [{ ...this.receipts.get(k)! }] : [];
    });
    return {
      receipts: [...receiptKeys].flatMap((k) => (this.receipts.has(k) ? [{ ...this.receipts.get(k)! }] : [])),
      entities: [...entityKeys].flatMap((k) => (this.entities.has(k) ? [structuredClone(this.entities.get(k)!)] : [])),
      parked,
      parkedReceipts,
    };
  }

  /** Writes a plan as the projector's writers do. */
  commit(plan: BatchPlan): void {
    for (const step of plan.steps) {
      switch (step.kind) {
        case 'resolve':
          for (const [seq, entry] of this.parked) {
            if (entry.eventId === step.eventId && entry.workspace === step.workspace && entry.status === 'parked' && seq < step.seq) entry.status = 'redriven';
          }
          break;
        case 'park':
          if (!this.parked.has(step.seq)) this.parked.set(step.seq, { seq: step.seq, eventId: step.eventId, workspace: step.workspace, status: 'parked' });
          break;
        case 'skip-entry': {
          const entry = this.parked.get(step.entrySeq);
          if (entry?.status === 'parked') entry.status = 'skipped';
          break;
        }
        case 'skip-receipt': {
          const receipt = this.receipts.get(`${step.workspace}\u0000${step.eventId}`);
          if (receipt?.status === 'parked') receipt.status = 'skipped';
          break;
        }
        case 'skip-ignored':
          break;
        default:
          step satisfies never;
      }
    }
    for (const e of plan.entities)
      this.entities.set(`${e.workspace}\u0000${e.entityType}\u0000${e.entityId}`, { workspace: e.workspace, entityType: e.entityType, entityId: e.entityId, state: structuredClone(e.state) });
    for (const r of [...plan.receipts.inserted, ...plan.receipts.updated]) this.receipts.set(`${r.workspace}\u0000${r.eventId}`, { eventId: r.eventId, workspace: r.workspace, status: r.status });
  }
}

/** Expected members of a plan: each list's items by their members, in order (the lists must have the same length). */
export interface BatchExpectation {
  outcomes?: ReceiptStatus[];
  steps?: Partial<BatchPlan['steps'][number]>[];
  entities?: Partial<BatchPlan['entities'][number]>[];
  /** The view's values of each upserted entity, in order. */
  values?: Record<string, unknown>[];
  inserted?: Partial<BatchPlan['receipts']['inserted'][number]>[];
  updated?: Partial<BatchPlan['receipts']['updated'][number]>[];
  duplicates?: Partial<BatchPlan['duplicates'][number]>[];
  /** The `merge_decisions` rows: one per event that decided a field. */
  decisions?: Partial<BatchPlan['decisions'][number]>[];
  /** The field decisions of those rows, flattened in order, each with its event, row position (`idx`) and sequence. */
  fieldDecisions?: Partial<FieldDecision & { eventId: string; idx: number; streamSeq: number }>[];
  conflicts?: Partial<BatchPlan['conflicts'][number]>[];
  resolvedConflicts?: Partial<BatchPlan['resolvedConflicts'][number]>[];
  repairs?: Partial<BatchPlan['repairs'][number]>[];
  outbox?: Partial<BatchPlan['outbox'][number]>[];
  arrivals?: Partial<BatchPlan['arrivals'][number]>[];
  changes?: Partial<BatchPlan['changes'][number]>[];
  /** Any further check on the plan. */
  plan?: (plan: BatchPlan) => void;
}

function matchList(actual: readonly object[], expected: readonly object[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: expected ${expected.length}, got ${JSON.stringify(actual, null, 1)}`);
  expected.forEach((item, index) => {
    for (const [key, value] of Object.entries(item)) assert.deepStrictEqual((actual[index] as Record<string, unknown>)[key], value, `${what}[${index}].${key}`);
  });
}

function checkedPlan(items: readonly BatchItem[], state: BatchState, merge: MergeFn, registry: SchemaRegistry): BatchPlan {
  const input = deepFreeze({
    items: structuredClone(items),
    state: structuredClone(state),
    merge,
    partition: (type: string) => partitionOf(registry, type),
    queueField: (type: string) => queueFieldOf(registry, type),
  });
  const plan = planBatch(input);
  assert.equal(canonicalJson(planBatch(input)), canonicalJson(plan), 'planning is deterministic');
  assert.deepStrictEqual(
    JSON.parse(JSON.stringify(plan.entities.map((e) => e.state))),
    plan.entities.map((e) => e.state),
    'states survive a JSON round trip',
  );
  return plan;
}

/**
 * `registry` merges every batch; `whenRegistry`, when given, merges the batch under test (a schema published
 * after the earlier batches were parked).
 */
export function projectionSpec(registry: SchemaRegistry, options: { whenRegistry?: SchemaRegistry } = {}) {
  const mergeWith =
    (r: SchemaRegistry): MergeFn =>
    (current, input) =>
      mergeWithRegistry(current, input, r);
  return {
    given(...batches: BatchItem[][]) {
      return {
        when(...items: BatchItem[]) {
          return {
            then(expected: BatchExpectation): BatchPlan {
              const store = new Store();
              for (const batch of batches) store.commit(checkedPlan(batch, store.load(batch), mergeWith(registry), registry));
              const plan = checkedPlan(items, store.load(items), mergeWith(options.whenRegistry ?? registry), options.whenRegistry ?? registry);
              if (expected.outcomes) assert.deepStrictEqual(plan.outcomes, expected.outcomes, 'outcomes');
              if (expected.steps) matchList(plan.steps, expected.steps, 'steps');
              if (expected.entities) matchList(plan.entities, expected.entities, 'entities');
              if (expected.values)
                assert.deepStrictEqual(
                  plan.entities.map((e) => view(e.state).values),
                  expected.values,
                  'entity values',
                );
              if (expected.inserted) matchList(plan.receipts.inserted, expected.inserted, 'receipts inserted');
              if (expected.updated) matchList(plan.receipts.updated, expected.updated, 'receipts updated');
              for (const name of ['duplicates', 'decisions', 'conflicts', 'resolvedConflicts', 'repairs', 'outbox', 'arrivals', 'changes'] as const) {
                const list = expected[name];
                if (list) matchList(plan[name], list, name);
              }
              if (expected.fieldDecisions) {
                const flat = plan.decisions.flatMap((row) => row.decisions.map((d, idx) => ({ eventId: row.eventId, idx, streamSeq: row.streamSeq, ...d })));
                matchList(flat, expected.fieldDecisions, 'field decisions');
              }
              expected.plan?.(plan);
              return plan;
            },
          };
        },
      };
    },
  };
}
