// Public face of @tidemark/client, the device SDK: the browser entry. No `node:` module anywhere below it
// (`crypto.randomUUID`, `fetch`, `AbortSignal`, `Blob` come from globalThis). At run time it needs `@tidemark/merge`
// (the local replica's optimistic merge), `@tidemark/contracts/core` (canonical JSON), `idb` (IndexedDbStorage),
// `tus-js-client` (its browser build for bundlers) and `@noble/hashes` (streaming sha256); the rest of
// `@tidemark/contracts` is used for types only.
// Node-only pieces (FileStorage) are in `./node` (`@tidemark/client/node`).
export { TidemarkClient, type ClientOptions, type ClientEvents, type Receipt, type ReceiptsPage, type Resolution } from './client';
export { type EntityRead, type SyncStatus, type ReplicaQuery, type FieldCondition, type OrderBy, type Comparable, type QueryField } from './replica/query';
export { type Divergence } from './replica/replica';
export { type Released } from './pull/puller';
export { type LiveView } from './replica/live';
export { HybridClock, compareHlc, MAX_HLC_COUNTER, type WallClock } from './clock/hybrid-clock';
export { MemoryStorage, type Storage } from './storage/storage';
export { IndexedDbStorage } from './storage/indexeddb-storage';
export { type TabNews } from './tabs/tab-coordinator';
export { type EventDraft, type QuarantinedEvent } from './outbox/outbox';
export { type PushSummary, type PushedBatch, type Rejection } from './push/pusher';
export { type PullSummary } from './pull/puller';
export { backoffDelay, DEFAULT_RETRY, type RetryPolicy } from './push/backoff';
export { planBatches, bodyBytes, type BatchLimits } from './push/batches';
export { CLIENT_LIMITS } from './limits';
export { TidemarkError, InvalidEventError, ServerUnavailableError, ServerUnreachableError, ServerProblemError, StorageFormatError } from './errors';
export { type Fetch, type Sleep } from './http';
export { TokenKeeper, CREDENTIALS_KEY, type DeviceCredentials } from './auth/token-keeper';
export { ClientAssets, AssetIntegrityError, fileClassOf, prefetchMatches, type AssetOptions, type UploadProgress, type AttachOptions, type Attached } from './assets/assets';
export { MemoryBlobCache, checkBlobKey, type BlobCache, type BlobEntry } from './assets/blob-cache';
export { IndexedDbBlobCache } from './assets/indexeddb-blob-cache';
export { AssetCache, planEviction, type CacheStats, type PinReason } from './assets/cache-policy';
export { sha256Hex, type AssetBytes } from './assets/sha256';
export { type BinaryFetch } from './assets/binary-fetch';
export { type UploadIntent, INTENT_PREFIX, PIN_PREFIX } from './assets/intents';
