import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDevice, PARTITIONED_TASK_V1, eventually, push, startSlice, type SliceStack } from '@tidemark/testing';

type Answer = { status: number; body: any; contentType: string | null };

async function call(url: string, method: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  const response = await fetch(url, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: await response.json(), contentType: response.headers.get('content-type') };
}

const RULES = {
  version: 1,
  defaultRole: 'annotator',
  scopes: {
    project: { types: ['task'], partition: { values: { claim: 'projects' } } },
    catalog: { types: ['prompt'] },
  },
  roles: {
    annotator: { write: { task: ['label'] }, read: ['project', 'catalog'] },
    lead: { write: '*', resolve: true },
  },
};

type Change = { cursor: string; entity: { type: string; id: string }; state: Record<string, unknown>; deleted: boolean; partition?: string; outOfScope?: true };
const keys = (changes: Change[]) => changes.map((c) => `${c.entity.type}/${c.entity.id}${c.outOfScope ? ' out' : ''}`);

describe('read scopes: each device reads only what it subscribed to and may read', () => {
  let stack: SliceStack;
  let gateway: string;
  const auth = new Map<string, Record<string, string>>();
  const lead = new FakeDevice('lead');
  const alice = new FakeDevice('alice');
  const bob = new FakeDevice('bob');
  const cursors = new Map<string, string>();

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway', 'ops-api']);
    gateway = stack.url('gateway');
    assert.equal((await call(`${gateway}/v1/admin/workspaces`, 'POST', stack.operatorHeaders, { workspace: 'lab' })).status, 200);
    const schema = await call(`${stack.url('journal-service')}/v1/schemas/task/1`, 'PUT', stack.operatorHeaders, PARTITIONED_TASK_V1);
    assert.ok(schema.status === 200 || schema.status === 201, JSON.stringify(schema.body));
    const rules = await admin('/access-rules', 'PUT', { rules: RULES, reason: 'projects' });
    assert.equal(rules.status, 201, JSON.stringify(rules.body));
    for (const [id, role, claims] of [
      ['lead', 'lead', {}],
      ['alice', 'annotator', { projects: ['p1'] }],
      ['bob', 'annotator', { projects: ['p2', 'p3'] }],
    ] as const) {
      const enrolled = await admin('/devices', 'POST', { deviceId: id, role, claims, reason: 'test' });
      assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
      auth.set(id, { authorization: `Bearer ${enrolled.body.accessToken}` });
    }
  });
  after(async () => {
    await stack?.stop();
  });

  const admin = (path: string, method: string, body?: unknown) => call(`${gateway}/v1/admin/workspaces/lab${path}`, method, stack.operatorHeaders, body);
  const as = (device: string, path: string, method = 'GET', body?: unknown) => call(`${gateway}${path}`, method, auth.get(device)!, body);
  const write = async (events: ReturnType<FakeDevice['upsert']>[]) => {
    const answer = await push(gateway, events, auth.get('lead')!);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  };
  /** Everything the device receives after its cursor, moving its cursor on. */
  async function pull(device: string): Promise<Change[]> {
    const page = await as(device, `/v1/changes?after=${cursors.get(device) ?? '0'}&limit=1000`);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    cursors.set(device, page.body.next);
    return page.body.changes;
  }
  /** Waits until the lead (who reads everything) sees the change log reach `count` changes. */
  const projected = (count: number) => eventually(async () => assert.equal((await as('lead', '/v1/changes?limit=1000')).body.changes.length, count));

  it('a role that reads everything receives the whole workspace; one with scopes receives nothing before it subscribes', async () => {
    await write([
      lead.upsert('task', 't1', { project: 'p1', label: 'cat' }),
      lead.upsert('task', 't2', { project: 'p2', label: 'dog' }),
      lead.upsert('task', 't3', { project: 'p2', label: 'owl' }),
      lead.upsert('prompt', 'pr1', { title: 'describe' }),
    ]);
    await projected(4);
    const all = await as('lead', '/v1/changes');
    assert.deepEqual(keys(all.body.changes).sort(), ['prompt/pr1', 'task/t1', 'task/t2', 'task/t3']);
    assert.equal(all.body.changes.find((c: Change) => c.entity.id === 't2').partition, 'p2');
    assert.equal((await as('lead', '/v1/subscriptions')).body.reads, 'all');
    assert.deepEqual((await pull('alice')).length, 0);
    const snapshot = await as('alice', '/v1/snapshot');
    assert.deepEqual(snapshot.body.changes, []);
  });

  it('subscribes only to what the role and claims allow: 403 by pointer otherwise, 400 for an undeclared scope, nothing changed', async () => {
    const refused = await as('alice', '/v1/subscriptions', 'PUT', {
      subscriptions: [
        { scope: 'project', value: 'p1' },
        { scope: 'project', value: 'p2' },
      ],
    });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.match(refused.contentType ?? '', /^application\/problem\+json/);
    assert.equal(refused.body.code, 'read-not-allowed');
    assert.deepEqual(
      refused.body.errors.map((e: { pointer: string; code: string }) => `${e.code}@${e.pointer}`),
      ['value-not-allowed@/subscriptions/1'],
    );
    const unknown = await as('alice', '/v1/subscriptions', 'PUT', { subscriptions: [{ scope: 'everything' }] });
    assert.equal(unknown.status, 400);
    assert.deepEqual(
      unknown.body.errors.map((e: { pointer: string }) => e.pointer),
      ['/subscriptions/0'],
    );
    assert.deepEqual((await as('alice', '/v1/subscriptions')).body.subscriptions, [], 'nothing was changed');

    const ok = await as('alice', '/v1/subscriptions', 'PUT', { subscriptions: [{ scope: 'project', value: 'p1' }, { scope: 'catalog' }] });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.reads, 'scoped');
    assert.deepEqual(ok.body.subscriptions, [
      { scope: 'catalog', types: ['prompt'], allowed: true },
      { scope: 'project', value: 'p1', types: ['task'], allowed: true },
    ]);
    assert.equal((await as('bob', '/v1/subscriptions', 'PUT', { subscriptions: [{ scope: 'project', value: 'p2' }] })).status, 200);
  });

  it('pull and snapshot carry only the subscribed records', async () => {
    const snapshot = await as('alice', '/v1/snapshot');
    assert.deepEqual(keys(snapshot.body.changes), ['prompt/pr1', 'task/t1']);
    assert.deepEqual(keys(await pull('alice')).sort(), ['prompt/pr1', 'task/t1']);
    const bobs = await as('bob', '/v1/snapshot?scope=project&value=p2');
    assert.deepEqual(keys(bobs.body.changes), ['task/t2', 'task/t3']);
    assert.deepEqual(keys(await pull('bob')).sort(), ['task/t2', 'task/t3']);
    const notHis = await as('bob', '/v1/snapshot?scope=project&value=p1');
    assert.equal(notHis.status, 403);
    assert.deepEqual(
      notHis.body.errors.map((e: { pointer: string }) => e.pointer),
      ['query:scope'],
    );
  });

  it('a record that moves between partitions arrives where it moved and leaves, without its state, where it was', async () => {
    await write([lead.upsert('task', 't2', { project: 'p1' }, 1)]);
    await projected(5);
    const alices = await pull('alice');
    assert.deepEqual(keys(alices), ['task/t2']);
    assert.deepEqual(alices[0]!.state, { project: 'p1', label: 'dog' });
    const bobs = await pull('bob');
    assert.deepEqual(keys(bobs), ['task/t2 out']);
    assert.deepEqual({ deleted: bobs[0]!.deleted, state: bobs[0]!.state, partition: bobs[0]!.partition }, { deleted: true, state: {}, partition: undefined }, 'nothing of its new partition is sent');
  });

  it('a long-poll is not answered by changes outside the device’s scopes', async () => {
    const waiting = as('alice', `/v1/changes?after=${cursors.get('alice')}&wait=20`);
    await write([lead.upsert('task', 't3', { label: 'lynx' }, 1)]); // p2: bob's, not alice's
    await projected(6);
    await write([lead.upsert('task', 't1', { label: 'tiger' }, 1)]);
    const answer = await waiting;
    assert.deepEqual(keys(answer.body.changes), ['task/t1']);
    cursors.set('alice', answer.body.next);
    assert.deepEqual(keys(await pull('bob')), ['task/t3']);
  });

  it('a subscription added at run time backfills by snapshot, then flows by pull', async () => {
    await write([lead.upsert('task', 't4', { project: 'p3', label: 'ant' })]);
    await projected(8);
    assert.deepEqual(await pull('bob'), [], 'not subscribed to p3 yet');
    const added = await as('bob', '/v1/subscriptions', 'PUT', {
      subscriptions: [
        { scope: 'project', value: 'p2' },
        { scope: 'project', value: 'p3' },
      ],
    });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const backfill = await as('bob', '/v1/snapshot?scope=project&value=p3');
    assert.deepEqual(keys(backfill.body.changes), ['task/t4']);
    assert.ok(BigInt(backfill.body.cursor) >= BigInt(cursors.get('bob')!));
    await write([lead.upsert('task', 't4', { label: 'bee' }, 1)]);
    await projected(9);
    const flowed = await pull('bob');
    assert.deepEqual(keys(flowed), ['task/t4', 'task/t4'], 'the write before the backfill cursor (older version) and the new one');
    assert.deepEqual(flowed.at(-1)!.state, { project: 'p3', label: 'bee' });
  });

  it('writes stay governed by the role; claims changed by an administrator apply on the next request', async () => {
    const refused = await push(gateway, [alice.upsert('task', 't1', { project: 'p2' })], auth.get('alice')!);
    assert.equal(refused.status, 403);
    assert.deepEqual(
      refused.body.errors.map((e: { pointer: string }) => e.pointer),
      ['/events/0/fields/project'],
    );
    assert.equal((await push(gateway, [bob.upsert('task', 't4', { label: 'wasp' }, 2)], auth.get('bob')!)).status, 200);

    const changed = await admin('/devices/bob/claims', 'PUT', { claims: { projects: ['p2'] }, reason: 'moved off p3' });
    assert.equal(changed.status, 200, `${JSON.stringify(changed.body)}\n${stack.services.get('gateway')!.output().slice(-3000)}`);
    assert.deepEqual(changed.body.claims, { projects: ['p2'] });
    const listed = await as('bob', '/v1/subscriptions');
    assert.deepEqual(
      listed.body.subscriptions.map((s: { value: string; allowed: boolean }) => [s.value, s.allowed]),
      [
        ['p2', true],
        ['p3', false],
      ],
    );
    await projected(10);
    assert.deepEqual(await pull('bob'), [], 'p3 is no longer delivered');
    const audit = await stack.db.query("SELECT detail FROM audit_log WHERE action = 'device.claims'");
    assert.deepEqual(audit.rows, [{ detail: { claims: { projects: ['p2'] }, previous: { projects: ['p2', 'p3'] } } }]);
  });

  it('operators see the scopes, the roles that read them and their subscribers by value', async () => {
    const view = await call(`${stack.url('ops-api')}/v1/scopes?workspace=lab`, 'GET', stack.operatorHeaders);
    assert.equal(view.status, 200, JSON.stringify(view.body));
    assert.equal(view.body.rulesVersion, 1);
    assert.deepEqual(view.body.scopes, [
      { scope: 'catalog', types: ['prompt'], partitioned: false, readBy: ['annotator'], subscribers: 1, subscriptions: [{ subscribers: 1, devices: ['alice'] }] },
      {
        scope: 'project',
        types: ['task'],
        partitioned: true,
        values: { claim: 'projects' },
        readBy: ['annotator'],
        subscribers: 2,
        subscriptions: [
          { value: 'p1', subscribers: 1, devices: ['alice'] },
          { value: 'p2', subscribers: 1, devices: ['bob'] },
          { value: 'p3', subscribers: 1, devices: ['bob'] },
        ],
      },
    ]);
    assert.deepEqual(view.body.undeclared, []);
    assert.equal((await call(`${stack.url('ops-api')}/v1/scopes`, 'GET', stack.operatorHeaders)).status, 400, 'the workspace is required');
  });

  it('operators see lag per scope value and per device within it, and each refused write with its rule', async () => {
    const ops = (path: string) => call(`${stack.url('ops-api')}${path}`, 'GET', stack.operatorHeaders);
    const lagOf = async (value: string) => {
      const view = await ops(`/v1/scopes/lag?workspace=lab&scope=project&value=${value}`);
      assert.equal(view.status, 200, JSON.stringify(view.body));
      return view.body.values[0];
    };
    // Alice has read everything of p1 so far (the gateway notes what it delivered, in the background).
    await eventually(async () =>
      assert.deepEqual(
        (await lagOf('p1')).devices.map((d: { deviceId: string; behind: number }) => [d.deviceId, d.behind]),
        [['alice', 0]],
      ),
    );
    await write([lead.upsert('task', 't5', { project: 'p1', label: 'elk' }), lead.upsert('task', 't6', { project: 'p1', label: 'emu' }), lead.upsert('task', 't7', { project: 'p2', label: 'yak' })]);
    await projected(13);
    const behind = await lagOf('p1');
    assert.deepEqual(
      { subscribers: behind.subscribers, behind: behind.behind, devicesBehind: behind.devicesBehind, devices: behind.devices.map((d: { deviceId: string; behind: number }) => [d.deviceId, d.behind]) },
      { subscribers: 1, behind: 2, devicesBehind: 1, devices: [['alice', 2]] },
      'the p2 write does not count for p1',
    );
    assert.deepEqual(keys(await pull('alice')).sort(), ['task/t5', 'task/t6']);
    await eventually(async () => {
      const caught = await lagOf('p1');
      assert.deepEqual([caught.behind, caught.devices[0].behind, caught.devices[0].cursor], [0, 0, cursors.get('alice')]);
      assert.equal(caught.head, cursors.get('alice'), 'the newest change of p1 is the last one alice read');
    });
    const page = await ops('/v1/scopes/lag?workspace=lab&scope=project&limit=2');
    assert.deepEqual(
      page.body.values.map((v: { value: string }) => v.value),
      ['p1', 'p2'],
    );
    assert.equal(page.body.next, 'p2');
    const rest = await ops('/v1/scopes/lag?workspace=lab&scope=project&limit=2&after=p2');
    assert.deepEqual([rest.body.values.map((v: { value: string }) => v.value), rest.body.next], [['p3'], undefined]);
    const missing = await ops('/v1/scopes/lag?workspace=lab&scope=nothing');
    assert.equal(missing.status, 404);
    assert.match(missing.body.detail, /declare no scope "nothing"/);
    assert.equal((await ops('/v1/scopes/lag?workspace=lab&scope=project&cap=0')).status, 400);

    // Alice's refused write (earlier in this suite) shows up on her device with the rule that refused it.
    await eventually(async () => {
      const devices = await ops('/v1/devices?workspace=lab&sort=device');
      const alices = devices.body.devices.find((d: { deviceId: string }) => d.deviceId === 'alice');
      assert.deepEqual(
        alices.writesRefused && {
          events: alices.writesRefused.events,
          role: alices.writesRefused.last.role,
          version: alices.writesRefused.last.accessRulesVersion,
          pointers: alices.writesRefused.last.denials.map((d: { pointer: string }) => d.pointer),
        },
        { events: 1, role: 'annotator', version: 1, pointers: ['/events/0/fields/project'] },
      );
      assert.equal(alices.read.cursor, cursors.get('alice'));
      assert.equal(devices.body.devices.find((d: { deviceId: string }) => d.deviceId === 'lead').writesRefused, undefined);
    });
  });

  it('a type partitioned by id prefix joins a partitioned scope: a subscriber of a value reads the records whose ids start with it', async () => {
    const clip = {
      type: 'clip',
      version: 1,
      onDeleteConflict: 'edit-wins',
      partitionBy: { idPrefix: { separator: ':' } },
      fields: { note: { policy: 'lww', valueType: 'string' }, verdict: { policy: 'review', valueType: 'string', nullable: true } },
    };
    const published = await call(`${stack.url('journal-service')}/v1/schemas/clip/1`, 'PUT', stack.operatorHeaders, clip);
    assert.ok(published.status === 200 || published.status === 201, JSON.stringify(published.body));
    const refused = await call(`${stack.url('journal-service')}/v1/schemas/clip/2`, 'PUT', stack.operatorHeaders, { ...clip, version: 2, partitionBy: { idPrefix: { separator: '-' } } });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.ok(
      refused.body.errors.some((e: { pointer: string }) => e.pointer.endsWith('/partitionBy')),
      JSON.stringify(refused.body),
    );
    const rules = await admin('/access-rules', 'PUT', {
      rules: { ...RULES, version: 2, scopes: { ...RULES.scopes, project: { ...RULES.scopes.project, types: ['task', 'clip'] } } },
      reason: 'clips by project',
    });
    assert.equal(rules.status, 201, JSON.stringify(rules.body));
    await write([lead.upsert('clip', 'p1:intro', { note: 'opening' }), lead.upsert('clip', 'p2:outro', { note: 'closing' }), lead.upsert('clip', 'loose', { note: 'no project' })]);
    await projected(16);
    const alices = await pull('alice');
    assert.deepEqual(keys(alices), ['clip/p1:intro']);
    assert.equal((alices[0] as Change).partition, 'p1');
    const backfill = await as('bob', '/v1/snapshot?scope=project&value=p2');
    assert.deepEqual(
      keys(backfill.body.changes).filter((k) => k.startsWith('clip/')),
      ['clip/p2:outro'],
    );
  });

  it('the conflict and repair ledgers show a device only the records it reads: a conflict outside its scopes is listed nowhere and answers 404', async () => {
    const enrolled = await admin('/devices', 'POST', { deviceId: 'lead-2', role: 'lead', reason: 'a second writer' });
    assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
    const second = new FakeDevice('lead-2');
    // Two concurrent verdicts on p2:outro (both on version 1): a review conflict of a record in p2.
    await write([lead.upsert('clip', 'p2:outro', { verdict: 'keep' }, 1)]);
    assert.equal((await push(gateway, [second.upsert('clip', 'p2:outro', { verdict: 'drop' }, 1)], { authorization: `Bearer ${enrolled.body.accessToken}` })).status, 200);
    const open = await eventually(async () => {
      const listed = await as('lead', '/v1/conflicts?entityType=clip');
      assert.equal(listed.body.conflicts.length, 1, JSON.stringify(listed.body));
      return listed.body.conflicts[0] as { id: string; entity: { id: string } };
    });
    assert.equal(open.entity.id, 'p2:outro');
    assert.deepEqual(
      (await as('bob', '/v1/conflicts?entityType=clip')).body.conflicts.map((c: { id: string }) => c.id),
      [open.id],
      'bob reads p2',
    );
    const bobs = await as('bob', `/v1/conflicts/${open.id}`);
    assert.equal(bobs.status, 200, JSON.stringify(bobs.body));
    assert.deepEqual((await as('alice', '/v1/conflicts?entityType=clip')).body.conflicts, [], 'alice does not');
    assert.deepEqual((await as('alice', '/v1/conflicts/hotspots?entityType=clip')).body.hotspots, []);
    assert.equal((await as('alice', `/v1/conflicts/${open.id}`)).status, 404);
    const resolve = await as('alice', `/v1/conflicts/${open.id}/resolve`, 'POST', { pick: 'ours' });
    assert.equal(resolve.status, 404, JSON.stringify(resolve.body));
    assert.deepEqual((await as('alice', '/v1/repairs?status=all')).body.repairs, []);
  });
});
