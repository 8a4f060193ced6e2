// ES module entry of @tidemark/client (the browser entry): the CommonJS build, re-exported by name. One copy of the
// code whichever way an app loads it (no dual-package hazard: one TidemarkError class, one module state). The list
// is checked against the CommonJS exports by a unit test (client.spec.ts).
export {
  TidemarkClient, HybridClock, compareHlc, MAX_HLC_COUNTER, MemoryStorage, IndexedDbStorage, backoffDelay, DEFAULT_RETRY, planBatches, bodyBytes, CLIENT_LIMITS, TidemarkError, InvalidEventError, ServerUnavailableError, ServerUnreachableError, ServerProblemError, StorageFormatError, TokenKeeper, CREDENTIALS_KEY,
  ClientAssets, AssetIntegrityError, fileClassOf, prefetchMatches, MemoryBlobCache, checkBlobKey, IndexedDbBlobCache, AssetCache, planEviction, sha256Hex, INTENT_PREFIX, PIN_PREFIX,
} from '../dist/index.js';
