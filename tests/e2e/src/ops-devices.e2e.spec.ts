import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDevice, eventually, getJson, push, startSlice, type SliceStack } from '@tidemark/testing';

describe('ops-api: a device that stops pushing is reported falling behind, under its site', () => {
  let stack: SliceStack;
  let ops: string;
  const quiet = new FakeDevice('lab-quiet');
  const busy = new FakeDevice('lab-busy');
  const field = new FakeDevice('field-only');
  const headers = new Map<string, Record<string, string>>();
  const ops$ = <T = any>(path: string): Promise<T> => getJson<T>(`${ops}${path}`, stack.operatorHeaders);
  const pushFrom = async (device: FakeDevice, n = 1) => {
    const response = await push(
      stack.url('gateway'),
      Array.from({ length: n }, (_, i) => device.upsert('annotation', `${device.deviceId}-${i % 3}`, { label: `x${i}` })),
      headers.get(device.deviceId),
    );
    assert.equal(response.status, 200, JSON.stringify(response.body));
  };

  before(async () => {
    stack = await startSlice(['journal-service', 'gateway', 'merge-service', 'ops-api']);
    ops = stack.url('ops-api');
    for (const [device, site] of [
      [quiet, 'lab'],
      [busy, 'lab'],
      [field, 'field'],
    ] as const)
      headers.set(device.deviceId, (await stack.device('ws-ops', device.deviceId, site)).headers);
  });
  after(async () => {
    await stack?.stop();
  });

  it('lists every registered device with its site and progress; nobody falls behind while all push', async () => {
    await pushFrom(quiet, 3);
    await pushFrom(busy, 2);
    await pushFrom(field, 4);
    const body = await eventually(
      async () => {
        const b = await ops$('/v1/devices?workspace=ws-ops&sort=device&staleAfterSeconds=30');
        assert.deepEqual(
          b.devices.map((d: any) => [d.deviceId, d.site, d.lastPushedSeq, d.contiguousSeq, d.behindBy]),
          [
            ['field-only', 'field', 4, 4, 0],
            ['lab-busy', 'lab', 2, 2, 0],
            ['lab-quiet', 'lab', 3, 3, 0],
          ],
        );
        return b;
      },
      { message: 'every push projected' },
    );
    assert.equal(body.total, 3);
    assert.equal(body.next, null);
    assert.equal(body.staleAfterSeconds, 30);
    for (const d of body.devices) {
      assert.equal(d.fallingBehind, false, d.deviceId);
      assert.equal(d.status, 'active');
      assert.ok(Date.parse(d.lastSeenAt) <= Date.now());
      assert.deepEqual(d.gaps, []);
    }
  });

  it('the quiet device is stale while its site is active; the field site, quiet as a whole, is not falling behind', async () => {
    // Keep lab-busy pushing until lab-quiet has been silent for more than 2 s.
    const devices = await eventually(
      async () => {
        await pushFrom(busy);
        const b = await ops$('/v1/devices?workspace=ws-ops&staleAfterSeconds=2');
        const q = b.devices.find((d: any) => d.deviceId === 'lab-quiet');
        assert.equal(q.fallingBehind, true, JSON.stringify(q));
        return b.devices;
      },
      { timeoutMs: 15_000, intervalMs: 250, message: 'lab-quiet to be reported falling behind' },
    );
    const byId = Object.fromEntries(devices.map((d: any) => [d.deviceId, d]));
    assert.equal(devices[0].deviceId, 'lab-quiet', 'sort=behind (default) puts who falls behind first');
    assert.deepEqual(
      byId['lab-quiet'].reasons.map((r: any) => r.code),
      ['stale'],
    );
    assert.match(byId['lab-quiet'].reasons[0].detail, /while site "lab" is active/);
    assert.ok(byId['lab-quiet'].silentSeconds > 2);
    assert.equal(byId['lab-busy'].fallingBehind, false);
    assert.equal(byId['field-only'].fallingBehind, false, 'field-only is silent too, but so is its whole site');

    const { sites } = await ops$('/v1/sites?workspace=ws-ops&staleAfterSeconds=2');
    const lab = sites.find((s: any) => s.site === 'lab');
    const fieldSite = sites.find((s: any) => s.site === 'field');
    assert.deepEqual({ devices: lab.devices, fallingBehind: lab.fallingBehind, which: lab.fallingBehindDevices }, { devices: 2, fallingBehind: 1, which: ['lab-quiet'] });
    assert.equal(lab.oldestLastSeenAt, byId['lab-quiet'].lastSeenAt, 'the site’s oldest last-seen is its quiet device’s');
    assert.ok(lab.lastSeenAt > lab.oldestLastSeenAt);
    assert.deepEqual({ devices: fieldSite.devices, fallingBehind: fieldSite.fallingBehind }, { devices: 1, fallingBehind: 0 });
    assert.deepEqual(
      sites.map((s: any) => [s.workspace, s.site]),
      [
        ['ws-ops', 'field'],
        ['ws-ops', 'lab'],
      ],
    );

    const filtered = await ops$('/v1/devices?workspace=ws-ops&site=lab&fallingBehind=true&staleAfterSeconds=2');
    assert.deepEqual(
      filtered.devices.map((d: any) => d.deviceId),
      ['lab-quiet'],
    );
    // With the default threshold (an hour) nobody is stale yet.
    assert.ok((await ops$('/v1/devices?workspace=ws-ops')).devices.every((d: any) => !d.fallingBehind));
  });

  it('pages by a cursor and sorts as asked', async () => {
    const first = await ops$('/v1/devices?workspace=ws-ops&sort=device&limit=2');
    assert.deepEqual(
      first.devices.map((d: any) => d.deviceId),
      ['field-only', 'lab-busy'],
    );
    assert.equal(first.next, '2');
    const second = await ops$(`/v1/devices?workspace=ws-ops&sort=device&limit=2&after=${first.next}`);
    assert.deepEqual(
      second.devices.map((d: any) => d.deviceId),
      ['lab-quiet'],
    );
    assert.equal(second.next, null);
    const lastSeen = await ops$('/v1/devices?workspace=ws-ops&sort=last-seen');
    assert.equal(lastSeen.devices.at(-1).deviceId, 'lab-busy', 'the device heard from last comes last');
  });

  it('answers a bad query with problem+json naming the parameter', async () => {
    for (const [path, pointer] of [
      ['/v1/devices?sort=loudest', 'query:sort'],
      ['/v1/devices?limit=0', 'query:limit'],
      ['/v1/devices?staleAfterSeconds=soon', 'query:staleAfterSeconds'],
      ['/v1/devices?fallingBehind=yes', 'query:fallingBehind'],
      ['/v1/devices?colour=red', 'query:colour'],
      ['/v1/sites?site=lab', 'query:site'],
    ] as const) {
      const response = await fetch(`${ops}${path}`, { headers: stack.operatorHeaders });
      const body = (await response.json()) as any;
      assert.equal(response.status, 400, path);
      assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.ok(
        body.errors.some((e: any) => e.pointer === pointer),
        `${path}: ${JSON.stringify(body.errors)}`,
      );
    }
  });
});
