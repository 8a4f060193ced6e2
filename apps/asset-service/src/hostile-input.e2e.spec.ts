import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { Client as Pg } from 'pg';
import { findFreePort } from '@tidemark/local-stack';
import { startServiceProcess, bucketEnv, testBucket, testDatabase, testIdentity, testNats, type ServiceProcess, type TestBucket, type TestDatabase, type TestIdentity } from '@tidemark/testing';

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64');

async function problemOf(response: Response, status: number): Promise<{ type: string; errors?: { pointer: string }[]; [k: string]: unknown }> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/, text);
  assert.doesNotMatch(text, /invalid byte sequence|QueryFailed|FST_ERR/i, 'no internal message leaks');
  return JSON.parse(text);
}

describe('asset-service: hostile input is a 4xx problem naming the header or limit', () => {
  let nats: Awaited<ReturnType<typeof testNats>>;
  let db: TestDatabase;
  let bucket: TestBucket;
  let pg: Pg;
  let service: ServiceProcess;
  let identity: TestIdentity;
  let device: Record<string, string>;

  before(async () => {
    [nats, db, bucket] = await Promise.all([testNats(), testDatabase('assets_hostile'), testBucket('assets-hostile')]);
    identity = testIdentity(db.url);
    service = await startServiceProcess('asset-service', {
      HTTP_PORT: String(await findFreePort()),
      AUTH_SIGNING_KEYS: identity.signingKeys,
      NATS_URL: nats.url,
      DATABASE_URL: db.url,
      ...bucketEnv(bucket),
      UPLOAD_MIN_BYTES_PER_SECOND: '1000',
      UPLOAD_SLOW_WINDOW_MS: '2000',
    });
    device = { ...(await identity.headersFor('uploader')), 'tus-resumable': '1.0.0' };
    pg = new Pg({ connectionString: db.url });
    await pg.connect();
  });
  after(async () => {
    await service?.kill();
    await identity?.close();
    await pg?.end();
    await db?.drop().catch(() => undefined);
    await nats?.stop();
  });

  const create = (bytes: Buffer, metadata: string) =>
    fetch(`${service.url}/v1/uploads`, {
      method: 'POST',
      headers: {
        ...device,
        'upload-length': String(bytes.length),
        'upload-metadata': `sha256 ${b64(createHash('sha256').update(bytes).digest().toString('base64'))},contentType ${b64('text/plain')},${metadata}`,
      },
    });

  it('a filename holding NUL or bytes that are not UTF-8 is 400 naming the Upload-Metadata key; no upload recorded', async () => {
    const bytes = Buffer.from('hello');
    assert.deepEqual(
      (await problemOf(await create(bytes, `filename ${b64('a\u0000b.txt')}`), 400)).errors?.map((e) => e.pointer),
      ['header:upload-metadata/filename'],
    );
    assert.deepEqual(
      (await problemOf(await create(bytes, `filename ${b64(Buffer.from([0x63, 0xe9]))}`), 400)).errors?.map((e) => e.pointer),
      ['header:upload-metadata/filename'],
    );
    assert.equal(Number((await pg.query('SELECT count(*) AS n FROM asset_uploads')).rows[0].n), 0);
  });

  it('an unsatisfiable Range is a 416 problem with Content-Range; an overlong path parameter is a 414 problem', async () => {
    const bytes = Buffer.from('0123456789');
    const created = await create(bytes, `filename ${b64('digits.txt')}`);
    assert.equal(created.status, 201, await created.text());
    const url = new URL(created.headers.get('location')!, service.url).href;
    const patched = await fetch(url, { method: 'PATCH', headers: { ...device, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, body: bytes });
    assert.equal(patched.status, 204, await patched.text());
    const digest = createHash('sha256').update(bytes).digest('hex');
    const ranged = await fetch(`${service.url}/v1/assets/${digest}`, { headers: { ...device, range: 'bytes=10-' } });
    const body = await problemOf(ranged, 416);
    assert.equal(ranged.headers.get('content-range'), 'bytes */10');
    assert.deepEqual(
      body.errors?.map((e) => e.pointer),
      ['header:range'],
    );
    const long = await problemOf(await fetch(`${service.url}/v1/assets/${'a'.repeat(300)}`, { headers: device }), 414);
    assert.deepEqual(long.limit, { name: 'pathParamChars', value: 256 });
  });

  it('a PATCH body trickling in (a byte every 500 ms) is answered 408 within the slow window, the bytes received kept', async () => {
    const bytes = Buffer.alloc(100, 7);
    const created = await create(bytes, `filename ${b64('slow.bin')}`);
    assert.equal(created.status, 201, await created.text());
    const path = new URL(created.headers.get('location')!, service.url).pathname;
    const { port } = new URL(service.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('error', () => undefined);
    const t0 = Date.now();
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - t0)));
    const head = Object.entries({ ...device, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0', 'content-length': '100', host: '127.0.0.1' })
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n');
    socket.write(`PATCH ${path} HTTP/1.1\r\n${head}\r\n\r\n`);
    const trickle = setInterval(() => socket.writable && socket.write(Buffer.from([7])), 500);
    const after = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 15_000))]);
    clearInterval(trickle);
    socket.destroy();
    assert.notEqual(after, -1, 'the connection was still open 15 s later');
    assert.match(received, /^HTTP\/1\.1 408/, received.slice(0, 200));
    assert.match(received, /upload-too-slow/);
    const offset = Number(/upload-offset: (\d+)/i.exec(received)?.[1]);
    assert.ok(offset >= 1 && offset < 100, `the bytes received are kept (Upload-Offset ${offset})`);
    const headed = await fetch(`${service.url}${path}`, { method: 'HEAD', headers: device });
    assert.equal(headed.headers.get('upload-offset'), String(offset), 'the upload resumes from there');
  });
});
