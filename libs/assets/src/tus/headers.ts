import { isUtf8 } from 'node:buffer';

/**
 * Parsing of the tus 1.0 request headers (https://tus.io/protocols/resumable-upload).
 * Pure functions: each answers a value or a reason, never throws on client input.
 */

export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = ['creation', 'creation-with-upload', 'creation-defer-length', 'expiration', 'termination', 'checksum'] as const;
export const CHECKSUM_ALGORITHMS = ['sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];
export const TUS_CONTENT_TYPE = 'application/offset+octet-stream';

const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { sha1: 20, sha256: 32 };
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const METADATA_KEY = /^[^\s,]+$/;

export type Parsed<T> = { ok: true; value: T } | { ok: false; detail: string };

/** A non-negative integer header (`Upload-Offset`, `Upload-Length`); digits only, at most 2^53 − 1. */
export function parseByteCount(value: string | undefined, name: string): Parsed<number> {
  if (value === undefined) return { ok: false, detail: `${name} is required` };
  if (!/^\d{1,16}$/.test(value.trim())) return { ok: false, detail: `${name} must be a non-negative integer` };
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? { ok: true, value: n } : { ok: false, detail: `${name} is too large` };
}

/** `Upload-Metadata`: comma-separated `key base64value` pairs (value optional); keys unique. */
export function parseUploadMetadata(header: string | undefined): Parsed<Record<string, string | null>> & { key?: string } {
  const result: Record<string, string | null> = {};
  if (header === undefined || header.trim() === '') return { ok: true, value: result };
  for (const pair of header.split(',')) {
    const parts = pair.trim().split(' ');
    const key = parts[0] ?? '';
    if (parts.length > 2 || !METADATA_KEY.test(key)) return { ok: false, detail: `Upload-Metadata: malformed pair "${pair.trim()}"` };
    if (Object.prototype.hasOwnProperty.call(result, key)) return { ok: false, detail: `Upload-Metadata: duplicate key "${key}"` };
    const encoded = parts[1];
    if (encoded === undefined || encoded === '') {
      result[key] = null;
      continue;
    }
    if (!BASE64.test(encoded)) return { ok: false, detail: `Upload-Metadata: the value of "${key}" is not base64` };
    const bytes = Buffer.from(encoded, 'base64');
    // Stored as text: the decoded value must be well-formed UTF-8 without NUL (Postgres cannot hold either).
    if (!isUtf8(bytes)) return { ok: false, detail: `Upload-Metadata: the value of "${key}" is not valid UTF-8`, key };
    const text = bytes.toString('utf8');
    if (text.includes('\u0000')) return { ok: false, detail: `Upload-Metadata: the value of "${key}" holds U+0000 (NUL); text may not contain NUL`, key };
    result[key] = text;
  }
  return { ok: true, value: result };
}

/** Encodes metadata for `Upload-Metadata` (HEAD answers it as received). */
export function encodeUploadMetadata(metadata: Record<string, string | null>): string {
  return Object.entries(metadata)
    .map(([key, value]) => (value === null ? key : `${key} ${Buffer.from(value, 'utf8').toString('base64')}`))
    .join(',');
}

/** `Upload-Checksum: <algorithm> <base64 digest>` (checksum extension); the digest comes back as hex. */
export function parseUploadChecksum(header: string | undefined): Parsed<{ algorithm: ChecksumAlgorithm; hex: string } | undefined> {
  if (header === undefined) return { ok: true, value: undefined };
  const [algorithm, digest, ...rest] = header.trim().split(' ');
  if (rest.length > 0 || !algorithm || !digest) return { ok: false, detail: 'Upload-Checksum must be "<algorithm> <base64 digest>"' };
  if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm))
    return { ok: false, detail: `Upload-Checksum: unsupported algorithm "${algorithm}" (supported: ${CHECKSUM_ALGORITHMS.join(', ')})` };
  const bytes = BASE64.test(digest) ? Buffer.from(digest, 'base64') : undefined;
  if (!bytes || bytes.length !== DIGEST_BYTES[algorithm as ChecksumAlgorithm]) return { ok: false, detail: `Upload-Checksum: not a base64 ${algorithm} digest` };
  return { ok: true, value: { algorithm: algorithm as ChecksumAlgorithm, hex: bytes.toString('hex') } };
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function isSha256Hex(value: string): boolean {
  return SHA256_HEX.test(value);
}

/**
 * The whole-file sha256 a client declares in `Upload-Metadata` (`sha256`): the 32-byte digest in base64
 * (as `Upload-Checksum` carries digests) or as 64 hex digits. Answered as lower-case hex.
 */
export function parseDeclaredSha256(value: string | null | undefined): Parsed<string> {
  if (value === undefined || value === null || value === '') return { ok: false, detail: 'Upload-Metadata must carry sha256: the whole-file digest (base64 or hex)' };
  const trimmed = value.trim();
  if (SHA256_HEX.test(trimmed.toLowerCase()) && trimmed.length === 64) return { ok: true, value: trimmed.toLowerCase() };
  if (BASE64.test(trimmed)) {
    const bytes = Buffer.from(trimmed, 'base64');
    if (bytes.length === 32) return { ok: true, value: bytes.toString('hex') };
  }
  return { ok: false, detail: 'Upload-Metadata sha256 is not a sha256 digest (32 bytes as base64, or 64 hex digits)' };
}
