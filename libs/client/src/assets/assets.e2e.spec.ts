// Attached binaries against the real services (journal-service, merge-service, gateway and asset-service as
// processes on a fresh NATS, Postgres and an S3 bucket): an upload killed midway resumes in a new client over the
// same storage from the server's offset, the record's asset goes from uploading to verified in a pull, and a
// download comes back byte-equal through the cache (a second get served from it; prefetch by file class).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Change } from '@tidemark/contracts';
import { bucketEnv, eventually, startSlice, testBucket, type SliceStack } from '@tidemark/testing';
import { FileBlobCache, FileStorage, MemoryBlobCache, MemoryStorage, TidemarkClient, type BinaryFetch, type ClientOptions, type DeviceCredentials, type UploadProgress } from '../node';

const MiB = 1024 * 1024;
const dirs: string[] = [];
const tempDir = async (name: string) => {
  const dir = await mkdtemp(join(tmpdir(), `tidemark-assets-${name}-`));
  dirs.push(dir);
  return dir;
};

describe('attached binaries against the services', () => {
  let stack: SliceStack;
  let assetService: string;

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway']);
    await stack.start('asset-service', bucketEnv(await testBucket('client-assets')));
    assetService = stack.url('asset-service');
    const schema = { type: 'photo', version: 1, onDeleteConflict: 'delete-wins', fields: { caption: { policy: 'lww', valueType: 'string' }, original: { policy: 'lww', valueType: 'asset' } } };
    const put = await fetch(`${stack.url('journal-service')}/v1/schemas/photo/1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...stack.operatorHeaders },
      body: JSON.stringify(schema),
    });
    assert.equal(put.status, 201);
  });
  after(async () => {
    await stack?.stop();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  /** Body bytes asset-service received over tus (its own counter). */
  const receivedBytes = async (): Promise<number> => {
    const line = (await (await fetch(`${assetService}/metrics`)).text()).split('\n').find((l) => l.startsWith('tidemark_asset_upload_body_bytes_total'));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  it('an upload killed midway resumes in a new client from the server offset, verifies, and the pulled record goes from uploading to verified; downloads go through the cache', async (t) => {
    const [storageDir, cacheDir] = [await tempDir('storage'), await tempDir('cache')];
    const enrolment: DeviceCredentials = await stack.device('default', 'cam-1', 'north');
    const bytes = randomBytes(6 * MiB + 123);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const opened: TidemarkClient[] = [];
    t.after(() => Promise.all(opened.map((c) => c.close())));
    const open = async (extra: Partial<ClientOptions> = {}) => {
      const client = await TidemarkClient.open({
        baseUrl: stack.url('gateway'),
        storage: await FileStorage.open(storageDir),
        retry: { initialDelayMs: 20, maxDelayMs: 200, maxAttempts: 3 },
        assets: { baseUrl: assetService, cache: await FileBlobCache.open(cacheDir), chunkSize: MiB, retryDelays: [0, 200, 500, 1000] },
        ...extra,
      });
      opened.push(client);
      return client;
    };

    // Device A attaches 6 MiB, pushes the record, and dies once about half the bytes are on the server.
    const first = await open({ credentials: enrolment });
    const attached = await first.attach({ type: 'photo', id: 'pier' }, 'original', new Blob([bytes], { type: 'image/jpeg' }), { filename: 'pier.jpg' });
    assert.equal(attached.sha256, sha);
    await first.push();
    let killedAt = 0;
    const killed = new Promise<void>((resolve) =>
      first.on('upload', (p) => {
        if (p.bytesSent >= 3 * MiB && killedAt === 0) {
          killedAt = p.bytesSent;
          resolve();
        }
      }),
    );
    const flushing = first.assets.flush().then(
      () => 'finished',
      (error: unknown) => error,
    );
    await killed;
    await first.close(); // the request in flight is abandoned, the process could as well have died
    assert.match(String(await flushing), /client closed/, 'the upload was abandoned, not finished');
    const receivedByFirst = await receivedBytes();
    assert.ok(receivedByFirst < bytes.length, `the first client did not finish (${receivedByFirst} of ${bytes.length} bytes)`);

    // Device A again: a new client over the same storage (and cache directory).
    const uploads: UploadProgress[] = [];
    const pulled: Change[] = [];
    const second = await open({ onUpload: (p) => void uploads.push(p), onChange: (c) => void pulled.push(c) });
    assert.deepEqual(
      second.uploads().map((u) => [u.sha256, u.status]),
      [[sha, 'waiting']],
      'the intent survived the restart',
    );
    await eventually(async () => {
      await second.pull();
      assert.ok(pulled.some((c) => c.entity.id === 'pier'));
    });
    assert.deepEqual(pulled.find((c) => c.entity.id === 'pier')!.assets, [{ field: 'original', sha256: sha, status: 'uploading' }], 'the pulled record waits for its upload');

    await second.assets.flush();
    const done = second.uploads().find((u) => u.sha256 === sha)!;
    const resentByServer = (await receivedBytes()) - receivedByFirst;
    console.log(`killed after ${killedAt} bytes acknowledged; the resume sent ${done.bytesTransferred} bytes (server received ${resentByServer}) of ${bytes.length}`);
    assert.equal(done.status, 'verified');
    assert.ok(done.bytesTransferred < bytes.length - 2 * MiB, `the resume sent only what the server lacked: ${done.bytesTransferred} of ${bytes.length}`);
    assert.equal(resentByServer, done.bytesTransferred, 'what the server received after the restart is what the client sent');
    assert.ok(
      uploads.some((u) => u.status === 'uploading' && u.bytesSent > 0 && u.bytesSent < bytes.length),
      'progress was reported',
    );
    await second.close();

    // Another device pulls the record: its asset is verified now; it downloads the bytes through its cache.
    const viewer = await stack.device('default', 'viewer-1', 'south');
    const gets: string[] = [];
    const counting: BinaryFetch = (url, init) => {
      gets.push(`${init.method} ${new URL(url).pathname}`);
      return globalThis.fetch(url, init as RequestInit) as ReturnType<BinaryFetch>;
    };
    const seen: Change[] = [];
    const third = await TidemarkClient.open({
      baseUrl: stack.url('gateway'),
      storage: new MemoryStorage(),
      credentials: viewer,
      onChange: (c) => void seen.push(c),
      assets: { baseUrl: assetService, cache: new MemoryBlobCache(), fetch: counting },
    });
    opened.push(third);
    await third.pull();
    assert.deepEqual(seen.find((c) => c.entity.id === 'pier')!.assets, [{ field: 'original', sha256: sha, status: 'verified' }], 'the pull shows the asset verified');
    const downloaded = await third.assets.get(sha);
    assert.ok(Buffer.from(await downloaded.arrayBuffer()).equals(bytes), 'byte-equal');
    assert.equal(downloaded.type, 'image/jpeg');
    const again = await third.assets.get(sha);
    assert.ok(Buffer.from(await again.arrayBuffer()).equals(bytes));
    assert.deepEqual(gets, [`GET /v1/assets/${sha}`], 'the second get was served from the cache');
    assert.deepEqual([third.assets.stats().hits, third.assets.stats().entries], [1, 1]);

    // Attaching the same bytes elsewhere sends nothing: the server holds them verified.
    const before = await receivedBytes();
    await third.attach({ type: 'photo', id: 'pier-copy' }, 'original', bytes);
    await third.assets.flush();
    assert.deepEqual(
      third.uploads().map((u) => [u.status, u.deduplicated, u.bytesTransferred]),
      [['verified', true, 0]],
    );
    assert.equal(await receivedBytes(), before);

    // Prefetch by file class: a device declaring `image` has the bytes cached by the time its pull is processed.
    const prefetcher = await TidemarkClient.open({
      baseUrl: stack.url('gateway'),
      storage: new MemoryStorage(),
      credentials: await stack.device('default', 'viewer-2', 'south'),
      assets: { baseUrl: assetService, prefetch: ['image'] },
    });
    opened.push(prefetcher);
    await prefetcher.pull();
    await prefetcher.assets.prefetched();
    assert.equal(prefetcher.assets.cache.has(sha), true, 'prefetched');
    assert.ok(Buffer.from(await (await prefetcher.assets.get(sha)).arrayBuffer()).equals(bytes));
    assert.equal(prefetcher.assets.stats().hits, 1);
  });
});
