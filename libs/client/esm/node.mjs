// ES module entry of @tidemark/client/node: the CommonJS build of the Node entry, re-exported by name (see index.mjs).
export {
  TidemarkClient, HybridClock, compareHlc, MAX_HLC_COUNTER, MemoryStorage, IndexedDbStorage, backoffDelay, DEFAULT_RETRY, planBatches, bodyBytes, CLIENT_LIMITS, TidemarkError, InvalidEventError, ServerUnavailableError, ServerUnreachableError, ServerProblemError, StorageFormatError, TokenKeeper, CREDENTIALS_KEY,
  ClientAssets, AssetIntegrityError, fileClassOf, prefetchMatches, MemoryBlobCache, checkBlobKey, IndexedDbBlobCache, AssetCache, planEviction, sha256Hex, INTENT_PREFIX, PIN_PREFIX,
  FileStorage, StorageLockedError, FileBlobCache,
} from '../dist/node.js';
