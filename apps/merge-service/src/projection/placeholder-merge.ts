import type { JournalRecord } from '@tidemark/contracts';

/**
 * PLACEHOLDER MERGE — field overwrite. It stands in until the declared per-field merge engine
 * (`@tidemark/merge`) is wired in: `set` overwrites, `delete` tombstones, and every other operation is
 * rejected with a reason, so nothing is silently merged by a rule nobody declared.
 */
export interface StoredEntity {
  version: number;
  deleted: boolean;
  state: Record<string, unknown>;
  view: Record<string, unknown>;
}

export type ApplyResult =
  | { outcome: 'applied'; next: StoredEntity }
  | { outcome: 'rejected'; reason: string };

export function placeholderMerge(current: StoredEntity | undefined, record: JournalRecord): ApplyResult {
  const { event } = record;
  const base: StoredEntity = current ?? { version: 0, deleted: false, state: {}, view: {} };
  switch (event.op) {
    case 'upsert': {
      const values: Record<string, unknown> = { ...base.view };
      for (const [name, change] of Object.entries(event.fields ?? {})) {
        if (change.op !== 'set') return { outcome: 'rejected', reason: `field ${name}: operation "${change.op}" is not supported by the placeholder merge` };
        values[name] = change.value;
      }
      const sorted = Object.fromEntries(Object.keys(values).sort().map((k) => [k, values[k]]));
      return { outcome: 'applied', next: { version: base.version + 1, deleted: false, state: sorted, view: sorted } };
    }
    case 'delete':
      return { outcome: 'applied', next: { ...base, version: base.version + 1, deleted: true } };
    case 'transition':
    case 'resolve':
      return { outcome: 'rejected', reason: `operation "${event.op}" is not supported by the placeholder merge` };
    default: {
      const never: never = event.op;
      return { outcome: 'rejected', reason: `unknown operation ${String(never)}` };
    }
  }
}
