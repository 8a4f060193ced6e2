import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Client as Minio } from 'minio';
import { Client as Pg } from 'pg';
import { Upload, type UploadOptions } from 'tus-js-client';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { findFreePort } from '@tidemark/local-stack';
import { STREAMS, connectJetStream, type JetStreamConnection } from '@tidemark/messaging';
import {
  eventually,
  startServiceProcess,
  bucketEnv,
  testBucket,
  testDatabase,
  testIdentity,
  testNats,
  type ServiceProcess,
  type TestBucket,
  type TestDatabase,
  type TestIdentity,
} from '@tidemark/testing';

const MiB = 1024 * 1024;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest();
const hex = (bytes: Buffer) => sha256(bytes).toString('hex');

/**
 * A TCP proxy in front of the service that counts the bytes clients send and can cut connections:
 * `cutAt` holds totals of forwarded bytes; when the total reaches the next one, the connection carrying
 * that byte is destroyed at both ends, mid-request.
 */
class CuttingProxy {
  server!: Server;
  port = 0;
  upstreamBytes = 0;
  cuts = 0;
  cutAt: number[] = [];
  private readonly sockets = new Set<Socket>();

  constructor(private readonly target: () => number) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target(), '127.0.0.1');
      this.sockets.add(client).add(upstream);
      let cutting = false;
      client.on('data', (chunk: Buffer) => {
        if (cutting) return;
        const next = this.cutAt[0];
        if (next !== undefined && this.upstreamBytes + chunk.length >= next) {
          cutting = true;
          this.cutAt.shift();
          const head = chunk.subarray(0, next - this.upstreamBytes);
          this.upstreamBytes += head.length;
          client.pause();
          upstream.write(head, () => {
            this.cuts++;
            client.destroy();
            upstream.destroy();
          });
          return;
        }
        this.upstreamBytes += chunk.length;
        if (!upstream.write(chunk)) {
          client.pause();
          upstream.once('drain', () => client.resume());
        }
      });
      upstream.pipe(client);
      for (const socket of [client, upstream]) {
        socket.on('error', () => undefined);
        socket.on('close', () => {
          this.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
    });
    this.port = await findFreePort();
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('asset-service: resumable, content-addressed uploads over tus', () => {
  let nats: Awaited<ReturnType<typeof testNats>>;
  let db: TestDatabase;
  let bucket: TestBucket;
  let pg: Pg;
  let minio: Minio;
  let js: JetStreamConnection;
  let service: ServiceProcess;
  let proxy: CuttingProxy;
  let env: Record<string, string>;
  let direct: string;
  let viaProxy: string;
  let identity: TestIdentity;
  /** The device every request acts as unless a test names another: registered in workspace `default`. */
  let uploader: Record<string, string>;
  /** A device of another workspace (its token names that workspace). */
  const deviceOf = (workspace: string) => identity.headersFor(`${workspace}-device`, workspace);
  const abandoned = { url: '', objectKey: '', s3UploadId: '' };

  const startService = async () => {
    service = await startServiceProcess('asset-service', env);
  };

  before(async () => {
    [nats, db, bucket] = await Promise.all([testNats(), testDatabase('assets'), testBucket('assets')]);
    identity = testIdentity(db.url);
    const port = String(await findFreePort());
    env = {
      HTTP_PORT: port,
      AUTH_SIGNING_KEYS: identity.signingKeys,
      NATS_URL: nats.url,
      DATABASE_URL: db.url,
      ...bucketEnv(bucket),
      UPLOAD_EXPIRY_MS: '10000',
      UPLOAD_LOCK_TTL_MS: '2000',
      ASSET_COLLECTOR_INTERVAL_MS: '250',
      ASSET_ORPHAN_GRACE_MS: '1000',
      ASSET_MAX_BYTES_IMAGE: String(1 * MiB),
      ASSET_WORKSPACE_QUOTA_BYTES: String(200 * MiB),
      ASSET_PRESIGNED_URL_TTL_S: '60',
      ASSET_STRAY_MULTIPART_AGE_MS: '3000',
    };
    await startService();
    uploader = await identity.headersFor('uploader');
    direct = `${service.url}/v1/uploads`;
    proxy = new CuttingProxy(() => Number(env.HTTP_PORT));
    await proxy.start();
    viaProxy = `http://127.0.0.1:${proxy.port}/v1/uploads`;
    pg = new Pg({ connectionString: db.url });
    await pg.connect();
    const s3 = new URL(bucket.endpoint);
    minio = new Minio({ endPoint: s3.hostname, port: Number(s3.port), useSSL: false, accessKey: bucket.accessKey, secretKey: bucket.secretKey, region: bucket.region, pathStyle: true });
    js = await connectJetStream({ servers: nats.url, name: 'assets-e2e' });
  });

  after(async () => {
    await service?.kill();
    await identity?.close();
    await proxy?.stop();
    await js?.close();
    await pg?.end();
    await db?.drop().catch(() => undefined);
    await nats?.stop();
  });

  /** Uploads with the stock tus-js-client; resolves to the upload URL. */
  async function tusUpload(bytes: Buffer, options: Partial<UploadOptions> & { workspace?: string; contentType?: string } = {}): Promise<string> {
    const { workspace, contentType, ...rest } = options;
    const headers = workspace ? await deviceOf(workspace) : uploader;
    return new Promise((resolve, reject) => {
      const upload = new Upload(bytes, {
        endpoint: direct,
        metadata: { filename: 'blob.bin', contentType: contentType ?? 'application/octet-stream', sha256: sha256(bytes).toString('base64') },
        headers,
        retryDelays: [0, 100, 250, 500, 1000],
        ...rest,
        onSuccess: () => resolve(upload.url!),
        onError: reject,
      });
      upload.start();
    });
  }

  const tus = (url: string, init: { method: string; headers?: Record<string, string>; body?: Buffer }) =>
    fetch(url, { method: init.method, headers: { 'tus-resumable': '1.0.0', ...uploader, ...init.headers }, body: init.body ? new Uint8Array(init.body) : undefined });

  const create = (length: number, digest: Buffer, extra: Record<string, string> = {}, contentType = 'application/octet-stream') =>
    tus(direct, {
      method: 'POST',
      headers: {
        'upload-length': String(length),
        'upload-metadata': `sha256 ${Buffer.from(digest.toString('base64')).toString('base64')},contentType ${Buffer.from(contentType).toString('base64')}`,
        ...extra,
      },
    });

  const download = async (digestHex: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${service.url}/v1/assets/${digestHex}`, { headers: { ...uploader, ...headers } });
    return { response, body: Buffer.from(await response.arrayBuffer()) };
  };

  /** A counter's value; `name` may carry labels (`name{label="x"}`), matched as a prefix of the series. */
  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    const [base, labels] = name.includes('{') ? [name.slice(0, name.indexOf('{')), name.slice(name.indexOf('{') + 1, -1)] : [name, ''];
    const line = text.split('\n').find((l) => (l.startsWith(`${base} `) || l.startsWith(`${base}{`)) && l.includes(labels));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  const openMultipart = async (key: string) => (await minio.listIncompleteUploadsQuery(bucket.name, key, '', '', '/')).uploads.filter((u) => u.key === key);

  const assetEvents = async (digestHex: string): Promise<string[]> => {
    const name = `e2e-${Math.random().toString(36).slice(2, 8)}`;
    await js.jsm.consumers.add(STREAMS.assets, { name, filter_subject: `tm.assets.*.*.${digestHex}`, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
    const consumer = await js.js.consumers.get(STREAMS.assets, name);
    const statuses: string[] = [];
    const batch = await consumer.fetch({ max_messages: 100, expires: 1000 });
    for await (const message of batch) {
      statuses.push((message.json() as { status: string }).status);
      if (message.info.pending === 0) break;
    }
    await js.jsm.consumers.delete(STREAMS.assets, name);
    return statuses;
  };

  it('advertises tus 1.0 with creation, expiration, termination and sha1/sha256 checksums', async () => {
    const response = await fetch(direct, { method: 'OPTIONS' });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get('tus-version'), '1.0.0');
    for (const extension of ['creation', 'creation-with-upload', 'expiration', 'termination', 'checksum']) assert.ok(response.headers.get('tus-extension')?.split(',').includes(extension), extension);
    assert.equal(response.headers.get('tus-checksum-algorithm'), 'sha1,sha256');

    // Started now, checked at the end: an upload abandoned after 6 MiB (one S3 part, a multipart upload open).
    const bytes = randomBytes(6 * MiB);
    const created = await create(8 * MiB, sha256(randomBytes(8)));
    assert.equal(created.status, 201);
    assert.ok(created.headers.get('upload-expires'), 'Upload-Expires on creation');
    abandoned.url = new URL(created.headers.get('location')!, direct).href;
    const patched = await tus(abandoned.url, { method: 'PATCH', headers: { 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, body: bytes });
    assert.equal(patched.status, 204);
    assert.equal(patched.headers.get('upload-offset'), String(6 * MiB));
    const row = (await pg.query('SELECT object_key, s3_upload_id FROM asset_uploads WHERE id = $1', [abandoned.url.split('/').at(-1)])).rows[0];
    Object.assign(abandoned, { objectKey: row.object_key, s3UploadId: row.s3_upload_id });
    assert.ok(abandoned.s3UploadId, 'a multipart upload was started');
    assert.equal((await openMultipart(abandoned.objectKey)).length, 1);
  });

  it('resumes a 64 MiB upload cut several times mid-chunk and stores the exact bytes', async () => {
    const bytes = randomBytes(64 * MiB);
    proxy.cutAt = [7 * MiB, 19 * MiB, 22 * MiB, 24 * MiB + 1234, 44 * MiB].map((n) => proxy.upstreamBytes + n);
    const cutsBefore = proxy.cuts;
    const url = await tusUpload(bytes, { endpoint: viaProxy, chunkSize: 24 * MiB });
    assert.equal(proxy.cuts - cutsBefore, 5, 'every scheduled cut happened');
    assert.ok(proxy.upstreamBytes < 90 * MiB, `resumed rather than restarted (${proxy.upstreamBytes} bytes sent)`);
    const head = await tus(url, { method: 'HEAD' });
    assert.equal(head.headers.get('upload-offset'), String(64 * MiB));

    const { response, body } = await download(hex(bytes));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('etag'), `"${hex(bytes)}"`);
    assert.equal(response.headers.get('cache-control'), 'private, max-age=31536000, immutable', 'never kept by a shared cache');
    assert.match(response.headers.get('vary') ?? '', /authorization/i);
    assert.equal(hex(body), hex(bytes), 'downloaded bytes hash to the declared sha256');
    const staged = await minio.listObjectsV2(bucket.name, 'uploads/', true).toArray();
    assert.deepEqual(staged, [], 'no pending tails left behind');
    await eventually(async () => assert.deepEqual(await assetEvents(hex(bytes)), ['pending', 'uploading', 'verified']));
  });

  it('resumes after the service is killed mid-upload, verifying by reading the object back', async () => {
    const bytes = randomBytes(24 * MiB);
    let killed = false;
    let restarted: Promise<void> | undefined;
    const url = await tusUpload(bytes, {
      chunkSize: 6 * MiB,
      // Retries every 500 ms for up to two minutes: the restart takes as long as the machine makes it.
      retryDelays: Array.from({ length: 240 }, () => 500),
      onChunkComplete: (_size, accepted) => {
        if (accepted >= 12 * MiB && !killed) {
          killed = true;
          restarted = service.kill().then(startService);
        }
      },
    });
    assert.ok(killed);
    await restarted;
    const { body } = await download(hex(bytes));
    assert.equal(hex(body), hex(bytes));
    assert.equal((await tus(url, { method: 'HEAD' })).headers.get('upload-offset'), String(bytes.length));
    assert.equal(await metric('tidemark_asset_sha256_checks_total{method="read-back"}'), 1, 'the new instance had no hash state: it read the object back');
  });

  it('takes an upload whose length is declared only with its last chunk (creation-defer-length)', async () => {
    const bytes = randomBytes(7 * MiB + 3);
    const url = await tusUpload(bytes, { uploadLengthDeferred: true, chunkSize: 3 * MiB });
    const head = await tus(url, { method: 'HEAD' });
    assert.equal(head.headers.get('upload-length'), String(bytes.length));
    assert.equal(hex((await download(hex(bytes))).body), hex(bytes));
  });

  it('refuses a wrong offset with 409, a corrupt checksummed chunk with 460, and keeps nothing of either', async () => {
    const bytes = randomBytes(3 * MiB);
    const created = await create(bytes.length, sha256(bytes));
    const url = new URL(created.headers.get('location')!, direct).href;
    const patch = (offset: number, body: Buffer, headers: Record<string, string> = {}) =>
      tus(url, { method: 'PATCH', headers: { 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset), ...headers }, body });
    assert.equal((await patch(0, bytes.subarray(0, MiB))).status, 204);

    const wrong = await patch(5, bytes.subarray(5, MiB + 5));
    assert.equal(wrong.status, 409);
    assert.match(wrong.headers.get('content-type') ?? '', /problem\+json/);
    assert.equal((await tus(url, { method: 'HEAD' })).headers.get('upload-offset'), String(MiB), '409 changed nothing');

    const chunk = bytes.subarray(MiB, 2 * MiB);
    const corrupt = Buffer.from(chunk);
    corrupt[1000] ^= 0xff;
    const refused = await patch(MiB, corrupt, { 'upload-checksum': `sha256 ${sha256(chunk).toString('base64')}` });
    assert.equal(refused.status, 460);
    assert.equal((await tus(url, { method: 'HEAD' })).headers.get('upload-offset'), String(MiB), 'the corrupt chunk was discarded');
    const unsupported = await patch(MiB, chunk, { 'upload-checksum': `md5 ${createHash('md5').update(chunk).digest('base64')}` });
    assert.equal(unsupported.status, 400);

    const good = await patch(MiB, chunk, { 'upload-checksum': `sha1 ${createHash('sha1').update(chunk).digest('base64')}` });
    assert.equal(good.status, 204);
    const last = bytes.subarray(2 * MiB);
    const done = await patch(2 * MiB, last, { 'upload-checksum': `sha256 ${sha256(last).toString('base64')}` });
    assert.equal(done.status, 204);
    assert.equal(hex((await download(hex(bytes))).body), hex(bytes));
  });

  it('terminates an upload with DELETE and aborts its S3 multipart upload', async () => {
    const bytes = randomBytes(12 * MiB);
    const created = await create(bytes.length, sha256(bytes));
    const url = new URL(created.headers.get('location')!, direct).href;
    await tus(url, { method: 'PATCH', headers: { 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, body: bytes.subarray(0, 9 * MiB) });
    const key = `ws/default/sha256/${hex(bytes)}`;
    assert.equal((await openMultipart(key)).length, 1, 'a multipart upload is open');
    const deleted = await tus(url, { method: 'DELETE' });
    assert.equal(deleted.status, 204);
    assert.deepEqual(await openMultipart(key), [], 'aborted in the store');
    assert.equal((await tus(url, { method: 'HEAD' })).status, 410);
    assert.equal((await download(hex(bytes))).response.status, 404);
  });

  it('completes a second upload of the same bytes at once, sending no body; another workspace uploads them itself', async () => {
    const bytes = randomBytes(2 * MiB + 17);
    await tusUpload(bytes);
    const bodyBefore = await metric('tidemark_asset_upload_body_bytes_total');
    const sentBefore = proxy.upstreamBytes;
    // Stock tus-js-client reads Upload-Offset from the creation response in creation-with-upload mode; with a
    // deferred length it sends no body with the POST, so a dedupe hit costs two requests and zero body bytes.
    await tusUpload(bytes, { endpoint: viaProxy, uploadDataDuringCreation: true, uploadLengthDeferred: true });
    assert.equal(await metric('tidemark_asset_upload_body_bytes_total'), bodyBefore, 'no body bytes reached the service');
    assert.ok(proxy.upstreamBytes - sentBefore < 4096, `only headers went over the wire (${proxy.upstreamBytes - sentBefore} bytes)`);

    // A client in its default mode (POST, then PATCH from 0) is told the offset with a 409 and finishes after a HEAD.
    await tusUpload(bytes, { retryDelays: [0, 100] });

    const otherBefore = await metric('tidemark_asset_upload_body_bytes_total');
    await tusUpload(bytes, { workspace: 'other-ws' });
    assert.equal((await metric('tidemark_asset_upload_body_bytes_total')) - otherBefore, bytes.length, 'another workspace sends every byte');
    assert.equal((await download(hex(bytes), {})).response.status, 200);
    const rows = (await pg.query('SELECT workspace FROM assets WHERE sha256 = $1 ORDER BY workspace', [hex(bytes)])).rows.map((r) => r.workspace);
    assert.deepEqual(rows, ['default', 'other-ws']);
    const objects = (await minio.listObjectsV2(bucket.name, 'ws/', true).toArray()).map((o) => o.name).filter((n) => n?.endsWith(hex(bytes)));
    assert.deepEqual(objects.sort(), [`ws/default/sha256/${hex(bytes)}`, `ws/other-ws/sha256/${hex(bytes)}`]);
  });

  it('serves exact byte ranges, 304 for a matching If-None-Match, HEAD, 416, and nothing to other workspaces', async () => {
    const bytes = randomBytes(3 * MiB + 5);
    await tusUpload(bytes, { contentType: 'video/mp4' });
    const digest = hex(bytes);
    for (const [range, start, end] of [
      ['bytes=0-99', 0, 99],
      ['bytes=1048570-2097160', 1048570, 2097160],
      [`bytes=-10`, bytes.length - 10, bytes.length - 1],
      [`bytes=${3 * MiB}-`, 3 * MiB, bytes.length - 1],
    ] as const) {
      const { response, body } = await download(digest, { range });
      assert.equal(response.status, 206, range);
      assert.equal(response.headers.get('content-range'), `bytes ${start}-${end}/${bytes.length}`);
      assert.ok(body.equals(bytes.subarray(start, end + 1)), `exact bytes for ${range}`);
    }
    const cached = await download(digest, { 'if-none-match': `"${digest}"` });
    assert.equal(cached.response.status, 304);
    assert.equal(cached.body.length, 0);
    const head = await fetch(`${service.url}/v1/assets/${digest}`, { method: 'HEAD', headers: uploader });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(bytes.length));
    assert.equal(head.headers.get('content-type'), 'video/mp4');
    assert.equal((await download(digest, { range: `bytes=${bytes.length}-` })).response.status, 416);
    assert.equal((await download(digest, await deviceOf('stranger'))).response.status, 404);

    const presigned = (await (await fetch(`${service.url}/v1/assets/${digest}/url`, { headers: uploader })).json()) as any;
    const fromStore = Buffer.from(await (await fetch(presigned.url)).arrayBuffer());
    assert.equal(hex(fromStore), digest, 'the presigned URL reads the bytes straight from the store');
  });

  it('keeps workspaces apart: another workspace cannot touch an upload', async () => {
    const created = await create(10, sha256(Buffer.from('0123456789')));
    const url = new URL(created.headers.get('location')!, direct).href;
    for (const method of ['HEAD', 'PATCH', 'DELETE']) {
      const response = await tus(url, {
        method,
        headers: { ...(await deviceOf('stranger')), 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
        ...(method === 'PATCH' ? { body: Buffer.from('0123456789') } : {}),
      });
      assert.equal(response.status, 404, method);
    }
  });

  it('needs a device token for everything but OPTIONS: none is 401, an operator token 403', async () => {
    const uploads = async () => (await pg.query('SELECT count(*)::int AS n FROM asset_uploads')).rows[0].n as number;
    const before = await uploads();
    const digest = sha256(Buffer.from('unauthenticated'));
    const anonymous = await create(15, digest, { authorization: '' });
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer/);
    const operator = { authorization: `Bearer ${await identity.operatorToken('assets-operator', ['ops', 'admin'])}` };
    assert.equal((await create(15, digest, operator)).status, 403);
    assert.equal((await download(hex(Buffer.from('unauthenticated')), { authorization: '' })).response.status, 401);
    assert.equal(await uploads(), before, 'nothing was created');
  });

  it('refuses uploads above the class cap or the workspace quota up front with 413 problem+json naming the limit', async () => {
    const image = await create(2 * MiB, sha256(Buffer.from('big image')), {}, 'image/png');
    assert.equal(image.status, 413);
    assert.match(image.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const imageProblem = (await image.json()) as any;
    assert.equal(imageProblem.limit, 'ASSET_MAX_BYTES_IMAGE');
    assert.match(imageProblem.detail, /ASSET_MAX_BYTES_IMAGE/);

    const quota = await create(201 * MiB, sha256(Buffer.from('too much')), await deviceOf('quota-ws'));
    assert.equal(quota.status, 413);
    const quotaProblem = (await quota.json()) as any;
    assert.equal(quotaProblem.limit, 'ASSET_WORKSPACE_QUOTA_BYTES');
    assert.equal(quotaProblem.limitBytes, 200 * MiB);
  });

  it('fails an upload whose bytes do not match the declared sha256 and leaves nothing visible', async () => {
    const bytes = randomBytes(MiB);
    const claimed = sha256(randomBytes(16));
    const created = await create(bytes.length, claimed);
    const url = new URL(created.headers.get('location')!, direct).href;
    const response = await tus(url, { method: 'PATCH', headers: { 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, body: bytes });
    assert.equal(response.status, 422);
    const problem = (await response.json()) as any;
    assert.equal(problem.actual, hex(bytes));
    assert.equal((await download(claimed.toString('hex'))).response.status, 404);
    assert.equal((await tus(url, { method: 'HEAD' })).status, 410);
    const objects = await minio.listObjectsV2(bucket.name, `ws/default/sha256/${claimed.toString('hex')}`, true).toArray();
    assert.deepEqual(objects, []);
  });

  it('aborts the multipart upload when the whole-file sha256 mismatch is found by the PATCH that started it', async () => {
    const bytes = randomBytes(10 * MiB); // more than one 8 MiB part: this PATCH starts the multipart upload
    const claimed = sha256(randomBytes(16));
    const key = `ws/default/sha256/${claimed.toString('hex')}`;
    const created = await create(bytes.length, claimed);
    const url = new URL(created.headers.get('location')!, direct).href;
    const response = await tus(url, { method: 'PATCH', headers: { 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, body: bytes });
    assert.equal(response.status, 422);
    assert.equal(((await response.json()) as any).actual, hex(bytes));
    assert.deepEqual(await openMultipart(key), [], 'no multipart upload (nor its parts) left in the bucket');
    assert.deepEqual(await minio.listObjectsV2(bucket.name, key, true).toArray(), []);
  });

  it('the collector aborts multipart uploads the ledger does not hold open, once past the age guard, and spares held ones', async () => {
    // A held one: an open upload with a multipart upload (older than the stray below, so only the ledger spares it).
    const held = randomBytes(6 * MiB);
    const created = await create(8 * MiB, sha256(randomBytes(8)));
    const url = new URL(created.headers.get('location')!, direct).href;
    assert.equal((await tus(url, { method: 'PATCH', headers: { 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, body: held })).status, 204);
    const row = (await pg.query('SELECT object_key, s3_upload_id FROM asset_uploads WHERE id = $1', [url.split('/').at(-1)])).rows[0];
    // Strays: started in the store with nothing in the ledger (a crash before recording, a failed abort).
    const strayKey = `ws/default/sha256/${hex(randomBytes(8))}`;
    const stray = await minio.initiateNewMultipartUpload(bucket.name, strayKey, {});
    await minio.uploadPart({ bucketName: bucket.name, objectName: strayKey, uploadID: stray, partNumber: 1, headers: {} }, randomBytes(1000));
    await minio.initiateNewMultipartUpload(bucket.name, 'stray/elsewhere/in/the/bucket', {});
    const started = Date.now();
    assert.equal((await openMultipart(strayKey)).length, 1);
    await eventually(async () => assert.deepEqual([await openMultipart(strayKey), await openMultipart('stray/elsewhere/in/the/bucket')], [[], []]), { timeoutMs: 20_000, intervalMs: 200 });
    assert.ok(Date.now() - started >= 2500, `not aborted before the age guard (${Date.now() - started} ms)`);
    assert.deepEqual(
      (await openMultipart(row.object_key)).map((u) => u.uploadId),
      [row.s3_upload_id],
      'the open upload keeps its multipart upload',
    );
    assert.ok((await metric('tidemark_asset_collected_total{kind="stray-multipart"}')) >= 2, 'counted');
    assert.equal((await tus(url, { method: 'DELETE' })).status, 204);
  });

  it('answers 423 Locked (problem+json) to a PATCH while another PATCH writes to the upload', async () => {
    const bytes = randomBytes(2 * MiB);
    const created = await create(bytes.length, sha256(bytes));
    const url = new URL(created.headers.get('location')!, direct).href;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new Uint8Array(bytes.subarray(0, MiB)));
        await held;
        controller.enqueue(new Uint8Array(bytes.subarray(MiB)));
        controller.close();
      },
    });
    const first = fetch(url, {
      method: 'PATCH',
      headers: { 'tus-resumable': '1.0.0', ...uploader, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0', 'content-length': String(bytes.length) },
      body: slow,
      duplex: 'half',
    } as RequestInit);
    await eventually(async () => assert.ok((await pg.query('SELECT lock_owner FROM asset_uploads WHERE id = $1', [url.split('/').at(-1)])).rows[0].lock_owner, 'the first PATCH holds the upload'));
    // The second PATCH is answered while the first still holds the upload (released at the latest after 1 s,
    // well inside UPLOAD_LOCK_TTL_MS: a service that queued the second behind the first would answer it 409 after).
    const pending = tus(url, { method: 'PATCH', headers: { 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, body: bytes });
    const bound = setTimeout(release, 1000);
    const second = await pending;
    clearTimeout(bound);
    assert.equal(second.status, 423);
    assert.match(second.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const problem = (await second.json()) as any;
    assert.match(problem.type, /upload-locked$/);
    assert.equal(problem.status, 423);
    release();
    assert.equal((await first).status, 204);
    assert.equal(hex((await download(hex(bytes))).body), hex(bytes), 'the first PATCH was not disturbed');
  });

  it('ends the README zero-byte dedupe recipe with tus-js-client and Node stream inputs (Readable, fs.ReadStream): success in a few requests, no body, no loop', async () => {
    const bytes = randomBytes(3 * MiB + 5);
    await tusUpload(bytes);
    const file = join(await mkdtemp(join(tmpdir(), 'tus-stream-')), 'blob.bin');
    await writeFile(file, bytes);
    const bodyBefore = await metric('tidemark_asset_upload_body_bytes_total');
    const inputs = { readable: () => Readable.from([bytes.subarray(0, MiB), bytes.subarray(MiB)]), 'fs.ReadStream': () => createReadStream(file) };
    for (const [name, input] of Object.entries(inputs)) {
      const requests: string[] = [];
      const outcome = await new Promise<string>((resolve) => {
        // Bounded: a client looping on empty PATCHes would never call back.
        const deadline = setTimeout(() => {
          upload.abort().catch(() => undefined);
          resolve('still running after 15 s');
        }, 15_000);
        const upload = new Upload(input(), {
          endpoint: direct,
          metadata: { filename: 'blob.bin', contentType: 'application/octet-stream', sha256: sha256(bytes).toString('base64') },
          headers: uploader,
          chunkSize: MiB,
          uploadDataDuringCreation: true,
          uploadLengthDeferred: true,
          retryDelays: [0, 100, 250],
          onBeforeRequest: (req) => void requests.push(`${req.getMethod()} ${req.getHeader('Upload-Offset') ?? ''}`.trim()),
          onSuccess: () => {
            clearTimeout(deadline);
            resolve('success');
          },
          onError: (error) => {
            clearTimeout(deadline);
            resolve(`error: ${error.message}`);
          },
        });
        upload.start();
      });
      assert.equal(outcome, 'success', `${name}: ${requests.join(', ')}`);
      assert.ok(requests.length <= 3, `${name}: a few requests, not a loop: ${requests.join(', ')}`);
      assert.ok(requests.filter((r) => r.startsWith('PATCH')).length <= 1, `${name}: at most one (refused) PATCH: ${requests.join(', ')}`);
    }
    assert.equal(await metric('tidemark_asset_upload_body_bytes_total'), bodyBefore, 'no body bytes reached the service');
  });

  it('references an asset, orphans it when the last reference goes, and collects its blob after the grace period', async () => {
    const bytes = randomBytes(1000);
    await tusUpload(bytes, { contentType: 'text/plain' });
    const digest = hex(bytes);
    const ref = (method: string, name: string) => fetch(`${service.url}/v1/assets/${digest}/references/${name}`, { method, headers: uploader }).then((r) => r.json());
    assert.deepEqual(await ref('PUT', 'annotation:a1'), { references: 1, status: 'referenced' });
    assert.deepEqual(await ref('PUT', 'annotation:a1'), { references: 1, status: 'referenced' }, 'idempotent');
    assert.deepEqual(await ref('PUT', 'prompt:p1'), { references: 2, status: 'referenced' });
    assert.deepEqual(await ref('DELETE', 'annotation:a1'), { references: 1, status: 'referenced' });
    assert.deepEqual(await ref('DELETE', 'prompt:p1'), { references: 0, status: 'orphaned' });
    await eventually(async () => assert.equal((await download(digest)).response.status, 404), { timeoutMs: 10_000 });
    assert.deepEqual(await minio.listObjectsV2(bucket.name, `ws/default/sha256/${digest}`, true).toArray(), [], 'the blob is deleted');
    await eventually(async () => assert.deepEqual(await assetEvents(digest), ['pending', 'uploading', 'verified', 'referenced', 'orphaned', 'collected']));
  });

  it('expires the abandoned upload: collected, and its multipart upload aborted in the store', async () => {
    await eventually(async () => assert.equal((await tus(abandoned.url, { method: 'HEAD' })).status, 410), { timeoutMs: 30_000, intervalMs: 250 });
    assert.deepEqual(await openMultipart(abandoned.objectKey), [], 'no multipart upload left open');
    const row = (await pg.query('SELECT status, reason FROM asset_uploads WHERE id = $1', [abandoned.url.split('/').at(-1)])).rows[0];
    assert.deepEqual(row, { status: 'collected', reason: 'expired' });
  });
});
