import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { LIMITS } from '@tidemark/contracts';
import { STREAMS } from '@tidemark/messaging';
import { FakeDevice, count, eventually, getJson, push, startSlice, type SliceStack } from '@tidemark/testing';

describe('first slice: push → journal → projection → pull', () => {
  let stack: SliceStack;
  let gateway: string;

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway']);
    gateway = stack.url('gateway');
  });
  after(async () => {
    await stack?.stop();
  });

  const journalCount = async () => (await stack.js.jsm.streams.info(STREAMS.journal)).state.messages;

  it('journals a pushed batch, projects it, and a second device pulls it', async () => {
    const deviceA = new FakeDevice('dev-a');
    const batch = [deviceA.upsert('annotation', 'a1', { label: 'cat' }), deviceA.upsert('annotation', 'a2', { label: 'dog' }), deviceA.upsert('annotation', 'a1', { label: 'lynx' }, 1)];
    const first = await stack.push(batch);
    assert.equal(first.status, 200);
    assert.deepEqual(
      first.body.results.map((r: { status: string }) => r.status),
      ['accepted', 'accepted', 'accepted'],
    );

    const again = await stack.push(batch);
    assert.equal(again.status, 200);
    assert.deepEqual(
      again.body.results.map((r: { status: string }) => r.status),
      ['duplicate', 'duplicate', 'duplicate'],
    );
    assert.deepEqual(
      again.body.results.map((r: { seq: number }) => r.seq),
      first.body.results.map((r: { seq: number }) => r.seq),
    );

    await eventually(async () => assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM event_receipts'), 3));
    assert.equal(await journalCount(), 3, 'one journal entry per event');
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM entities'), 2, 'one projected row per entity');

    // device B pulls everything from the start, then pages with the cursor
    const page1 = await stack.get('/v1/changes?limit=2', 'dev-b');
    assert.equal(page1.changes.length, 2);
    assert.equal(page1.hasMore, true);
    const page2 = await stack.get(`/v1/changes?after=${page1.next}&limit=2`, 'dev-b');
    assert.equal(page2.changes.length, 1);
    assert.equal(page2.hasMore, false);
    // Entities in different partitions commit in either order; one entity's changes keep their order.
    const all = [...page1.changes, ...page2.changes];
    const a1 = all.filter((c: { entity: { id: string } }) => c.entity.id === 'a1');
    assert.deepEqual(
      a1.map((c: { version: number }) => c.version),
      [1, 2],
    );
    assert.deepEqual(a1[1].state, { label: 'lynx' });
    assert.ok(
      all.every((c: { cursor: string }, i: number) => i === 0 || BigInt(c.cursor) > BigInt(all[i - 1].cursor)),
      'cursors increase',
    );
  });

  it('keeps workspaces apart', async () => {
    // dev-w is registered in workspace "other"; its token names that workspace, so its push lands there.
    const device = new FakeDevice('dev-w');
    const result = await stack.push([device.upsert('prompt', 'p1', { text: 'hello' })], 'other');
    assert.equal(result.status, 200);
    await eventually(async () => {
      const other = await stack.get('/v1/changes', 'dev-w2', 'other');
      assert.equal(other.changes.length, 1);
    });
    const mine = await stack.get('/v1/changes', 'dev-b');
    assert.ok(mine.changes.every((c: { entity: { type: string } }) => c.entity.type !== 'prompt'));
  });

  describe('bad input gets problem+json and journals nothing', () => {
    const cases: { name: string; body: string; contentType?: string; status: number; type: RegExp; pointer?: string }[] = [
      { name: 'malformed JSON', body: '{"events":[{', status: 400, type: /malformed-json$/ },
      {
        name: 'wrong types',
        body: JSON.stringify({ events: [{ ...new FakeDevice('d').upsert('annotation', 'x', { a: 1 }), deviceSeq: 'one' }] }),
        status: 400,
        type: /validation-failed$/,
        pointer: '/events/0/deviceSeq',
      },
      {
        name: 'unknown fields',
        body: JSON.stringify({ events: [{ ...new FakeDevice('d').upsert('annotation', 'x', { a: 1 }), colour: 'red' }] }),
        status: 400,
        type: /validation-failed$/,
        pointer: '/events/0/colour',
      },
      {
        name: 'too many events',
        body: JSON.stringify({ events: Array.from({ length: LIMITS.maxEventsPerBatch + 1 }, () => new FakeDevice('d').upsert('annotation', 'x', { a: 1 })) }),
        status: 400,
        type: /validation-failed$/,
        pointer: '/events',
      },
      { name: 'oversize body', body: JSON.stringify({ events: [new FakeDevice('d').upsert('annotation', 'x', { a: 'x'.repeat(LIMITS.maxBodyBytes + 10) })] }), status: 413, type: /body-too-large$/ },
      { name: 'not JSON at all', body: 'events=1', contentType: 'text/plain', status: 415, type: /unsupported-media-type$/ },
      {
        name: 'one bad event among good ones',
        body: JSON.stringify({
          events: [new FakeDevice('g').upsert('annotation', 'ok', { a: 1 }), { ...new FakeDevice('g2').upsert('annotation', 'x', { a: 1 }), entity: { type: 'Bad Type', id: 'x' } }],
        }),
        status: 400,
        type: /validation-failed$/,
        pointer: '/events/1/entity/type',
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const before = await journalCount();
        const response = await fetch(`${gateway}/v1/events`, { method: 'POST', headers: { 'content-type': c.contentType ?? 'application/json', ...(await stack.headersFor('d')) }, body: c.body });
        assert.equal(response.status, c.status);
        assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
        const problem = (await response.json()) as any;
        assert.match(problem.type, c.type);
        assert.equal(problem.status, c.status);
        if (c.pointer)
          assert.ok(
            problem.errors.some((e: { pointer: string }) => e.pointer === c.pointer),
            JSON.stringify(problem.errors),
          );
        assert.equal(await journalCount(), before, 'nothing journaled');
      });
    }
  });

  it('journals only what a registered device pushes as itself: no token is 401, another device’s events 403', async () => {
    const before = await journalCount();
    const event = new FakeDevice('dev-x').upsert('annotation', 'x1', { label: 'owl' });
    const anonymous = await push(gateway, [event]);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.contentType ?? '', /^application\/problem\+json/);
    const impostor = await push(gateway, [event], await stack.headersFor('dev-a'));
    assert.equal(impostor.status, 403);
    assert.ok(
      impostor.body.errors.some((e: { pointer: string }) => e.pointer === '/events/0/deviceId'),
      JSON.stringify(impostor.body),
    );
    assert.equal((await fetch(`${gateway}/v1/changes`)).status, 401);
    assert.equal(await journalCount(), before, 'nothing journaled');
  });

  it('serves Prometheus metrics and stays up after bad input', async () => {
    const metrics = await (await fetch(`${gateway}/metrics`)).text();
    assert.match(metrics, /tidemark_push_events_total\{status="accepted"[^}]*\} \d+/);
    assert.match(metrics, /http_request_duration_seconds_count\{[^}]*method="POST",route="\/v1\/events",status="400"/);
    const health = await fetch(`${gateway}/healthz`);
    assert.equal(health.status, 200);
  });

  it('serves an OpenAPI document whose schemas validate what the gateway accepts', async () => {
    const doc = await getJson(`${gateway}/v1/openapi.json`);
    assert.equal(doc.openapi, '3.1.0');
    const push = doc.paths['/v1/events'].post;
    assert.ok(push.responses['200'] && push.responses['400'] && push.responses['413']);
    assert.ok(doc.paths['/v1/conflicts/{id}/resolve'] || Object.keys(doc.paths).some((p: string) => p.includes('resolve')), 'the ledger routes are documented');
    const ajv = new Ajv({ strict: false });
    addFormats(ajv);
    const validate = ajv.compile(push.requestBody.content['application/json'].schema);
    assert.equal(validate({ events: [new FakeDevice('doc').upsert('annotation', 'x', { label: 'y' })] }), true, JSON.stringify(validate.errors));
    assert.equal(validate({ events: [{ eventId: 'nope' }] }), false);
  });

  it('shows one entity’s history from the journal', async () => {
    const history = await getJson(`${stack.url('journal-service')}/v1/history/annotation/a1?workspace=default`, stack.operatorHeaders);
    assert.equal(history.events?.length, 2, JSON.stringify(history));
    assert.deepEqual(
      history.events.map((e: { record: { event: { fields: { label: { value: string } } } } }) => e.record.event.fields.label.value),
      ['cat', 'lynx'],
    );
  });
});
