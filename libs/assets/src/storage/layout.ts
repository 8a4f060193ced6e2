/** Where an upload's bytes live in the bucket, and how they are cut into S3 multipart parts. Pure. */

/** S3's smallest part (every part but the last). */
export const S3_MIN_PART_BYTES = 5 * 1024 * 1024;
/** S3's largest part. */
export const S3_MAX_PART_BYTES = 5 * 1024 * 1024 * 1024;
/** S3's most parts in one multipart upload. */
export const S3_MAX_PARTS = 10_000;

/** The final, content-addressed object of an asset: one per workspace and sha256. */
export function assetObjectKey(workspace: string, sha256: string): string {
  return `ws/${workspace}/sha256/${sha256}`;
}

/** The folder of an upload's staged bytes (its pending tail objects). */
export function uploadStagingPrefix(uploadId: string): string {
  return `uploads/${uploadId}/`;
}

/**
 * The pending tail of an upload: bytes after the last committed part and below the S3 minimum part size,
 * kept as an object until enough bytes arrive to make part `nextPart` (or the upload ends). Keyed by the
 * part number it will become, so a later tail never overwrites an earlier tail still named by the ledger.
 */
export function tailObjectKey(uploadId: string, nextPart: number): string {
  return `${uploadStagingPrefix(uploadId)}tail-${String(nextPart).padStart(5, '0')}`;
}

/**
 * The part size of an upload: the configured size, raised (in whole MiB) when the declared length would
 * need more than S3's 10 000 parts.
 */
export function partSizeFor(length: number | undefined, configured: number): number {
  const floor = Math.max(configured, S3_MIN_PART_BYTES);
  if (length === undefined) return floor;
  const needed = Math.ceil(length / S3_MAX_PARTS);
  const mib = 1024 * 1024;
  return Math.min(S3_MAX_PART_BYTES, Math.max(floor, Math.ceil(needed / mib) * mib));
}

/** The largest upload a part size allows. */
export function maxUploadBytes(partSize: number): number {
  return partSize * S3_MAX_PARTS;
}
