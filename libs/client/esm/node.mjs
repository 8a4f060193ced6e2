// ES module entry of @tidemark/client/node: the CommonJS build of the Node entry, re-exported by name (see index.mjs).
export {
  TidemarkClient, HybridClock, compareHlc, MAX_HLC_COUNTER, MemoryStorage, IndexedDbStorage, backoffDelay, DEFAULT_RETRY, planBatches, bodyBytes, CLIENT_LIMITS, TidemarkError, InvalidEventError, ServerUnavailableError, ServerUnreachableError, ServerProblemError, StorageFormatError, TokenKeeper, CREDENTIALS_KEY,
  FileStorage, StorageLockedError,
} from '../dist/node.js';
