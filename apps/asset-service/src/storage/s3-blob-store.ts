import type { Readable } from 'node:stream';
import type { Client } from 'minio';
import type { BlobStore, OpenMultipart, StoredPart } from './blob-store';

function codeOf(error: unknown): string | undefined {
  return (error as { code?: string })?.code;
}

const GONE = new Set(['NoSuchUpload', 'NoSuchKey', 'NotFound']);

/**
 * The BlobStore on S3 through the minio client (path-style: MinIO, AWS and Swift's s3api alike).
 * Presigned URLs are signed by a second client configured with the endpoint devices reach.
 */
export class S3BlobStore implements BlobStore {
  constructor(
    private readonly client: Client,
    private readonly bucket: string,
    private readonly presigner: Client = client,
  ) {}

  startMultipart(key: string, contentType: string): Promise<string> {
    return this.client.initiateNewMultipartUpload(this.bucket, key, { 'Content-Type': contentType });
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string> {
    const result = await this.client.uploadPart({ bucketName: this.bucket, objectName: key, uploadID: uploadId, partNumber, headers: {} }, body);
    return result.etag;
  }

  async completeMultipart(key: string, uploadId: string, parts: StoredPart[]): Promise<void> {
    await this.client.completeMultipartUpload(
      this.bucket,
      key,
      uploadId,
      parts.map((p) => ({ part: p.partNumber, etag: p.etag })),
    );
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.abortMultipartUpload(this.bucket, key, uploadId);
    } catch (error) {
      if (!GONE.has(codeOf(error) ?? '')) throw error;
    }
  }

  async listMultipart(key: string): Promise<OpenMultipart[]> {
    // A non-empty delimiter: Swift's s3api answers an empty `delimiter=` with no uploads at all.
    const found: OpenMultipart[] = [];
    let keyMarker = '';
    let uploadIdMarker = '';
    for (;;) {
      const page = await this.client.listIncompleteUploadsQuery(this.bucket, key, keyMarker, uploadIdMarker, '/');
      for (const upload of page.uploads) if (upload.key === key) found.push({ key: upload.key, uploadId: upload.uploadId, initiated: upload.initiated });
      if (!page.isTruncated) return found;
      keyMarker = page.nextKeyMarker;
      uploadIdMarker = page.nextUploadIdMarker;
    }
  }

  async listMultipartUnder(prefix: string): Promise<OpenMultipart[]> {
    // Walks the key hierarchy with '/' as the delimiter (Swift's s3api lists nothing without one).
    const found: OpenMultipart[] = [];
    const pending = [prefix];
    const seen = new Set(pending);
    while (pending.length > 0) {
      const under = pending.shift()!;
      let keyMarker = '';
      let uploadIdMarker = '';
      for (;;) {
        const page = await this.client.listIncompleteUploadsQuery(this.bucket, under, keyMarker, uploadIdMarker, '/');
        for (const upload of page.uploads) found.push({ key: upload.key, uploadId: upload.uploadId, initiated: upload.initiated });
        for (const { prefix: common } of page.prefixes) {
          if (!seen.has(common)) pending.push(common);
          seen.add(common);
        }
        if (!page.isTruncated) break;
        // minio's parser drops NextUploadIdMarker: continue after the last upload of the page instead.
        const last = page.uploads.at(-1);
        keyMarker = last?.key ?? page.nextKeyMarker;
        uploadIdMarker = last ? last.uploadId : '';
        if (!keyMarker) break;
      }
    }
    return found;
  }

  async put(key: string, body: Buffer, contentType = 'application/octet-stream'): Promise<void> {
    await this.client.putObject(this.bucket, key, body, body.length, { 'Content-Type': contentType });
  }

  async readInto(key: string, length: number, target: Buffer, targetOffset: number): Promise<void> {
    if (length === 0) return;
    const stream = await this.client.getPartialObject(this.bucket, key, 0, length);
    let at = targetOffset;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const take = Math.min(chunk.length, targetOffset + length - at);
      chunk.copy(target, at, 0, take);
      at += take;
    }
    if (at !== targetOffset + length) throw new Error(`${key}: read ${at - targetOffset} of ${length} bytes`);
  }

  read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    return range ? this.client.getPartialObject(this.bucket, key, range.start, range.end - range.start + 1) : this.client.getObject(this.bucket, key);
  }

  async size(key: string): Promise<number | undefined> {
    try {
      return (await this.client.statObject(this.bucket, key)).size;
    } catch (error) {
      if (GONE.has(codeOf(error) ?? '')) return undefined;
      throw error;
    }
  }

  async remove(key: string): Promise<void> {
    try {
      await this.client.removeObject(this.bucket, key);
    } catch (error) {
      if (!GONE.has(codeOf(error) ?? '')) throw error;
    }
  }

  async removePrefix(prefix: string): Promise<void> {
    const names: string[] = [];
    for await (const item of this.client.listObjectsV2(this.bucket, prefix, true) as AsyncIterable<{ name?: string }>) if (item.name) names.push(item.name);
    for (const name of names) await this.remove(name);
  }

  presignGet(key: string, ttlSeconds: number, contentType: string): Promise<string> {
    return this.presigner.presignedGetObject(this.bucket, key, ttlSeconds, { 'response-content-type': contentType });
  }

  async check(): Promise<void> {
    if (!(await this.client.bucketExists(this.bucket))) throw new Error(`bucket ${this.bucket} is missing`);
  }
}
