import { READ_ALL, filterAdmits, type ReadFilter } from '@tidemark/access';
import { partitionOfKey, type Change, type ConflictView, type PullResponse, type Receipt } from '@tidemark/contracts';
import type { ChangeLogRepository, ChangeLogView as ChangeRow, ConflictsRepository, EntityAssetsRepository, ReceiptsRepository } from '@tidemark/persistence';

/** The repositories a device's reads (pull, live stream, snapshot) go through. */
export interface SyncReads {
  changeLog: ChangeLogRepository;
  conflicts: ConflictsRepository;
  receipts: ReceiptsRepository;
  assets: EntityAssetsRepository;
}

/** A change-log row as devices receive it, from a pull, the live stream or the snapshot. */
export const changeView = (r: ChangeRow): Change => {
  const partition = partitionOfKey(r.scope_key);
  return {
    cursor: r.cursor,
    entity: { type: r.entity_type, id: r.entity_id },
    version: Number(r.version),
    deleted: r.deleted,
    state: r.view.values,
    inConflict: r.view.inConflict,
    ...(r.view.job ? { job: r.view.job } : {}),
    eventId: r.event_id,
    deviceId: r.device_id,
    ...(partition !== undefined ? { partition } : {}),
  };
};

/**
 * A change that moved a record out of every scope the device reads: the device drops the record. Its new state
 * (and partition) belong to a scope the device does not read, so none of it is sent.
 */
const evictionView = (r: ChangeRow): Change => ({
  cursor: r.cursor,
  entity: { type: r.entity_type, id: r.entity_id },
  version: Number(r.version),
  deleted: true,
  state: {},
  inConflict: [],
  eventId: r.event_id,
  deviceId: r.device_id,
  outOfScope: true,
});

export interface ChangePage extends PullResponse {
  changes: Change[];
  conflicts: ConflictView[];
  receipts?: Receipt[];
}

/**
 * One page of a workspace's change log after a cursor — with a scoped filter, of the records the device reads and
 * those leaving them (sent as evictions). Change-log cursors become visible in cursor order
 * within a workspace (merge-service writes them last, under a per-workspace lock held to commit), so a
 * reader that passed a cursor never sees an earlier one appear later: no gaps, and no repeats.
 * Conflicts ride on the changes of the events that opened or resolved them, so they are as gap-free.
 */
export async function changePage(reads: SyncReads, workspace: string, after: string, limit: number, filter: ReadFilter = READ_ALL): Promise<Omit<ChangePage, 'receipts'>> {
  const rows = await reads.changeLog.after(workspace, after, limit + 1, filter.kind === 'scoped' ? filter : undefined);
  const page = rows.slice(0, limit);
  const admitted = page.filter((r) => filterAdmits(filter, r.entity_type, r.scope_key));
  const conflicts = await reads.conflicts.ofEvents(
    workspace,
    admitted.map((r) => r.event_id),
  );
  const changes = page.map((r) => (filterAdmits(filter, r.entity_type, r.scope_key) ? changeView(r) : evictionView(r)));
  await annotateAssets(
    reads.assets,
    workspace,
    changes.filter((c) => c.outOfScope !== true),
  );
  return { changes, conflicts, next: page.length > 0 ? page[page.length - 1]!.cursor : after, hasMore: rows.length > limit };
}

/**
 * Adds to each change the assets its state references and where their bytes stand, so a device can show
 * "waiting for upload" instead of a broken link. The references are the projection's (`entity_assets`,
 * written by merge-service from the schema's asset fields); a change lists those its own state holds.
 */
export async function annotateAssets(assets: EntityAssetsRepository, workspace: string, changes: Change[]): Promise<void> {
  if (changes.length === 0) return;
  const refs = await assets.refsOf(
    workspace,
    changes.map((c) => c.entity),
  );
  if (refs.length === 0) return;
  const status = await assets.statusOf(
    workspace,
    refs.map((r) => r.sha256),
  );
  for (const change of changes) {
    const held = refs.filter((r) => {
      if (r.entityType !== change.entity.type || r.entityId !== change.entity.id) return false;
      const value = change.state[r.field];
      return value === r.sha256 || (Array.isArray(value) && value.includes(r.sha256));
    });
    if (held.length > 0) change.assets = held.map((r) => ({ field: r.field, sha256: r.sha256, status: status.get(r.sha256) ?? 'missing' }));
  }
}
