import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { TidemarkClient, type ClientOptions } from '../client';
import { MemoryStorage } from '../storage/storage';
import { FakeGateway } from '../test-support/fake-gateway';
import { FakeAssetService } from '../test-support/fake-asset-service';
import { MemoryBlobCache } from './blob-cache';
import { intentKey, type UploadIntent } from './intents';
import type { UploadProgress } from './assets';

const KiB = 1024;
const hexOf = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function open(storage: MemoryStorage, cache: MemoryBlobCache, service: FakeAssetService, extra: Partial<ClientOptions> = {}) {
  const gateway = new FakeGateway();
  return TidemarkClient.open({
    baseUrl: 'http://gateway.test',
    storage,
    deviceId: 'cam-1',
    fetch: gateway.fetch,
    sleep: () => Promise.resolve(),
    random: () => 0,
    assets: { baseUrl: 'http://assets.test', cache, fetch: service.fetch, chunkSize: 64 * KiB, retryDelays: [] },
    ...extra,
  });
}

describe('attach: the upload intent', () => {
  it('is stored with the bytes pinned and the record event queued before attach resolves, offline', async () => {
    const storage = new MemoryStorage();
    const cache = new MemoryBlobCache();
    const service = new FakeAssetService();
    service.offline = true;
    const bytes = randomBytes(200 * KiB);
    const seen: UploadProgress[] = [];
    const client = await open(storage, cache, service, { onUpload: (p) => void seen.push(p) });
    const attached = await client.attach({ type: 'photo', id: 'p1' }, 'original', new Blob([bytes], { type: 'image/jpeg' }), { filename: 'pier.jpg' });

    assert.equal(attached.sha256, hexOf(bytes));
    const intent = JSON.parse((await storage.get(intentKey(attached.sha256)))!) as UploadIntent;
    assert.deepEqual(intent, {
      v: 1,
      sha256: attached.sha256,
      size: bytes.length,
      contentType: 'image/jpeg',
      filename: 'pier.jpg',
      refs: [{ type: 'photo', id: 'p1', field: 'original' }],
      recorded: true,
      at: intent.at,
    });
    assert.deepEqual(
      client.pending().map((e) => e.fields),
      [{ original: { op: 'set', value: attached.sha256 } }],
      'the field holds the asset reference',
    );
    assert.deepEqual(new Uint8Array(await (await cache.get(attached.sha256))!.arrayBuffer()), new Uint8Array(bytes));
    assert.ok(client.assets.cache.isPinned(attached.sha256));
    assert.deepEqual(
      client.uploads().map((u) => [u.status, u.bytesSent, u.bytesTotal]),
      [['waiting', 0, bytes.length]],
    );
    assert.deepEqual(
      seen.map((p) => p.status),
      ['waiting'],
    );

    await assert.rejects(client.assets.flush(), TypeError, 'offline: the flush fails…');
    assert.ok(await storage.get(intentKey(attached.sha256)), '…and the intent stays');
    await client.close();
  });

  it('is dropped at open when the attach never returned (no record points at the bytes)', async () => {
    const storage = new MemoryStorage();
    const torn: UploadIntent = { v: 1, sha256: 'a'.repeat(64), size: 3, contentType: 'text/plain', refs: [{ type: 'photo', id: 'p1', field: 'original' }], recorded: false, at: 1 };
    await storage.put(intentKey(torn.sha256), JSON.stringify(torn));
    const client = await open(storage, new MemoryBlobCache(), new FakeAssetService());
    assert.deepEqual(client.uploads(), []);
    assert.equal(await storage.get(intentKey(torn.sha256)), undefined);
    await client.close();
  });

  it('keeps the tus upload URL, so a new client over the same storage resumes from the server offset and removes the intent once verified', async () => {
    const storage = new MemoryStorage();
    const cache = new MemoryBlobCache();
    const service = new FakeAssetService();
    const bytes = randomBytes(640 * KiB);
    const first = await open(storage, cache, service);
    const { sha256 } = await first.attach({ type: 'photo', id: 'p1' }, 'original', bytes);
    service.cutAfterPatches = 4; // the connection dies after 4 chunks reached the server
    await assert.rejects(first.assets.flush());
    await first.close();
    const stored = JSON.parse((await storage.get(intentKey(sha256)))!) as UploadIntent;
    assert.equal(stored.uploadUrl, 'http://assets.test/v1/uploads/u1', 'the upload URL is with the intent');
    assert.equal(service.uploads.get('u1')!.offset, 256 * KiB);

    service.offline = false;
    const second = await open(storage, cache, service);
    assert.deepEqual(
      second.uploads().map((u) => u.status),
      ['waiting'],
    );
    const before = service.patchBytes;
    await second.assets.flush();
    assert.equal(service.patchBytes - before, bytes.length - 256 * KiB, 'only what the server lacked was sent');
    const [done] = second.uploads();
    assert.deepEqual([done!.status, done!.bytesSent, done!.bytesTransferred], ['verified', bytes.length, bytes.length - 256 * KiB]);
    assert.equal(service.requests.filter((r) => r === 'POST /v1/uploads').length, 1, 'no second upload was created');
    assert.equal(await storage.get(intentKey(sha256)), undefined, 'the intent is gone');
    assert.equal(second.assets.cache.isPinned(sha256), false, 'the bytes stay cached, unpinned');
    assert.deepEqual(new Uint8Array(await (await second.assets.get(sha256)).arrayBuffer()), new Uint8Array(bytes));
    await second.close();
  });

  it('does not upload bytes the server already holds verified (HEAD first)', async () => {
    const service = new FakeAssetService();
    const bytes = randomBytes(10 * KiB);
    service.assets.set(hexOf(bytes), new Uint8Array(bytes));
    const client = await open(new MemoryStorage(), new MemoryBlobCache(), service);
    await client.attach({ type: 'photo', id: 'p2' }, 'crops', bytes, { op: 'add' });
    await client.assets.flush();
    assert.deepEqual(
      client.pending().map((e) => e.fields),
      [{ crops: { op: 'add', values: [hexOf(bytes)] } }],
    );
    assert.deepEqual(service.requests, [`HEAD /v1/assets/${hexOf(bytes)}`]);
    assert.deepEqual(
      client.uploads().map((u) => [u.status, u.deduplicated, u.bytesTransferred]),
      [['verified', true, 0]],
    );
    await client.close();
  });

  it('downloads through the cache: verified against the sha256, a second get is a hit, wrong bytes are refused', async () => {
    const service = new FakeAssetService();
    const bytes = randomBytes(50 * KiB);
    service.assets.set(hexOf(bytes), new Uint8Array(bytes));
    const liar = randomBytes(10 * KiB);
    service.assets.set('b'.repeat(64), new Uint8Array(liar));
    const client = await open(new MemoryStorage(), new MemoryBlobCache(), service);
    assert.deepEqual(new Uint8Array(await (await client.assets.get(hexOf(bytes))).arrayBuffer()), new Uint8Array(bytes));
    await client.assets.get(hexOf(bytes));
    assert.equal(service.requests.filter((r) => r.startsWith('GET')).length, 1, 'the second get is served from the cache');
    assert.deepEqual([client.assets.stats().hits, client.assets.stats().misses], [1, 1]);
    await assert.rejects(client.assets.get('b'.repeat(64)), { name: 'AssetIntegrityError' });
    assert.equal(client.assets.cache.has('b'.repeat(64)), false);
    await client.close();
  });
  it('the background loop uploads after an attach, waits out a network failure with backoff and resumes on the same upload', async () => {
    const service = new FakeAssetService();
    const storage = new MemoryStorage();
    const errors: Error[] = [];
    const verified = new Promise<UploadProgress>((resolve) => {
      void open(storage, new MemoryBlobCache(), service, {
        onError: (error) => {
          errors.push(error);
          service.offline = false; // the network comes back after the first failure
        },
        onUpload: (p) => {
          if (p.status === 'verified') resolve(p);
        },
      }).then(async (client) => {
        client.start({ intervalMs: 60_000 });
        service.cutAfterPatches = 2;
        await client.attach({ type: 'photo', id: 'p3' }, 'original', randomBytes(300 * KiB));
        await verified;
        await client.close();
      });
    });
    const done = await verified;
    assert.equal(done.bytesSent, 300 * KiB);
    assert.ok(errors.length >= 1, 'the failure was reported');
    assert.equal(service.requests.filter((r) => r === 'POST /v1/uploads').length, 1, 'resumed on the same upload');
    assert.equal(service.patchBytes, 300 * KiB, 'no byte sent twice');
    assert.deepEqual(await storage.list('assets/intent/'), [], 'the intent was deleted before verified was reported');
  });
});
