import type { CollectReason, LifecycleStatus, StatusChange } from './lifecycle';
import type { FileClass } from '../limits/limits';

/** What the ASSETS stream carries for one lifecycle transition (subject `tm.assets.<workspace>.<status>.<sha256>`). */
export interface AssetTransitionMessage {
  v: 1;
  workspace: string;
  sha256: string;
  /** The upload this transition belongs to; absent for transitions of the stored asset (referenced, orphaned, …). */
  uploadId?: string;
  from: LifecycleStatus | null;
  status: LifecycleStatus;
  size: number | null;
  contentType: string;
  fileClass: FileClass;
  references: number;
  reason?: CollectReason;
  deduplicated?: boolean;
  at: string;
}

export interface AssetIdentity {
  workspace: string;
  sha256: string;
  contentType: string;
  fileClass: FileClass;
}

/** The message for one status change of an upload or an asset. */
export function transitionMessage(identity: AssetIdentity, change: StatusChange, uploadId?: string): AssetTransitionMessage {
  return {
    v: 1,
    workspace: identity.workspace,
    sha256: identity.sha256,
    ...(uploadId !== undefined ? { uploadId } : {}),
    from: change.from ?? null,
    status: change.to,
    size: change.state.size ?? null,
    contentType: identity.contentType,
    fileClass: identity.fileClass,
    references: change.state.references,
    ...(change.state.reason && change.to === 'collected' ? { reason: change.state.reason } : {}),
    ...(change.state.deduplicated && change.to === 'verified' ? { deduplicated: true } : {}),
    at: change.event.at,
  };
}

/**
 * The JetStream message id of a transition. An upload passes each status once, so `<uploadId>:<status>`;
 * a stored asset can pass a status again (referenced → orphaned → referenced), so its id carries the
 * asset's transition count (`generation`).
 */
export function transitionMessageId(target: { uploadId: string } | { workspace: string; sha256: string; generation: number }, status: LifecycleStatus): string {
  return 'uploadId' in target ? `upload:${target.uploadId}:${status}` : `asset:${target.workspace}:${target.sha256}:${target.generation}:${status}`;
}
