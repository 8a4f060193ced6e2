import type { AssetTransition } from '@tidemark/contracts';
import type { CollectReason, LifecycleStatus, StatusChange } from './lifecycle';
import type { FileClass } from '../limits/limits';

/**
 * What the ASSETS stream carries for one lifecycle transition (subject `tm.assets.<workspace>.<status>.<sha256>`):
 * the published schema (`@tidemark/contracts`).
 */
export type AssetTransitionMessage = AssetTransition;

// The published enumerations are exactly the lifecycle's (a status, reason or class added to one and not the other fails to compile).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const PUBLISHED_ASSET_ENUMS_MATCH: [
  Same<AssetTransition['status'], LifecycleStatus>,
  Same<NonNullable<AssetTransition['reason']>, CollectReason>,
  Same<AssetTransition['fileClass'], FileClass>,
] = [true, true, true];

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
