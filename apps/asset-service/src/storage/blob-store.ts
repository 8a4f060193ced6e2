import type { Readable } from 'node:stream';

/** A committed part of a multipart upload. */
export interface StoredPart {
  partNumber: number;
  etag: string;
}

/** An open multipart upload as the store lists it. */
export interface OpenMultipart {
  key: string;
  uploadId: string;
  initiated: Date;
}

/**
 * The storage port behind the tus 1.0 upload protocol (https://tus.io/protocols/resumable-upload):
 * an upload's bytes go to an S3-style multipart upload (parts of at least 5 MiB except the last,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html), small pending tails go to
 * ordinary objects, and a completed upload becomes one object under its content address.
 *
 * The port knows nothing of offsets, workspaces or hashes: the asset-service ledger (Postgres) decides
 * which parts and tails make up an upload, so resuming never depends on listing the store.
 * Every call is idempotent where S3 allows it: aborting or removing what is gone succeeds.
 */
export interface BlobStore {
  /** Starts a multipart upload for `key`; resolves to its upload id. */
  startMultipart(key: string, contentType: string): Promise<string>;
  /** Uploads (or replaces) part `partNumber` (1…10 000); resolves to its ETag. */
  uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string>;
  /** Assembles the listed parts, in order, into the object `key`. */
  completeMultipart(key: string, uploadId: string, parts: StoredPart[]): Promise<void>;
  /** Aborts a multipart upload and frees its parts; a missing upload is not an error. */
  abortMultipart(key: string, uploadId: string): Promise<void>;
  /** Multipart uploads still open for exactly this key. */
  listMultipart(key: string): Promise<OpenMultipart[]>;
  /** Every multipart upload still open under a key prefix ('' for the whole bucket). */
  listMultipartUnder(prefix: string): Promise<OpenMultipart[]>;
  /** Writes a whole object. */
  put(key: string, body: Buffer, contentType?: string): Promise<void>;
  /** Reads `length` bytes from the start of an object into `target` at `targetOffset`. */
  readInto(key: string, length: number, target: Buffer, targetOffset: number): Promise<void>;
  /** Streams an object, or the inclusive byte range `[start, end]` of it. */
  read(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /** Size of an object, or `undefined` when there is none. */
  size(key: string): Promise<number | undefined>;
  /** Removes an object; a missing object is not an error. */
  remove(key: string): Promise<void>;
  /** Removes every object under a prefix. */
  removePrefix(prefix: string): Promise<void>;
  /** A URL that reads `key` without credentials until it expires. */
  presignGet(key: string, ttlSeconds: number, contentType: string): Promise<string>;
  /** Readiness: the store answers and the bucket exists. */
  check(): Promise<void>;
}
