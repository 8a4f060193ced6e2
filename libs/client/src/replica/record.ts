import type { Change, ConflictView } from '@tidemark/contracts';
import { canonicalJson } from '@tidemark/contracts/core';
import type { PolicyName } from '@tidemark/merge';

/** An entity as the server last sent it (the fields of its latest pulled {@link Change}). */
export interface SyncedEntity {
  version: number;
  deleted: boolean;
  /** Field values (empty while deleted). */
  state: Record<string, unknown>;
  inConflict: string[];
  job?: Change['job'];
  assets?: Change['assets'];
  /** The event and device of the latest change. */
  eventId: string;
  deviceId: string;
  cursor: string;
  /** The record's partition, for a type partitioned for partial sync (what an unsubscription evicts by). */
  partition?: string;
}

/**
 * What the replica learnt from the sequence of changes it pulled, beyond the latest one: what the merge rules
 * of a pending write need to decide it as the server will (a `Change` carries values, not the merge state).
 */
export interface Evidence {
  /** `review` fields: the version and device of the change that last changed the value, and the version that first wrote it. */
  review?: Record<string, { version: number; deviceId: string; created: number }>;
  /** `set` fields: per element (canonical JSON) the version and device of the change that first showed it. */
  set?: Record<string, Record<string, { at: number; deviceId: string }>>;
  /** The change that deleted the entity, while it is deleted. */
  deleted?: { version: number; deviceId: string };
  /** The values the entity had before its delete (a revival brings them back, as on the server). */
  hidden?: Record<string, unknown>;
}

/** One entity of the replica, stored as `replica/e/<type>/<id>`. */
export interface EntityRecord {
  v: 1;
  type: string;
  id: string;
  /** Absent for an entity this device wrote but never pulled. */
  synced?: SyncedEntity;
  evidence: Evidence;
  /** Open conflicts of the entity, from pulled conflict updates, by id. */
  conflicts: ConflictView[];
}

export type PolicyOf = (type: string, field: string) => PolicyName | undefined;

/** True for a change an operator's replay wrote: it replaces the entity whatever its version. */
export function isReplayChange(change: Pick<Change, 'deviceId'>): boolean {
  return change.deviceId.startsWith('replay:');
}

/**
 * The record after a pulled change: the change becomes the synced state when it is newer than what the record
 * holds (or comes from a replay), and the evidence of review and set fields moves with it. Pure; returns the
 * same record when the change is not newer (a change delivered again).
 */
export function absorbChange(record: EntityRecord, change: Change, policyOf: PolicyOf): EntityRecord {
  const prev = record.synced;
  if (prev && !isReplayChange(change) && change.version <= prev.version) return record;
  const evidence: Evidence = {};
  const before = prev ? (prev.deleted ? (record.evidence.hidden ?? {}) : prev.state) : {};
  if (change.deleted) {
    evidence.deleted = prev?.deleted && record.evidence.deleted ? record.evidence.deleted : { version: change.version, deviceId: change.deviceId };
    const hidden = prev && !prev.deleted ? prev.state : record.evidence.hidden;
    if (hidden) evidence.hidden = hidden;
    if (record.evidence.review) evidence.review = record.evidence.review;
    if (record.evidence.set) evidence.set = record.evidence.set;
  } else {
    const review: NonNullable<Evidence['review']> = {};
    const set: NonNullable<Evidence['set']> = {};
    for (const [field, value] of Object.entries(change.state)) {
      switch (policyOf(change.entity.type, field)) {
        case 'review': {
          const known = record.evidence.review?.[field];
          const changed = !known || !(field in before) || canonicalJson(before[field]) !== canonicalJson(value);
          review[field] = changed ? { version: change.version, deviceId: change.deviceId, created: known?.created ?? (prev ? change.version : 0) } : known;
          break;
        }
        case 'set': {
          if (!Array.isArray(value)) break;
          const known = record.evidence.set?.[field] ?? {};
          const tags: Record<string, { at: number; deviceId: string }> = {};
          for (const element of value) {
            const key = canonicalJson(element);
            tags[key] = known[key] ?? { at: change.version, deviceId: change.deviceId };
          }
          set[field] = tags;
          break;
        }
        default:
          break;
      }
    }
    if (Object.keys(review).length > 0) evidence.review = review;
    if (Object.keys(set).length > 0) evidence.set = set;
  }
  const synced: SyncedEntity = {
    version: change.version,
    deleted: change.deleted,
    state: change.state,
    inConflict: change.inConflict,
    ...(change.job !== undefined ? { job: change.job } : {}),
    ...(change.assets !== undefined ? { assets: change.assets } : {}),
    eventId: change.eventId,
    deviceId: change.deviceId,
    cursor: change.cursor,
    ...(change.partition !== undefined ? { partition: change.partition } : {}),
  };
  return { ...record, synced, evidence };
}

/** The record after a pulled conflict update: an open conflict is kept (latest copy), a resolved one dropped. */
export function absorbConflict(record: EntityRecord, conflict: ConflictView): EntityRecord {
  const others = record.conflicts.filter((c) => c.id !== conflict.id);
  const conflicts = conflict.status === 'open' ? [...others, conflict].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) : others;
  if (conflicts.length === record.conflicts.length && conflicts.every((c, i) => c === record.conflicts[i])) return record;
  return { ...record, conflicts };
}

export function emptyRecord(type: string, id: string): EntityRecord {
  return { v: 1, type, id, evidence: {}, conflicts: [] };
}
