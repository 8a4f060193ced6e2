import { sha256 } from '@noble/hashes/sha2';

/** Bytes an application hands the SDK: a `Blob`/`File` (browsers, Node 20) or raw bytes. */
export type AssetBytes = Blob | Uint8Array;

/** How much of a file is read into memory at a time while hashing (and per tus chunk by default). */
export const HASH_SLICE_BYTES = 4 * 1024 * 1024;

/** The bytes as a Blob (a copy of a `Uint8Array`, so a caller reusing its buffer cannot change them). */
export function toBlob(bytes: AssetBytes, type?: string): Blob {
  if (bytes instanceof Blob) return type !== undefined && bytes.type !== type ? new Blob([bytes], { type }) : bytes;
  return new Blob([bytes.slice()], type !== undefined ? { type } : {});
}

/**
 * The sha256 of a Blob as 64 lower-case hex digits, read slice by slice (`HASH_SLICE_BYTES`), so a file of
 * any size is hashed in bounded memory. WebCrypto's `digest` takes the whole input at once, so the
 * incremental hash is `@noble/hashes` (audited, no dependency, no WebAssembly: works under a strict CSP).
 */
export async function sha256Hex(blob: Blob, sliceBytes = HASH_SLICE_BYTES, signal?: AbortSignal): Promise<string> {
  const hash = sha256.create();
  for (let at = 0; at < blob.size; at += sliceBytes) {
    signal?.throwIfAborted();
    hash.update(new Uint8Array(await blob.slice(at, Math.min(at + sliceBytes, blob.size)).arrayBuffer()));
  }
  return hex(hash.digest());
}

/** Lower-case hex of bytes. */
export function hex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

/** An asset reference: a sha256 as 64 lower-case hex digits (what an asset-typed field holds). */
export const SHA256_HEX = /^[0-9a-f]{64}$/;
