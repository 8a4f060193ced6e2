import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { standingNoticeSubject } from '@tidemark/contracts';
import { findFreePort } from '@tidemark/local-stack';
import { FakeDevice, PARTITIONED_TASK_V1, eventually, push, startServiceProcess, startSlice, type ServiceProcess, type SliceStack } from '@tidemark/testing';

type Answer = { status: number; body: any };

async function call(url: string, method: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  const response = await fetch(url, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: await response.json() };
}

const RULES = {
  version: 1,
  roles: {
    annotator: { write: { annotation: ['label'] } },
    pipeline: { write: { job: '*' } },
  },
};

/**
 * Two gateways on one stack, each caching device standing and access (STANDING_CACHE_MAX_AGE_MS far longer than
 * the test): a change made through one gateway's admin API holds on the other from the very next request, and so
 * does a change of what a device reads (its cached read filter).
 */
describe('standing cache across two gateways: revocations, role changes, rules publishes, subscriptions and claims hold at once on both', () => {
  let stack: SliceStack;
  let a: string;
  let b: string;
  let second: ServiceProcess;
  const tokens = new Map<string, Record<string, string>>();
  const cached = { STANDING_CACHE_MAX_AGE_MS: '300000' };

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service']);
    await stack.start('gateway', cached);
    a = stack.url('gateway');
    second = await startServiceProcess('gateway', { ...stack.env, ...cached, HTTP_PORT: String(await findFreePort()) });
    b = second.url;
    assert.equal((await call(`${a}/v1/admin/workspaces`, 'POST', stack.operatorHeaders, { workspace: 'cache' })).status, 200);
  });
  after(async () => {
    await second?.kill();
    await stack?.stop();
  });

  const admin = (gateway: string, path: string, method: string, body?: unknown) => call(`${gateway}/v1/admin/workspaces/cache${path}`, method, stack.operatorHeaders, body);
  async function enrol(device: FakeDevice, role: string | null): Promise<void> {
    const answer = await admin(a, '/devices', 'POST', { deviceId: device.deviceId, ...(role ? { role } : {}), reason: 'test' });
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    tokens.set(device.deviceId, { authorization: `Bearer ${answer.body.accessToken}` });
  }
  const pushTo = (gateway: string, device: FakeDevice, events: ReturnType<FakeDevice['upsert']>[]) => push(gateway, events, tokens.get(device.deviceId)!);

  it("a revoke through one gateway refuses the device's next push on both, its pulls too", async () => {
    const tablet = new FakeDevice('tablet');
    await enrol(tablet, null);
    // Both gateways have the device's standing cached.
    for (const [i, gateway] of [a, b].entries()) {
      const answer = await pushTo(gateway, tablet, [tablet.upsert('annotation', `n-${i}`, { label: 'hi' })]);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    }
    assert.equal((await call(`${b}/v1/changes`, 'GET', tokens.get('tablet')!)).status, 200);

    assert.equal((await admin(a, '/devices/tablet/revoke', 'POST', { reason: 'lost' })).status, 200);
    const onB = await pushTo(b, tablet, [tablet.upsert('annotation', 'n-after', { label: 'too late' })]);
    assert.equal(onB.status, 401, JSON.stringify(onB.body));
    assert.equal(onB.body.code, 'token-revoked');
    assert.equal((await pushTo(a, tablet, [tablet.upsert('annotation', 'n-after', { label: 'too late' })])).status, 401);
    assert.equal((await call(`${b}/v1/changes`, 'GET', tokens.get('tablet')!)).status, 401, 'the guard of every device route reads the same cache');
  });

  it('a re-enrolment through the other gateway lets the new token in on both at once, and keeps the old one out', async () => {
    const old = tokens.get('tablet')!;
    const answer = await admin(b, '/devices/tablet/reenrol', 'POST', { reason: 'found it' });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    tokens.set('tablet', { authorization: `Bearer ${answer.body.accessToken}` });
    const tablet = new FakeDevice('tablet');
    for (const [i, gateway] of [a, b].entries()) {
      const answer = await pushTo(gateway, tablet, [tablet.upsert('annotation', `r-${i}`, { label: 'back' })]);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal((await push(gateway, [tablet.upsert('annotation', 'r-old', { label: 'old token' })], old)).status, 401);
    }
  });

  it('a role change and a rules publish through one gateway hold on the other from the next push', async () => {
    const runner = new FakeDevice('runner');
    await enrol(runner, 'annotator');
    assert.equal((await admin(a, '/access-rules', 'PUT', { rules: RULES, reason: 'roles' })).status, 201);
    assert.equal((await pushTo(b, runner, [runner.upsert('annotation', 'img-1', { label: 'cat' })])).status, 200, 'an annotator writes labels');

    assert.equal((await admin(a, '/devices/runner/role', 'PUT', { role: 'pipeline', reason: 'moved' })).status, 200);
    const refused = await pushTo(b, runner, [runner.upsert('annotation', 'img-2', { label: 'dog' })]);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.role, 'pipeline');
    assert.equal((await pushTo(b, runner, [runner.upsert('job', 'job-1', { step: 1 })])).status, 200);

    const widened = { ...RULES, version: 2, roles: { ...RULES.roles, pipeline: { write: { job: '*', annotation: ['label'] } } } };
    assert.equal((await admin(a, '/access-rules', 'PUT', { rules: widened, reason: 'pipelines label too' })).status, 201);
    const allowed = await pushTo(b, runner, [runner.upsert('annotation', 'img-2', { label: 'dog' })]);
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
  });

  it('answers from memory until a notice names the device: a change no gateway announced waits for one sent from outside', async () => {
    const laptop = new FakeDevice('laptop');
    await enrol(laptop, 'annotator');
    assert.equal((await pushTo(b, laptop, [laptop.upsert('annotation', 'l-1', { label: 'a' })])).status, 200);
    // Revoked behind the gateways' backs (no admin API, so no notice): gateway B still answers from its cache.
    await stack.db.query("UPDATE devices SET status = 'revoked', generation = generation + 1 WHERE workspace = 'cache' AND device_id = 'laptop'");
    assert.equal((await pushTo(b, laptop, [laptop.upsert('annotation', 'l-2', { label: 'b' })])).status, 200, 'the cache is in use');
    // The notice, published as another writer would, makes B read the standing again.
    stack.js.nc.publish(standingNoticeSubject('cache'), JSON.stringify({ deviceId: 'laptop' }));
    await stack.js.nc.flush();
    const refused = await pushTo(b, laptop, [laptop.upsert('annotation', 'l-3', { label: 'c' })]);
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
  });

  it('what a device reads follows a subscription or claims change made through the other gateway from its next pull', async () => {
    const schema = await call(`${stack.url('journal-service')}/v1/schemas/task/1`, 'PUT', stack.operatorHeaders, PARTITIONED_TASK_V1);
    assert.ok(schema.status === 200 || schema.status === 201, JSON.stringify(schema.body));
    const current = await admin(a, '/access-rules', 'GET');
    const scoped = {
      version: current.body.version + 1,
      scopes: { project: { types: ['task'], partition: { values: { claim: 'projects' } } } },
      roles: { lead: { write: '*' }, reader: { write: {}, read: ['project'] } },
    };
    assert.equal((await admin(a, '/access-rules', 'PUT', { rules: scoped, reason: 'projects' })).status, 201);
    const lead = new FakeDevice('lead');
    await enrol(lead, 'lead');
    const enrolled = await admin(a, '/devices', 'POST', { deviceId: 'reader', role: 'reader', claims: { projects: ['p1', 'p2'] }, reason: 'test' });
    assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
    const reader = { authorization: `Bearer ${enrolled.body.accessToken}` };
    assert.equal((await pushTo(a, lead, [lead.upsert('task', 't1', { project: 'p1', label: 'cat' }), lead.upsert('task', 't2', { project: 'p2', label: 'dog' })])).status, 200);
    const tasks = async (gateway: string, headers: Record<string, string>) =>
      ((await call(`${gateway}/v1/changes?limit=1000`, 'GET', headers)).body.changes as { entity: { type: string; id: string } }[])
        .filter((c) => c.entity.type === 'task')
        .map((c) => c.entity.id)
        .sort();
    await eventually(async () => assert.deepEqual(await tasks(a, tokens.get('lead')!), ['t1', 't2']));

    assert.deepEqual(await tasks(b, reader), [], 'nothing before it subscribes (and gateway B now caches that)');
    assert.equal((await call(`${a}/v1/subscriptions`, 'PUT', reader, { subscriptions: [{ scope: 'project', value: 'p1' }] })).status, 200);
    assert.deepEqual(await tasks(b, reader), ['t1'], 'subscribed through A: B delivers p1 at once');
    assert.equal((await admin(a, '/devices/reader/claims', 'PUT', { claims: { projects: ['p2'] }, reason: 'moved to p2' })).status, 200);
    assert.deepEqual(await tasks(b, reader), [], 'its claims no longer list p1: B stops delivering it at once');
  });
});
