import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '@tidemark/contracts';
import { ANNOTATION_V1, DEFAULT_SCHEMAS, type EntityTypeSchema } from '@tidemark/merge';
import { getJson, startSlice, type SliceStack } from '@tidemark/testing';

describe('schema registry API (journal-service as a process, real Postgres and NATS)', () => {
  let stack: SliceStack;
  let base: string;
  /** Publishing needs an admin operator token; reading takes any token (a device's, here). */
  let admin: Record<string, string>;
  let reader: Record<string, string>;

  before(async () => {
    stack = await startSlice(['journal-service']);
    base = `${stack.url('journal-service')}/v1/schemas`;
    admin = stack.operatorHeaders;
    reader = await stack.headersFor('schema-reader');
  });
  after(async () => {
    await stack?.stop();
  });

  const put = async (path: string, body: unknown, contentType = 'application/json', headers = admin) => {
    const response = await fetch(`${base}/${path}`, { method: 'PUT', headers: { 'content-type': contentType, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', location: response.headers.get('location'), body: (await response.json()) as any };
  };
  const pointers = (problem: { errors?: { pointer: string }[] }) => (problem.errors ?? []).map((e) => e.pointer).sort();

  const annotationV2: EntityTypeSchema = {
    ...ANNOTATION_V1,
    version: 2,
    fields: { ...ANNOTATION_V1.fields, severity: { policy: 'max', valueType: 'integer', description: 'how bad the finding is' } },
  };

  it('lists the four shipped schemas, seeded by the migration', async () => {
    const list = await getJson(base, reader);
    assert.deepEqual(
      list.types.map((t: { type: string; latest: number; versions: { version: number }[] }) => [t.type, t.latest, t.versions.map((v) => v.version)]),
      [
        ['annotation', 1, [1]],
        ['job', 1, [1]],
        ['output', 1, [1]],
        ['prompt', 1, [1]],
      ],
    );
    for (const schema of DEFAULT_SCHEMAS) {
      const one = await getJson(`${base}/${schema.type}/1`, reader);
      assert.equal(canonicalJson(one.definition), canonicalJson(schema), `${schema.type} v1 as shipped`);
    }
  });

  it('publishes a compatible new version: 201, then 200 for the same definition', async () => {
    const created = await put('annotation/2', annotationV2);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.location, '/v1/schemas/annotation/2');
    assert.equal(canonicalJson(created.body.definition), canonicalJson(annotationV2));

    const again = await put('annotation/2', annotationV2);
    assert.equal(again.status, 200);
    assert.equal(again.body.createdAt, created.body.createdAt, 'the original row');
    const audit = await stack.db.query<{ actor: string; n: string }>(
      "SELECT actor, count(*) OVER () AS n FROM audit_log WHERE action = 'schema.publish' AND target->>'type' = 'annotation' AND (target->>'version')::int = 2",
    );
    assert.deepEqual(
      audit.rows.map((r) => [r.actor, Number(r.n)]),
      [['test-operator', 1]],
      'one audit entry, for the publish that created the version',
    );

    const reordered = Object.fromEntries(Object.entries(annotationV2).reverse());
    assert.equal((await put('annotation/2', reordered)).status, 200, 'member order is not part of a schema');

    const versions = await getJson(`${base}/annotation`, reader);
    assert.deepEqual(
      versions.versions.map((v: { version: number }) => v.version),
      [1, 2],
    );
  });

  it('refuses to change a published version: 409', async () => {
    const changed = await put('annotation/2', { ...annotationV2, description: 'something else' });
    assert.equal(changed.status, 409);
    assert.match(changed.contentType, /^application\/problem\+json/);
    assert.match(changed.body.type, /schema-version-published$/);
    assert.equal(canonicalJson(changed.body.published.definition), canonicalJson(annotationV2));
    assert.equal(canonicalJson((await getJson(`${base}/annotation/2`, reader)).definition), canonicalJson(annotationV2), 'unchanged');
  });

  it('refuses an invalid definition: 400 naming each problem by JSON pointer', async () => {
    const invalid = await put('annotation/3', {
      ...annotationV2,
      version: 3,
      onDeleteConflict: 'coin-toss',
      fields: { ...annotationV2.fields, votes: { policy: 'counter', valueType: 'string' }, mood: { policy: 'vibes', valueType: 'string' } },
    });
    assert.equal(invalid.status, 400);
    assert.match(invalid.contentType, /^application\/problem\+json/);
    assert.match(invalid.body.type, /validation-failed$/);
    assert.deepEqual(pointers(invalid.body), ['/fields/mood/policy', '/fields/votes/valueType', '/onDeleteConflict']);
    assert.equal((await fetch(`${base}/annotation/3`, { headers: reader })).status, 404, 'nothing published');
  });

  it('refuses a version that changes what a published one declared: 400', async () => {
    const relabel = await put('annotation/3', { ...annotationV2, version: 3, fields: { ...annotationV2.fields, label: { policy: 'lww', valueType: 'string' } } });
    assert.equal(relabel.status, 400);
    // One error per published version it contradicts (v1 and v2), each naming the field.
    assert.deepEqual(pointers(relabel.body), ['/fields/label', '/fields/label']);
    assert.match(relabel.body.errors[0].detail, /merge rule cannot change/);

    const asJob = await put('annotation/3', { ...annotationV2, version: 3, job: true });
    assert.equal(asJob.status, 400);
    assert.deepEqual(pointers(asJob.body), ['/job']);
  });

  it('refuses a body that is not the version the path names: 400', async () => {
    const version = await put('annotation/4', { ...annotationV2, version: 5 });
    assert.equal(version.status, 400);
    assert.deepEqual(pointers(version.body), ['/version']);
    const type = await put('prompt/2', annotationV2);
    assert.equal(type.status, 400);
    assert.deepEqual(pointers(type.body), ['/type']);
    const path = await put('Not%20a%20type/zero', annotationV2);
    assert.equal(path.status, 400);
    assert.deepEqual(
      pointers(path.body).filter((p) => p.startsWith('path:')),
      ['path:type', 'path:version'],
    );
  });

  it('answers bad media types and unknown schemas with problem+json', async () => {
    assert.equal((await put('annotation/3', 'type=annotation', 'text/plain')).status, 415);
    const malformed = await put('annotation/3', '{"type":');
    assert.equal(malformed.status, 400);
    assert.match(malformed.body.type, /malformed-json$/);
    for (const path of ['invoice', 'annotation/99']) {
      const response = await fetch(`${base}/${path}`, { headers: reader });
      assert.equal(response.status, 404, path);
      assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
    }
  });

  it('reads with any token and publishes only with an admin operator token', async () => {
    assert.equal((await fetch(base)).status, 401, 'no token');
    assert.equal((await fetch(base, { headers: stack.operatorHeaders })).status, 200, 'an operator token reads');
    const ops = { authorization: `Bearer ${await stack.operatorToken('watcher', ['ops'])}` };
    assert.equal((await fetch(`${base}/annotation`, { headers: ops })).status, 200, 'an ops operator token reads');
    const v7 = { ...annotationV2, version: 7 };
    assert.equal((await put('annotation/7', v7, 'application/json', {})).status, 401, 'no token');
    const asDevice = await put('annotation/7', v7, 'application/json', reader);
    assert.equal(asDevice.status, 403, 'a device token');
    assert.match(asDevice.body.type, /forbidden$/);
    assert.equal((await put('annotation/7', v7, 'application/json', ops)).status, 403, 'an operator without the admin role');
    assert.equal((await fetch(`${base}/annotation/7`, { headers: reader })).status, 404, 'nothing published');
  });

  it('lets exactly one of two concurrent publishes of a version win', async () => {
    const a = { ...annotationV2, version: 3, fields: { ...annotationV2.fields, reviewer: { policy: 'lww', valueType: 'string' } } };
    const b = { ...annotationV2, version: 3, fields: { ...annotationV2.fields, reviewer: { policy: 'review', valueType: 'string' } } };
    const different = await Promise.all([put('annotation/3', a), put('annotation/3', b)]);
    assert.deepEqual(different.map((r) => r.status).sort(), [201, 409]);

    const c = { ...annotationV2, version: 4 };
    const same = await Promise.all([put('annotation/4', c), put('annotation/4', c)]);
    assert.deepEqual(same.map((r) => r.status).sort(), [200, 201]);

    // Two new versions that each fit the published ones but contradict each other: one is refused.
    const d = { ...annotationV2, version: 5, fields: { ...c.fields, priority: { policy: 'max', valueType: 'integer' } } };
    const e = { ...annotationV2, version: 6, fields: { ...c.fields, priority: { policy: 'counter', valueType: 'integer' } } };
    const racing = await Promise.all([put('annotation/5', d), put('annotation/6', e)]);
    assert.deepEqual(racing.map((r) => r.status).sort(), [201, 400]);
    const rows = await stack.db.query<{ version: number }>("SELECT version FROM entity_schemas WHERE type = 'annotation' ORDER BY version");
    assert.equal(rows.rows.length, 5, 'v1 to v4 and one of v5/v6');
  });
});
