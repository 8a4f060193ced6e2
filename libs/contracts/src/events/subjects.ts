import type { EntityRef } from './device-event';

/**
 * Journal subjects: `tm.journal.<workspace>.<partition>.<entityType>.<entityId>`.
 * One entity's history is one subject filter; one partition is `tm.journal.*.<partition>.>`.
 */
export const JOURNAL_SUBJECT_ROOT = 'tm.journal';
export const MERGED_SUBJECT_ROOT = 'tm.merged';
export const REVIEW_SUBJECT_ROOT = 'tm.review';
export const ASSETS_SUBJECT_ROOT = 'tm.assets';
/**
 * Core NATS (not JetStream) notices that a projection commit added to a workspace's change log:
 * `tm.notice.committed.<workspace>`, published by merge-service right after the commit, naming the scope keys it touched (`CommittedNotice`, header
 * `tm-schema-version`). The gateway wakes that workspace's long-polls and live streams whose scopes meet them; a lost notice costs latency, never a change.
 */
export const COMMITTED_NOTICE_ROOT = 'tm.notice.committed';

/**
 * Core NATS notices that a device's standing or role, or a workspace's access rules, changed:
 * `tm.notice.standing.<workspace>`, payload `{"deviceId":"…"}` (one device: enrolled, revoked, re-enrolled, given a
 * role) or `{}` (the workspace's access rules). Published by the gateway that made the change, after its commit and
 * before it answers; every gateway forgets what it cached of that device (or workspace) on hearing it.
 */
export const STANDING_NOTICE_ROOT = 'tm.notice.standing';

export function standingNoticeSubject(workspace: string): string {
  return `${STANDING_NOTICE_ROOT}.${workspace}`;
}

export function committedNoticeSubject(workspace: string): string {
  return `${COMMITTED_NOTICE_ROOT}.${workspace}`;
}

/** FNV-1a 32-bit: a stable hash that needs no dependency and is the same on every platform. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  const bytes = Buffer.from(text, 'utf8');
  for (const byte of bytes) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The partition token of an entity: a stable hash of its type and id, as `p00` … `p<partitions-1>`. */
export function partitionOf(entity: EntityRef, partitions: number): string {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1000) {
    throw new RangeError(`partitions must be an integer from 1 to 1000, got ${partitions}`);
  }
  const index = fnv1a32(`${entity.type}/${entity.id}`) % partitions;
  return partitionToken(index);
}

export function partitionToken(index: number): string {
  return `p${String(index).padStart(2, '0')}`;
}

export function journalSubject(workspace: string, entity: EntityRef, partitions: number): string {
  return `${JOURNAL_SUBJECT_ROOT}.${workspace}.${partitionOf(entity, partitions)}.${entity.type}.${entity.id}`;
}

/**
 * The JetStream message id (`Nats-Msg-Id`) a device event is journaled with: `<workspace>:<eventId>`. An
 * eventId is the device's, so the journal's dedupe window must never merge two workspaces' events that
 * happen to share one (workspace names hold no `:`).
 */
export function journalMessageId(workspace: string, eventId: string): string {
  return `${workspace}:${eventId}`;
}

export function journalPartitionFilter(partitionIndex: number): string {
  return `${JOURNAL_SUBJECT_ROOT}.*.${partitionToken(partitionIndex)}.>`;
}

export function journalEntityFilter(workspace: string, entity: EntityRef, partitions: number): string {
  return journalSubject(workspace, entity, partitions);
}

export function mergedSubject(workspace: string, entity: EntityRef): string {
  return `${MERGED_SUBJECT_ROOT}.${workspace}.${entity.type}.${entity.id}`;
}

export function reviewSubject(workspace: string, entity: EntityRef, kind: 'opened' | 'resolved'): string {
  return `${REVIEW_SUBJECT_ROOT}.${workspace}.${kind}.${entity.type}.${entity.id}`;
}

/** Asset lifecycle transitions: `tm.assets.<workspace>.<status>.<sha256>` (one asset's history is `tm.assets.<ws>.*.<sha256>`). */
export function assetSubject(workspace: string, status: string, sha256: string): string {
  return `${ASSETS_SUBJECT_ROOT}.${workspace}.${status}.${sha256}`;
}

/** Parses a journal subject back into its parts; returns undefined for a subject outside the journal. */
export function parseJournalSubject(subject: string): { workspace: string; partition: string; entity: EntityRef } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 6 || `${parts[0]}.${parts[1]}` !== JOURNAL_SUBJECT_ROOT) return undefined;
  const [, , workspace, partition, type, id] = parts as [string, string, string, string, string, string];
  return { workspace, partition, entity: { type, id } };
}
