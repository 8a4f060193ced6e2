import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STREAMS } from '@tidemark/messaging';
import { FakeDevice, count, eventually, push, startSlice, type SliceStack } from '@tidemark/testing';

type Answer = { status: number; body: any; contentType: string | null };

async function call(url: string, method: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  const response = await fetch(url, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: await response.json(), contentType: response.headers.get('content-type') };
}

function assertForbidden(answer: Answer, code: string, pointers: string[] = []): void {
  assert.equal(answer.status, 403, JSON.stringify(answer.body));
  assert.match(answer.contentType ?? '', /^application\/problem\+json/);
  assert.match(answer.body.type, /\/forbidden$/);
  assert.equal(answer.body.code, code, JSON.stringify(answer.body));
  assert.deepEqual(
    (answer.body.errors ?? []).map((e: { pointer: string }) => e.pointer),
    pointers,
  );
}

const RULES_V1 = {
  version: 1,
  roles: {
    annotator: { write: { annotation: ['label', 'tags'] } },
    reviewer: { write: { annotation: '*' }, resolve: ['annotation'] },
    pipeline: { write: { job: '*', output: '*', annotation: ['confidence'] } },
  },
};

describe('access rules at the gateway: roles per workspace, enforced on push and on resolve', () => {
  let stack: SliceStack;
  let gateway: string;
  const devices = new Map<string, Record<string, string>>();

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway']);
    gateway = stack.url('gateway');
    assert.equal((await call(`${gateway}/v1/admin/workspaces`, 'POST', stack.operatorHeaders, { workspace: 'lab' })).status, 200);
  });
  after(async () => {
    await stack?.stop();
  });

  const admin = (path: string, method: string, body?: unknown) => call(`${gateway}/v1/admin/workspaces/lab${path}`, method, stack.operatorHeaders, body);
  const journalCount = async () => (await stack.js.jsm.streams.info(STREAMS.journal)).state.messages;
  /** Enrols a device of `lab` through the admin API, with a role unless null. */
  async function enrol(deviceId: string, role: string | null): Promise<Answer> {
    const answer = await admin('/devices', 'POST', { deviceId, ...(role ? { role } : {}), reason: 'test' });
    if (answer.status === 201) devices.set(deviceId, { authorization: `Bearer ${answer.body.accessToken}` });
    return answer;
  }
  const pushAs = (device: FakeDevice, events = [] as ReturnType<FakeDevice['upsert']>[]) => push(gateway, events, devices.get(device.deviceId)!);

  const runner = new FakeDevice('runner');
  const tablet = new FakeDevice('tablet');
  const laptop = new FakeDevice('laptop');
  const plain = new FakeDevice('plain');
  /** What the pipeline device wrote before the workspace had rules. */
  let early: ReturnType<FakeDevice['upsert']>[] = [];

  it('without access rules every device writes everything, as before; roles may be given ahead of the rules', async () => {
    for (const [id, role] of [
      ['runner', 'pipeline'],
      ['tablet', 'annotator'],
      ['laptop', 'annotator'],
      ['plain', null],
      ['judge', 'reviewer'],
    ] as const) {
      assert.equal((await enrol(id, role)).status, 201);
    }
    assert.equal((await admin('/access-rules', 'GET')).status, 404);
    early = [runner.upsert('annotation', 'img-0', { label: 'cat', region: null }), runner.event('job', 'job-0', 'transition', { job: { to: 'queued', attempt: 1 } })];
    const answer = await pushAs(runner, early);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(
      (await call(`${gateway}/v1/admin/workspaces/lab/devices`, 'GET', stack.operatorHeaders)).body.devices.map((d: any) => [d.deviceId, d.role]),
      [
        ['judge', 'reviewer'],
        ['laptop', 'annotator'],
        ['plain', null],
        ['runner', 'pipeline'],
        ['tablet', 'annotator'],
      ],
    );
  });

  it('publishes versioned rules through the admin API: 201, a retry 200, a stale version 409, invalid rules 400 by pointer', async () => {
    const created = await admin('/access-rules', 'PUT', { rules: RULES_V1, reason: 'lock the lab down' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.rules, RULES_V1);
    assert.equal(created.body.publishedBy, 'test-operator');
    assert.equal((await admin('/access-rules', 'PUT', { rules: RULES_V1, reason: 'retry' })).status, 200);
    const stale = await admin('/access-rules', 'PUT', { rules: { ...RULES_V1, defaultRole: 'annotator' }, reason: 'x' });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.next, 2);
    const invalid = await admin('/access-rules', 'PUT', { rules: { version: 2, roles: { annotator: { write: { annotation: [] }, read: ['mine'] } } }, reason: 'x' });
    assert.equal(invalid.status, 400);
    assert.deepEqual(invalid.body.errors.map((e: { pointer: string }) => e.pointer).sort(), ['/rules/roles/annotator/read/0', '/rules/roles/annotator/write/annotation']);
    assert.deepEqual((await admin('/access-rules', 'GET')).body.version, 1);
    const devicesMayNot = await call(`${gateway}/v1/admin/workspaces/lab/access-rules`, 'GET', devices.get('judge')!);
    assert.equal(devicesMayNot.status, 403, 'only an operator with the admin role reads the rules');
  });

  it('refuses a pipeline device a label write with 403 naming the pointer, and journals nothing of the batch', async () => {
    const before = await journalCount();
    const batch = [
      runner.upsert('job', 'job-1', { kind: 'embed', progress: 0.5 }),
      runner.upsert('annotation', 'img-1', { confidence: 0.9, label: 'dog' }),
      runner.upsert('output', 'out-1', { score: 1 }),
    ];
    const refused = await pushAs(runner, batch);
    assertForbidden(refused, 'write-not-allowed', ['/events/1/fields/label']);
    assert.equal(refused.body.role, 'pipeline');
    assert.equal(refused.body.accessRulesVersion, 1);
    assert.equal(refused.body.errors[0].code, 'field-not-writable');
    assert.match(refused.body.errors[0].detail, /role "pipeline" \(access rules v1\) may not write field "label" of annotation/);
    assert.match(refused.body.detail, /1 of the 3 events; nothing of this request was journaled/);
    assert.equal(await journalCount(), before, 'nothing of the refused batch was journaled');
    const metrics = await (await fetch(`${gateway}/metrics`)).text();
    assert.match(metrics, /^tidemark_push_writes_refused_total\{code="field-not-writable",role="pipeline",service="gateway"\} 1$/m, 'operators see the refusal with the rule that refused it');
    assert.match(stack.services.get('gateway')!.output(), /"msg":"push refused by access rules"/);

    const allowed = await pushAs(runner, [
      runner.upsert('job', 'job-1', { kind: 'embed', progress: 0.5 }),
      runner.upsert('annotation', 'img-1', { confidence: 0.9 }),
      runner.event('job', 'job-1', 'delete'),
    ]);
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    assert.equal(await journalCount(), before + 3);
  });

  it('refuses deletes, other types and resolutions pushed as events the role may not make, each by pointer', async () => {
    const before = await journalCount();
    const refused = await pushAs(tablet, [
      tablet.upsert('annotation', 'img-2', { label: 'cat' }),
      tablet.event('annotation', 'img-2', 'delete'),
      tablet.upsert('job', 'job-2', { kind: 'x' }),
      tablet.event('annotation', 'img-2', 'resolve', { resolution: { conflictId: 'c-1', pick: 'ours' } }),
    ]);
    assertForbidden(refused, 'write-not-allowed', ['/events/1/op', '/events/2/entity/type', '/events/3/op']);
    assert.deepEqual(
      refused.body.errors.map((e: { code: string }) => e.code),
      ['delete-not-allowed', 'type-not-writable', 'resolve-not-allowed'],
    );
    const roleless = await pushAs(plain, [plain.upsert('annotation', 'img-2', { label: 'cat' })]);
    assertForbidden(roleless, 'write-not-allowed', ['/events/0']);
    assert.match(roleless.body.errors[0].detail, /no role, and the workspace's access rules \(v1\) declare no default role/);
    assert.equal(await journalCount(), before);
  });

  it('a device role change takes effect on the next push, audited; a role the rules do not declare is refused', async () => {
    const event = runner.upsert('annotation', 'img-3', { label: 'owl' });
    assertForbidden(await pushAs(runner, [event]), 'write-not-allowed', ['/events/0/fields/label']);
    const changed = await admin('/devices/runner/role', 'PUT', { role: 'annotator', reason: 'labels too' });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal(changed.body.role, 'annotator');
    assert.equal((await pushAs(runner, [event])).status, 200, 'the same event, now allowed');
    const typo = await admin('/devices/runner/role', 'PUT', { role: 'anotator', reason: 'x' });
    assert.equal(typo.status, 400);
    assert.match(typo.body.errors[0].detail, /"anotator" is not a role of the workspace's access rules \(v1\): one of "annotator", "pipeline", "reviewer"/);
    assert.equal((await enrol('ghost', 'intern')).status, 400);
    const audit = await stack.db.query("SELECT target, detail FROM audit_log WHERE action = 'device.role'");
    assert.deepEqual(audit.rows, [{ target: { workspace: 'lab', deviceId: 'runner' }, detail: { role: 'annotator', previous: 'pipeline' } }]);
  });

  it('answers a retry of events journaled before the rules duplicate: they are never journaled again, so not refused', async () => {
    await eventually(async () => assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM event_receipts WHERE event_id = ANY($1::uuid[])', [early.map((e) => e.eventId)]), 2));
    const retry = await pushAs(runner, early);
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.deepEqual(
      retry.body.results.map((r: { status: string }) => r.status),
      ['duplicate', 'duplicate'],
    );
    assertForbidden(await pushAs(runner, [...early, runner.upsert('job', 'job-0', { kind: 'x' })]), 'write-not-allowed', ['/events/2/entity/type']);
  });

  it('a rules change takes effect on the next push, and every version is kept and audited', async () => {
    const event = tablet.upsert('annotation', 'img-4', { label: 'cat', confidence: 0.4 });
    assertForbidden(await pushAs(tablet, [event]), 'write-not-allowed', ['/events/0/fields/confidence']);
    const v2 = { ...RULES_V1, version: 2, defaultRole: 'annotator', roles: { ...RULES_V1.roles, annotator: { write: { annotation: ['label', 'tags', 'confidence'] } } } };
    assert.equal((await admin('/access-rules', 'PUT', { rules: v2, reason: 'annotators record confidence' })).status, 201);
    assert.equal((await pushAs(tablet, [event])).status, 200);
    assert.equal((await pushAs(plain, [plain.upsert('annotation', 'img-4', { label: 'lynx' }, 1)])).status, 200, 'the default role applies to a device without one');
    assert.deepEqual(
      (await admin('/access-rules/versions', 'GET')).body.versions.map((v: { version: number }) => v.version),
      [1, 2],
    );
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'access-rules.publish'"), 2);
  });

  it('resolving a conflict is a permission: 403 without it, 202 for a role that has it', async () => {
    const seed = tablet.upsert('annotation', 'img-5', { confidence: 0.5 });
    assert.equal((await pushAs(tablet, [seed])).status, 200);
    assert.equal((await pushAs(tablet, [tablet.upsert('annotation', 'img-5', { label: 'cat' }, 1)])).status, 200);
    const theirs = laptop.upsert('annotation', 'img-5', { label: 'dog' }, 1);
    assert.equal((await pushAs(laptop, [theirs])).status, 200);
    const id = `${theirs.eventId}:label`;
    await eventually(async () => assert.equal((await call(`${gateway}/v1/conflicts/${encodeURIComponent(id)}`, 'GET', devices.get('judge')!)).status, 200), {
      message: `conflict ${id} to be projected`,
    });

    const before = await journalCount();
    const resolve = (as: string) => call(`${gateway}/v1/conflicts/${encodeURIComponent(id)}/resolve`, 'POST', devices.get(as)!, { pick: 'theirs' });
    const annotator = await resolve('tablet');
    assertForbidden(annotator, 'resolve-not-allowed');
    assert.match(annotator.body.detail, /role "annotator" \(access rules v2\) may not resolve conflicts; nothing was journaled/);
    assert.equal(await journalCount(), before);
    const accepted = await resolve('judge');
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    await eventually(async () => assert.equal((await call(`${gateway}/v1/conflicts/${encodeURIComponent(id)}`, 'GET', devices.get('judge')!)).body.status, 'resolved'));
  });

  it('documents the access routes and their refusals in the OpenAPI document', async () => {
    const { paths } = (await call(`${gateway}/v1/openapi.json`, 'GET', {})).body;
    assert.ok(paths['/v1/admin/workspaces/{workspace}/access-rules'].put.responses['409']);
    assert.ok(paths['/v1/admin/workspaces/{workspace}/access-rules'].get);
    assert.ok(paths['/v1/admin/workspaces/{workspace}/access-rules/versions'].get);
    assert.ok(paths['/v1/admin/workspaces/{workspace}/devices/{deviceId}/role'].put);
    assert.ok(paths['/v1/admin/workspaces/{workspace}/devices'].post.requestBody.content['application/json'].schema.properties.role);
    assert.match(paths['/v1/events'].post.responses['403'].description, /write-not-allowed/);
    assert.match(paths['/v1/conflicts/{id}/resolve'].post.responses['403'].description, /resolve-not-allowed/);
  });

  it('leaves other workspaces open', async () => {
    const other = new FakeDevice('outsider');
    const answer = await stack.push([other.upsert('annotation', 'img-9', { label: 'cat', region: null }), other.event('annotation', 'img-9', 'delete')], 'default');
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  });
});
