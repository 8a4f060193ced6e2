import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { assetStatusOf } from '@tidemark/persistence';
import { FakeDevice, eventually, startSlice, bucketEnv, testBucket, type SliceStack } from '@tidemark/testing';

const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest();
const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');

/** A record whose asset is not verified yet: merged at once, its reference tracked until the bytes are verified. */
describe('asset references: a record can tell its asset is not verified yet', () => {
  let stack: SliceStack;
  let uploader: Record<string, string>;
  const device = new FakeDevice('field-cam');
  const bytes = randomBytes(300 * 1024);
  const sha = digest(bytes).toString('hex');
  const never = digest(Buffer.from('never uploaded')).toString('hex');

  const waiting = async (query = '') => {
    const response = await fetch(`${stack.url('ops-api')}/v1/assets/waiting${query}`, { headers: stack.operatorHeaders });
    assert.equal(response.status, 200);
    return ((await response.json()) as any).waiting as { workspace: string; entity: { type: string; id: string }; field: string; sha256: string; status: string }[];
  };
  const statusOf = async (...sha256s: string[]) => Object.fromEntries(await assetStatusOf({ query: async (sql, params) => (await stack.db.query(sql, params as unknown[])).rows }, 'default', sha256s));
  /** What a device pulling the record sees of its assets (the latest change of the entity). */
  const pulledAssets = async (id: string) => {
    const page = await stack.get('/v1/changes?limit=1000', 'viewer');
    return page.changes.filter((c: any) => c.entity.id === id).at(-1)?.assets;
  };
  const refsOf = async (id: string) => (await stack.db.query<{ field: string; sha256: string }>('SELECT field, sha256 FROM entity_assets WHERE entity_id = $1 ORDER BY field, sha256', [id])).rows;

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway', 'ops-api']);
    const bucket = await testBucket('asset-refs');
    await stack.start('asset-service', bucketEnv(bucket));
    uploader = await stack.headersFor(device.deviceId);
    const schema = {
      type: 'photo',
      version: 1,
      onDeleteConflict: 'delete-wins',
      fields: { caption: { policy: 'lww', valueType: 'string' }, original: { policy: 'lww', valueType: 'asset', description: 'the uploaded image' }, crops: { policy: 'set', valueType: 'asset' } },
    };
    const put = await fetch(`${stack.url('journal-service')}/v1/schemas/photo/1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...stack.operatorHeaders },
      body: JSON.stringify(schema),
    });
    assert.equal(put.status, 201);
  });
  after(async () => {
    await stack?.stop();
  });

  it('merges the record at once and tracks its references as missing', async () => {
    const created = device.event('photo', 'p1', 'upsert', { fields: { caption: { op: 'set', value: 'pier' }, original: { op: 'set', value: sha }, crops: { op: 'add', values: [never] } } });
    const bad = device.event('photo', 'p2', 'upsert', { fields: { original: { op: 'set', value: 'not-a-sha' } } });
    assert.equal((await stack.push([created, bad])).status, 200);
    await eventually(async () => assert.equal((await refsOf('p1')).length, 2));
    assert.deepEqual(await refsOf('p1'), [
      { field: 'crops', sha256: never },
      { field: 'original', sha256: sha },
    ]);
    const rejected = (await stack.db.query<{ status: string; reason: string }>('SELECT status, reason FROM event_receipts WHERE event_id = $1', [bad.eventId])).rows[0];
    assert.equal(rejected?.status, 'rejected');
    assert.match(rejected!.reason, /field "original": expected asset \(a sha256 as 64 lower-case hex digits\)/);

    assert.deepEqual(await waiting(), [
      { workspace: 'default', entity: { type: 'photo', id: 'p1' }, field: 'crops', sha256: never, status: 'missing' },
      { workspace: 'default', entity: { type: 'photo', id: 'p1' }, field: 'original', sha256: sha, status: 'missing' },
    ]);
    assert.deepEqual(await statusOf(sha, never), { [sha]: 'missing', [never]: 'missing' });
    assert.deepEqual(
      await pulledAssets('p1'),
      [
        { field: 'crops', sha256: never, status: 'missing' },
        { field: 'original', sha256: sha, status: 'missing' },
      ],
      'a pulling device sees the record waiting for its uploads',
    );
    const unauthenticated = await fetch(`${stack.url('ops-api')}/v1/assets/waiting`);
    assert.equal(unauthenticated.status, 401);
  });

  it('flips from missing to uploading to verified as the bytes arrive through tus', async () => {
    const tus = (url: string, method: string, headers: Record<string, string>, body?: Buffer) =>
      fetch(url, { method, headers: { 'tus-resumable': '1.0.0', ...uploader, ...headers }, body: body ? new Uint8Array(body) : undefined });
    const created = await tus(`${stack.url('asset-service')}/v1/uploads`, 'POST', {
      'upload-length': String(bytes.length),
      'upload-metadata': `sha256 ${b64(digest(bytes).toString('base64'))},contentType ${b64('image/jpeg')},filename ${b64('pier.jpg')}`,
    });
    assert.equal(created.status, 201);
    const url = new URL(created.headers.get('location')!, stack.url('asset-service')).href;
    assert.deepEqual(await statusOf(sha), { [sha]: 'uploading' });
    assert.deepEqual(
      (await waiting('?status=uploading')).map((w) => [w.field, w.sha256]),
      [['original', sha]],
    );

    const half = bytes.length / 2;
    assert.equal((await tus(url, 'PATCH', { 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, bytes.subarray(0, half))).status, 204);
    assert.deepEqual(await statusOf(sha), { [sha]: 'uploading' }, 'half the bytes are not an asset');
    assert.equal((await tus(url, 'PATCH', { 'content-type': 'application/offset+octet-stream', 'upload-offset': String(half) }, bytes.subarray(half))).status, 204);

    await eventually(async () => assert.deepEqual(await statusOf(sha, never), { [sha]: 'verified', [never]: 'missing' }));
    assert.deepEqual(
      await waiting(),
      [{ workspace: 'default', entity: { type: 'photo', id: 'p1' }, field: 'crops', sha256: never, status: 'missing' }],
      'only the asset never uploaded is still waited for',
    );
    assert.deepEqual(await waiting('?status=uploading'), []);
    assert.deepEqual(
      await pulledAssets('p1'),
      [
        { field: 'crops', sha256: never, status: 'missing' },
        { field: 'original', sha256: sha, status: 'verified' },
      ],
      'the pull shows the uploaded asset verified',
    );
  });

  it('follows the record: a changed reference replaces the old one, a deleted record references nothing', async () => {
    const other = digest(Buffer.from('another crop')).toString('hex');
    const change = device.event('photo', 'p1', 'upsert', { baseVersion: 1, fields: { crops: { op: 'remove', values: [never] }, original: { op: 'set', value: other } } });
    assert.equal((await stack.push([change])).status, 200);
    await eventually(async () => assert.deepEqual(await refsOf('p1'), [{ field: 'original', sha256: other }]));
    assert.deepEqual(
      (await waiting()).map((w) => w.sha256),
      [other],
    );

    assert.equal((await stack.push([device.remove('photo', 'p1', 2)])).status, 200);
    await eventually(async () => assert.deepEqual(await refsOf('p1'), []));
    assert.deepEqual(await waiting(), []);
  });
});
