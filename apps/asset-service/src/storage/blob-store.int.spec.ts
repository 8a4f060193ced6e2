import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { testBucket } from '@tidemark/testing';
import type { BlobStore } from './blob-store';
import { S3BlobStore } from './s3-blob-store';
import { createS3Client } from './s3';

const MiB = 1024 * 1024;

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The BlobStore contract: every driver runs this suite against a real store. */
function blobStoreContract(driver: string, open: () => Promise<BlobStore>): void {
  describe(`BlobStore contract: ${driver}`, () => {
    let store: BlobStore;
    before(async () => {
      store = await open();
    });

    it('puts, reads whole and by range, sizes and removes objects (removing twice is fine)', async () => {
      const bytes = randomBytes(100_000);
      await store.put('a/one', bytes, 'text/plain');
      assert.equal(await store.size('a/one'), bytes.length);
      assert.ok((await collect(await store.read('a/one'))).equals(bytes));
      assert.ok((await collect(await store.read('a/one', { start: 10, end: 19 }))).equals(bytes.subarray(10, 20)));
      const target = Buffer.alloc(1000);
      await store.readInto('a/one', 500, target, 100);
      assert.ok(target.subarray(100, 600).equals(bytes.subarray(0, 500)));
      await store.remove('a/one');
      await store.remove('a/one');
      assert.equal(await store.size('a/one'), undefined);
    });

    it('assembles a multipart upload from parts of at least 5 MiB and a small last part', async () => {
      const first = randomBytes(5 * MiB);
      const last = randomBytes(1234);
      const id = await store.startMultipart('mp/object', 'application/octet-stream');
      assert.deepEqual(
        (await store.listMultipart('mp/object')).map((u) => u.uploadId),
        [id],
      );
      const second = await store.uploadPart('mp/object', id, 2, last);
      const firstTag = await store.uploadPart('mp/object', id, 1, first);
      await store.completeMultipart('mp/object', id, [
        { partNumber: 1, etag: firstTag },
        { partNumber: 2, etag: second },
      ]);
      assert.ok((await collect(await store.read('mp/object'))).equals(Buffer.concat([first, last])));
      assert.deepEqual(await store.listMultipart('mp/object'), []);
    });

    it('aborts a multipart upload, and aborting again or an unknown one is fine', async () => {
      const id = await store.startMultipart('mp/aborted', 'application/octet-stream');
      await store.uploadPart('mp/aborted', id, 1, randomBytes(1000));
      await store.abortMultipart('mp/aborted', id);
      await store.abortMultipart('mp/aborted', id);
      assert.deepEqual(await store.listMultipart('mp/aborted'), []);
      assert.equal(await store.size('mp/aborted'), undefined);
    });

    it('lists every open multipart upload under a prefix, at any depth', async () => {
      const ids = [
        await store.startMultipart('deep/a/b/one', 'application/octet-stream'),
        await store.startMultipart('deep/a/two', 'application/octet-stream'),
        await store.startMultipart('deep/three', 'application/octet-stream'),
      ];
      const other = await store.startMultipart('elsewhere/x', 'application/octet-stream');
      const listed = await store.listMultipartUnder('deep/');
      assert.deepEqual(listed.map((u) => u.uploadId).sort(), [...ids].sort());
      assert.deepEqual(listed.map((u) => u.key).sort(), ['deep/a/b/one', 'deep/a/two', 'deep/three']);
      assert.ok(listed.every((u) => u.initiated instanceof Date && !Number.isNaN(u.initiated.getTime())));
      assert.ok(
        (await store.listMultipartUnder('')).some((u) => u.uploadId === other),
        'the whole bucket',
      );
      for (const u of [...listed, { key: 'elsewhere/x', uploadId: other }]) await store.abortMultipart(u.key, u.uploadId);
      assert.deepEqual(await store.listMultipartUnder(''), []);
    });

    it('removes everything under a prefix and presigns reads', async () => {
      await store.put('p/x/1', Buffer.from('1'));
      await store.put('p/x/2', Buffer.from('2'));
      await store.put('p/y', Buffer.from('3'));
      await store.removePrefix('p/x/');
      assert.deepEqual([await store.size('p/x/1'), await store.size('p/x/2'), await store.size('p/y')], [undefined, undefined, 1]);
      const url = await store.presignGet('p/y', 60, 'text/plain');
      const response = await fetch(url);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), '3');
      await store.check();
    });
  });
}

blobStoreContract('S3 (minio client)', async () => {
  const bucket = await testBucket('blob-store');
  return new S3BlobStore(createS3Client({ S3_ENDPOINT: bucket.endpoint, S3_ACCESS_KEY: bucket.accessKey, S3_SECRET_KEY: bucket.secretKey, S3_REGION: bucket.region }), bucket.name);
});
