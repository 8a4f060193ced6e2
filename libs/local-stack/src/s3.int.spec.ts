import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Client } from 'minio';
import { startS3, type S3Handle } from './index';
import { processesMentioning } from './internal/ps';

const MiB = 1024 * 1024;

/** Exposes minio's protected ListParts. */
class TestClient extends Client {
  parts(bucket: string, key: string, uploadId: string): ReturnType<Client['listParts']> {
    return this.listParts(bucket, key, uploadId);
  }
}

function clientFor(s3: S3Handle): TestClient {
  return new TestClient({ endPoint: s3.host, port: s3.port, useSSL: false, accessKey: s3.accessKey, secretKey: s3.secretKey, region: s3.region, pathStyle: true });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
const encode = (value: string): string => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** A raw S3 call signed with AWS Signature V4 (path-style), to exercise the wire protocol without a client library. */
async function signed(s3: S3Handle, method: string, path: string, query: Record<string, string> = {}, body?: Buffer): Promise<{ status: number; text: string; headers: Headers }> {
  const url = new URL(s3.endpoint);
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256(body ?? '');
  const canonicalQuery = Object.keys(query)
    .sort()
    .map((key) => `${encode(key)}=${encode(query[key] ?? '')}`)
    .join('&');
  const canonicalPath = path.split('/').map(encode).join('/');
  const signedHeaders = 'host;x-amz-content-sha256;x-amz-date';
  const canonicalRequest = [method, canonicalPath, canonicalQuery, `host:${url.host}`, `x-amz-content-sha256:${payloadHash}`, `x-amz-date:${amzDate}`, '', signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${s3.region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${s3.secretKey}`, day), s3.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  const response = await fetch(`${s3.endpoint}${canonicalPath}${canonicalQuery ? `?${canonicalQuery}` : ''}`, {
    method,
    body,
    headers: {
      'x-amz-content-sha256': payloadHash,
      'x-amz-date': amzDate,
      authorization: `AWS4-HMAC-SHA256 Credential=${s3.accessKey}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    },
  });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

const tag = (xml: string, name: string): string[] => [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1] ?? '');

describe('startS3 (Swift + s3api)', () => {
  let dir: string;
  let s3: S3Handle;
  let client: TestClient;
  const bucket = 'assets-test';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tidemark-local-stack-s3-'));
    s3 = await startS3({ dataDir: join(dir, 's3') });
    client = clientFor(s3);
    await s3.createBucket(bucket);
  });
  after(async () => {
    await s3?.stop();
    try {
      assert.deepEqual(processesMentioning(join(dir, 's3')), [], 'stop leaves no process behind');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('creates buckets idempotently', async () => {
    await s3.createBucket(bucket);
    assert.equal(await client.bucketExists(bucket), true);
    assert.ok((await client.listBuckets()).some((b) => b.name === bucket));
  });

  it('puts and gets objects, with ranges', async () => {
    await client.putObject(bucket, 'docs/hello.txt', Buffer.from('hello, tidemark'), undefined, { 'Content-Type': 'text/plain' });
    assert.equal((await readAll(await client.getObject(bucket, 'docs/hello.txt'))).toString(), 'hello, tidemark');
    assert.equal((await readAll(await client.getPartialObject(bucket, 'docs/hello.txt', 7, 8))).toString(), 'tidemark');
    const raw = await signed(s3, 'GET', `/${bucket}/docs/hello.txt`);
    assert.equal(raw.status, 200);
    const stat = await client.statObject(bucket, 'docs/hello.txt');
    assert.equal(stat.size, 15);
  });

  it('does a multipart upload of two 5 MiB parts with the minio client', async () => {
    const key = 'blobs/two-parts.bin';
    const parts = [Buffer.alloc(5 * MiB, 1), Buffer.alloc(5 * MiB, 2)];
    const uploadId = await client.initiateNewMultipartUpload(bucket, key, { 'Content-Type': 'application/octet-stream' });
    const etags = [];
    for (const [index, payload] of parts.entries()) {
      const part = await client.uploadPart({ bucketName: bucket, objectName: key, uploadID: uploadId, partNumber: index + 1, headers: {} }, payload);
      etags.push({ part: index + 1, etag: part.etag });
    }
    const listed = await client.parts(bucket, key, uploadId);
    assert.deepEqual(
      listed.map((p) => [p.part, p.size]),
      [
        [1, 5 * MiB],
        [2, 5 * MiB],
      ],
    );
    const done = await client.completeMultipartUpload(bucket, key, uploadId, etags);
    assert.match(done.etag, /-2$/);
    assert.equal((await client.statObject(bucket, key)).size, 10 * MiB);
    const across = await readAll(await client.getPartialObject(bucket, key, 5 * MiB - 2, 4));
    assert.deepEqual([...across], [1, 1, 2, 2]);
  });

  it('does a multipart upload with raw signed calls: list parts, list uploads, abort', async () => {
    const key = 'blobs/raw.bin';
    const initiated = await signed(s3, 'POST', `/${bucket}/${key}`, { uploads: '' });
    assert.equal(initiated.status, 200, initiated.text);
    const [uploadId = ''] = tag(initiated.text, 'UploadId');
    assert.ok(uploadId);
    for (const partNumber of [1, 2]) {
      const put = await signed(s3, 'PUT', `/${bucket}/${key}`, { partNumber: String(partNumber), uploadId }, Buffer.alloc(5 * MiB, partNumber));
      assert.equal(put.status, 200, put.text);
      assert.ok(put.headers.get('etag'));
    }
    const parts = await signed(s3, 'GET', `/${bucket}/${key}`, { uploadId });
    assert.equal(parts.status, 200, parts.text);
    assert.deepEqual(tag(parts.text, 'PartNumber'), ['1', '2']);
    assert.deepEqual(tag(parts.text, 'Size'), [String(5 * MiB), String(5 * MiB)]);

    // Listing in-progress uploads works without `delimiter` (an empty `delimiter=` is the known defect).
    const uploads = await signed(s3, 'GET', `/${bucket}`, { uploads: '' });
    assert.equal(uploads.status, 200, uploads.text);
    assert.ok(tag(uploads.text, 'UploadId').includes(uploadId), uploads.text);

    const aborted = await signed(s3, 'DELETE', `/${bucket}/${key}`, { uploadId });
    assert.equal(aborted.status, 204, aborted.text);
    const gone = await signed(s3, 'GET', `/${bucket}/${key}`, { uploadId });
    assert.equal(gone.status, 404);
    assert.deepEqual(tag(gone.text, 'Code'), ['NoSuchUpload']);
  });

  it('rejects wrong credentials', async () => {
    const wrong = new Client({ endPoint: s3.host, port: s3.port, useSSL: false, accessKey: s3.accessKey, secretKey: 'not-the-secret', region: s3.region, pathStyle: true });
    await assert.rejects(wrong.listBuckets(), (error: { code?: string }) => error.code === 'SignatureDoesNotMatch');
  });
});
