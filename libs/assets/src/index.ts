// @tidemark/assets — the pure asset domain: lifecycle decider, file classes and limits, tus header
// parsing, ranges and entity tags, and the bucket layout. No I/O, no clock, no randomness.

export {
  LIFECYCLE_STATUSES,
  COLLECT_REASONS,
  LIFECYCLE_ERRORS,
  decide,
  evolve,
  replay,
  statusChanges,
  dueCommand,
  type LifecycleStatus,
  type CollectReason,
  type Lifecycle,
  type LifecycleCommand,
  type LifecycleEvent,
  type LifecycleErrorCode,
  type Decision,
  type StatusChange,
  type LifecycleTimers,
} from './lifecycle/lifecycle';
export { transitionMessage, transitionMessageId, type AssetTransitionMessage, type AssetIdentity } from './lifecycle/messages';
export { FILE_CLASSES, DEFAULT_CONTENT_TYPE, normaliseContentType, fileClassOf, checkUploadLimits, type FileClass, type AssetLimits, type LimitCheck } from './limits/limits';
export {
  TUS_VERSION,
  TUS_EXTENSIONS,
  TUS_CONTENT_TYPE,
  CHECKSUM_ALGORITHMS,
  parseByteCount,
  parseUploadMetadata,
  encodeUploadMetadata,
  parseUploadChecksum,
  parseDeclaredSha256,
  isSha256Hex,
  type ChecksumAlgorithm,
  type Parsed,
} from './tus/headers';
export { parseRange, assetEtag, ifNoneMatchMatches, ifRangeMatches, type RangeRequest } from './http/conditional';
export { S3_MIN_PART_BYTES, S3_MAX_PART_BYTES, S3_MAX_PARTS, assetObjectKey, uploadStagingPrefix, tailObjectKey, partSizeFor, maxUploadBytes } from './storage/layout';
