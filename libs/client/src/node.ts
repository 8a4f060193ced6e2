// The Node entry of @tidemark/client (`@tidemark/client/node`): everything the browser entry has, and the pieces
// that need Node built-ins (FileStorage: `node:fs`, `node:path`, `node:crypto`).
export * from './index';
export { FileStorage, StorageLockedError } from './storage/file-storage';
export { FileBlobCache } from './assets/file-blob-cache';
