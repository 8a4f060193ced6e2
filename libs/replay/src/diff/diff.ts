// The difference a replay would make to one entity: live (what devices pull today) against shadow (the
// rebuild), as pure functions over plain rows. Values compare as canonical JSON.
import type { EntitySnapshot, ReplayDiffSummary } from '@tidemark/contracts';
import { canonicalJson } from '@tidemark/contracts/core';
import { compareText } from '../text';

/** What devices see of an entity: its view without the version and deleted flag (kept beside it). */
export interface EntityViewSide {
  values: Readonly<Record<string, unknown>>;
  inConflict: readonly string[];
  job?: unknown;
}

/** One side of an entity (live or shadow), as the projection tables hold it. */
export interface EntitySide {
  version: number;
  deleted: boolean;
  view: EntityViewSide;
  /** The entity's conflict ledger rows. */
  conflicts: readonly { id: string; field: string; status: string }[];
  /** The receipts of the entity's events. */
  receipts: readonly { eventId: string; status: string }[];
}

export type EntityChange = 'changed' | 'unchanged' | 'added' | 'removed';

/** A field whose value differs; a side without the member has no value for the field. */
export interface FieldDiff {
  field: string;
  live?: unknown;
  shadow?: unknown;
}

export type { EntitySnapshot };

export interface EntityDiff {
  /**
   * `added`: only the rebuild has the entity; `removed`: only live has it (every event of it is now
   * refused); `changed`: the view, the conflicts or a receipt differ; `unchanged`: nothing differs.
   */
  change: EntityChange;
  /** Whether what devices pull differs (version, deleted, values, fields in conflict, job). */
  viewChanged: boolean;
  live: EntitySnapshot | null;
  shadow: EntitySnapshot | null;
  /** Fields whose value differs, by name. */
  fields: FieldDiff[];
  /** Conflicts open in the rebuild and not live (`opened`), open live and not in the rebuild (`closed`). */
  conflicts: { opened: { id: string; field: string }[]; closed: { id: string; field: string }[] };
  /** Events whose receipt status differs (`null`: no receipt on that side). */
  receipts: { eventId: string; live: string | null; shadow: string | null }[];
}

const same = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);
const own = (record: Readonly<Record<string, unknown>>, key: string): boolean => Object.prototype.hasOwnProperty.call(record, key);

function snapshot(side: EntitySide): EntitySnapshot {
  return { version: side.version, deleted: side.deleted, values: { ...side.view.values }, inConflict: [...side.view.inConflict], ...(side.view.job !== undefined ? { job: side.view.job } : {}) };
}

function openConflicts(side: EntitySide | undefined): Map<string, string> {
  return new Map((side?.conflicts ?? []).filter((c) => c.status === 'open').map((c) => [c.id, c.field]));
}

/** The difference between an entity's live rows and its rebuild (either may be missing). */
export function diffEntity(live: EntitySide | undefined, shadow: EntitySide | undefined): EntityDiff {
  const liveValues = live?.view.values ?? {};
  const shadowValues = shadow?.view.values ?? {};
  const fields: FieldDiff[] = [];
  for (const field of [...new Set([...Object.keys(liveValues), ...Object.keys(shadowValues)])].sort(compareText)) {
    const inLive = own(liveValues, field);
    const inShadow = own(shadowValues, field);
    if (inLive && inShadow && same(liveValues[field], shadowValues[field])) continue;
    fields.push({ field, ...(inLive ? { live: liveValues[field] } : {}), ...(inShadow ? { shadow: shadowValues[field] } : {}) });
  }
  const liveOpen = openConflicts(live);
  const shadowOpen = openConflicts(shadow);
  const byId = (a: { id: string }, b: { id: string }) => compareText(a.id, b.id);
  const opened = [...shadowOpen]
    .filter(([id]) => !liveOpen.has(id))
    .map(([id, field]) => ({ id, field }))
    .sort(byId);
  const closed = [...liveOpen]
    .filter(([id]) => !shadowOpen.has(id))
    .map(([id, field]) => ({ id, field }))
    .sort(byId);
  const liveReceipts = new Map((live?.receipts ?? []).map((r) => [r.eventId, r.status]));
  const shadowReceipts = new Map((shadow?.receipts ?? []).map((r) => [r.eventId, r.status]));
  const receipts = [...new Set([...liveReceipts.keys(), ...shadowReceipts.keys()])]
    .sort(compareText)
    .filter((id) => liveReceipts.get(id) !== shadowReceipts.get(id))
    .map((eventId) => ({ eventId, live: liveReceipts.get(eventId) ?? null, shadow: shadowReceipts.get(eventId) ?? null }));
  const viewChanged =
    !live ||
    !shadow ||
    live.version !== shadow.version ||
    live.deleted !== shadow.deleted ||
    fields.length > 0 ||
    !same(live.view.inConflict, shadow.view.inConflict) ||
    !same(live.view.job ?? null, shadow.view.job ?? null);
  const change: EntityChange =
    !live && !shadow ? 'unchanged' : !live ? 'added' : !shadow ? 'removed' : viewChanged || opened.length > 0 || closed.length > 0 || receipts.length > 0 ? 'changed' : 'unchanged';
  return {
    change,
    viewChanged: (live !== undefined || shadow !== undefined) && viewChanged,
    live: live ? snapshot(live) : null,
    shadow: shadow ? snapshot(shadow) : null,
    fields,
    conflicts: { opened, closed },
    receipts,
  };
}

/** Counts over every entity of a replay (the wire shape ops-api serves). */
export type DiffSummary = ReplayDiffSummary;

export function emptyDiffSummary(): DiffSummary {
  return { entities: { affected: 0, changed: 0, unchanged: 0, added: 0, removed: 0 }, fields: {}, conflicts: { opened: 0, closed: 0 }, receipts: {} };
}

/** The summary with one more entity's diff counted (a new object; the input is not changed). */
export function addToSummary(summary: DiffSummary, type: string, diff: EntityDiff): DiffSummary {
  const fields = { ...summary.fields };
  for (const f of diff.fields) fields[`${type}.${f.field}`] = (fields[`${type}.${f.field}`] ?? 0) + 1;
  const receipts = { ...summary.receipts };
  for (const r of diff.receipts) {
    const key = `${r.live ?? 'none'}→${r.shadow ?? 'none'}`;
    receipts[key] = (receipts[key] ?? 0) + 1;
  }
  return {
    entities: { ...summary.entities, affected: summary.entities.affected + 1, [diff.change]: summary.entities[diff.change] + 1 },
    fields: sortObject(fields),
    conflicts: { opened: summary.conflicts.opened + diff.conflicts.opened.length, closed: summary.conflicts.closed + diff.conflicts.closed.length },
    receipts: sortObject(receipts),
  };
}

function sortObject(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.keys(record)
      .sort(compareText)
      .map((k) => [k, record[k]!]),
  );
}

/**
 * The line one entity contributes to a replay's diff digest (hashed in entity order by the caller): the
 * operator confirms a swap with the digest of the diff they read, so a swap never applies another one.
 */
export function diffDigestLine(entity: { workspace: string; type: string; id: string }, diff: EntityDiff): string {
  return `${canonicalJson([entity.workspace, entity.type, entity.id, diff])}\n`;
}
