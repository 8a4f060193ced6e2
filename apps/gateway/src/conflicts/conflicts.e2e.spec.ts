import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { STREAMS } from '@tidemark/messaging';
import { FakeDevice, count, eventually, startSlice, type SliceStack } from '@tidemark/testing';

/** The second workspace of the isolation checks; its devices are registered there, so their tokens name it. */
const OTHER = 'other';

async function request(
  url: string,
  init: { method?: string; body?: unknown; raw?: string; contentType?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; contentType: string | null }> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.body !== undefined || init.raw !== undefined ? { 'content-type': init.contentType ?? 'application/json' } : {}), ...init.headers },
    ...(init.raw !== undefined ? { body: init.raw } : init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return { status: response.status, body: await response.json(), contentType: response.headers.get('content-type') };
}

function assertProblem(response: { status: number; body: any; contentType: string | null }, status: number, type: RegExp, pointer?: string): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.match(response.contentType ?? '', /^application\/problem\+json/);
  assert.match(response.body.type, type);
  assert.equal(response.body.status, status);
  if (pointer)
    assert.ok(
      response.body.errors?.some((e: { pointer: string }) => e.pointer === pointer),
      `${pointer} not in ${JSON.stringify(response.body.errors)}`,
    );
}

describe('conflict ledger: conflicts, resolution, receipts and repairs', () => {
  let stack: SliceStack;
  let gateway: string;
  const seed = new FakeDevice('seed');
  const tablet = new FakeDevice('tablet-a');
  const laptop = new FakeDevice('laptop-b');

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway']);
    gateway = stack.url('gateway');
  });
  after(async () => {
    await stack?.stop();
  });

  const journalCount = async () => (await stack.js.jsm.streams.info(STREAMS.journal)).state.messages;
  /** Reads and resolutions go through a reviewing device of the workspace; pushes go as each event's device. */
  const viewer = (workspace = 'default') => stack.headersFor('viewer', workspace);
  const getJson = (path: string, workspace = 'default') => stack.get(path, 'viewer', workspace);

  /** A first write, then two devices both set `label` from base version 0: the second opens a conflict. */
  async function openConflict(entityId: string, values: [string, string], workspace = 'default') {
    const first = seed.upsert('annotation', entityId, { confidence: 0.5 });
    const ours = tablet.upsert('annotation', entityId, { label: values[0] }, 0);
    const theirs = laptop.upsert('annotation', entityId, { label: values[1] }, 0);
    for (const event of [first, ours, theirs]) assert.equal((await stack.push([event], workspace)).status, 200);
    const id = `${theirs.eventId}:label`;
    const conflict = await eventually(
      async () => {
        const response = await request(`${gateway}/v1/conflicts/${encodeURIComponent(id)}`, { headers: await viewer(workspace) });
        assert.equal(response.status, 200, JSON.stringify(response.body));
        return response.body;
      },
      { message: `conflict ${id} to be projected` },
    );
    return { id, conflict, first, ours, theirs };
  }

  /** Resolves as a device of the workspace (`viewer` unless named): the event is journaled as `resolver:<device>`. */
  const resolve = async (id: string, body: unknown, workspace = 'default', as = 'viewer') =>
    request(`${gateway}/v1/conflicts/${encodeURIComponent(id)}/resolve`, { method: 'POST', body, headers: await stack.headersFor(as, workspace) });
  const latestChange = async (entityId: string) => {
    const { changes } = await getJson('/v1/changes?limit=1000');
    return changes.filter((c: { entity: { id: string } }) => c.entity.id === entityId).at(-1);
  };
  const reviewMessage = (kind: 'opened' | 'resolved', entityId: string, workspace = 'default') =>
    eventually(
      async () => {
        const message = await stack.js.jsm.streams.getMessage(STREAMS.review, { last_by_subj: `tm.review.${workspace}.${kind}.annotation.${entityId}` });
        assert.ok(message, `no ${kind} message for ${entityId} on REVIEW yet`);
        return message.json<any>();
      },
      { message: `REVIEW ${kind} message for ${entityId}` },
    );

  let first: Awaited<ReturnType<typeof openConflict>>;

  it('opens a conflict on a concurrent label edit: listed, in hotspots, with base/ours/theirs and both devices, on REVIEW', async () => {
    first = await openConflict('img-1', ['cat', 'dog']);
    const c = first.conflict;
    assert.equal(c.id, first.id);
    assert.deepEqual(c.entity, { type: 'annotation', id: 'img-1' });
    assert.equal(c.field, 'label');
    assert.equal(c.kind, 'field');
    assert.equal(c.rule, 'review:concurrent-edit');
    assert.equal(c.status, 'open');
    assert.deepEqual(c.base, { kind: 'absent' });
    assert.equal(c.ours.value, 'cat');
    assert.equal(c.ours.deviceId, 'tablet-a');
    assert.deepEqual(c.ours.hlc, first.ours.hlc);
    assert.equal(c.ours.eventId, first.ours.eventId);
    assert.equal(c.theirs.value, 'dog');
    assert.equal(c.theirs.deviceId, 'laptop-b');
    assert.deepEqual(c.theirs.hlc, first.theirs.hlc);
    assert.equal(c.theirs.baseVersion, 0);
    assert.equal(c.opened.eventId, first.theirs.eventId);
    assert.equal(c.opened.version, 3);
    assert.ok(!Number.isNaN(Date.parse(c.opened.acceptedAt)));
    assert.equal(c.resolved, undefined);

    const listed = await getJson('/v1/conflicts');
    assert.deepEqual(listed.conflicts, [c]);
    assert.equal(listed.hasMore, false);
    assert.equal((await getJson('/v1/conflicts?entityType=annotation&field=label&entityId=img-1')).conflicts.length, 1);
    assert.equal((await getJson('/v1/conflicts?entityType=prompt')).conflicts.length, 0);
    assert.equal((await getJson('/v1/conflicts?status=resolved')).conflicts.length, 0);

    const { hotspots } = await getJson('/v1/conflicts/hotspots');
    assert.deepEqual(hotspots, [{ entityType: 'annotation', field: 'label', open: 1, oldestOpenedAt: c.opened.acceptedAt }]);

    const opened = await reviewMessage('opened', 'img-1');
    assert.equal(opened.kind, 'conflict.opened');
    assert.equal(opened.conflict.id, first.id);

    const pulled = await latestChange('img-1');
    assert.deepEqual(pulled.inConflict, ['label']);
  });

  it('resolves with a value through the journal: 202, then resolved, pulled state updated, REVIEW resolved; again is 409', async () => {
    const before = await journalCount();
    const response = await resolve(first.id, { pick: 'value', value: 'lynx' });
    assert.equal(response.status, 202, JSON.stringify(response.body));
    assert.equal(response.body.status, 'accepted');
    assert.match(response.body.eventId, /^[0-9a-f-]{36}$/);
    assert.ok(Number.isInteger(response.body.seq));
    assert.equal(await journalCount(), before + 1, 'the resolution is one journal entry');
    const { eventId, seq } = response.body;

    const resolved = await eventually(
      async () => {
        const c = await getJson(`/v1/conflicts/${encodeURIComponent(first.id)}`);
        assert.equal(c.status, 'resolved');
        return c;
      },
      { message: 'the conflict to show resolved' },
    );
    assert.deepEqual(resolved.resolved, { eventId, seq });
    const pulled = await latestChange('img-1');
    assert.equal(pulled.state.label, 'lynx');
    assert.deepEqual(pulled.inConflict, []);
    assert.equal(pulled.eventId, eventId);

    const message = await reviewMessage('resolved', 'img-1');
    assert.equal(message.kind, 'conflict.resolved');
    assert.equal(message.conflictId, first.id);
    assert.equal(message.eventId, eventId);

    const receipt = await getJson(`/v1/receipts/${eventId}`);
    assert.equal(receipt.status, 'applied');
    assert.equal(receipt.deviceId, 'resolver:viewer', 'a device resolves as its own resolver device');
    assert.equal(receipt.streamSeq, seq);
    assert.deepEqual(receipt.entity, { type: 'annotation', id: 'img-1' });

    assertProblem(await resolve(first.id, { pick: 'ours' }), 409, /conflict-already-resolved$/);
    const again = await resolve(first.id, { pick: 'value', value: 'lynx', eventId });
    assert.equal(again.status, 202);
    assert.deepEqual(again.body, { eventId, seq, status: 'duplicate' }, 'the same eventId after projection is a duplicate');
    assert.equal((await getJson('/v1/conflicts/hotspots')).hotspots.length, 0);
  });

  it('treats the same resolve eventId twice as one resolution (the second is a duplicate)', async () => {
    const second = await openConflict('img-2', ['cat', 'dog']);
    const eventId = randomUUID();
    const one = await resolve(second.id, { pick: 'theirs', eventId }, 'default', 'reviewer-7');
    const two = await resolve(second.id, { pick: 'theirs', eventId }, 'default', 'reviewer-7');
    assert.equal(one.status, 202);
    assert.equal(one.body.status, 'accepted');
    assert.equal(two.status, 202);
    assert.deepEqual(two.body, { eventId, seq: one.body.seq, status: 'duplicate' });
    await eventually(async () => assert.equal((await getJson(`/v1/conflicts/${encodeURIComponent(second.id)}`)).status, 'resolved'));
    assert.equal((await latestChange('img-2')).state.label, 'dog');
    const receipts = await getJson('/v1/receipts?deviceId=resolver:reviewer-7');
    assert.deepEqual(
      receipts.receipts.map((r: { eventId: string; deviceSeq: number }) => [r.eventId, r.deviceSeq]),
      [[eventId, 1]],
    );
  });

  it('gives the resolver a gapless device sequence', async () => {
    const third = await openConflict('img-3', ['cat', 'dog']);
    const fourth = await openConflict('img-4', ['cat', 'dog']);
    const [a, b] = await Promise.all([resolve(third.id, { pick: 'ours' }, 'default', 'desk-r'), resolve(fourth.id, { pick: 'ours' }, 'default', 'desk-r')]);
    assert.equal(a.body.status, 'accepted');
    assert.equal(b.body.status, 'accepted');
    await eventually(async () => assert.equal((await getJson('/v1/receipts?deviceId=resolver:desk-r')).receipts.length, 2));
    const { receipts } = await getJson('/v1/receipts?deviceId=resolver:desk-r');
    assert.deepEqual(
      receipts.map((r: { deviceSeq: number }) => r.deviceSeq),
      [1, 2],
    );
    assert.ok(
      receipts.every((r: { status: string }) => r.status === 'applied'),
      JSON.stringify(receipts),
    );
  });

  it('never resolves in another device’s name: a body deviceId is refused and nothing is journaled', async () => {
    const fifth = await openConflict('img-8', ['cat', 'dog']);
    const before = await journalCount();
    const refused = await resolve(fifth.id, { pick: 'ours', deviceId: 'tablet-a' });
    assertProblem(refused, 400, /validation-failed$/);
    assert.equal(refused.body.errors[0].pointer, '/deviceId');
    assert.equal(await journalCount(), before);
    assert.equal((await getJson(`/v1/conflicts/${encodeURIComponent(fifth.id)}`)).status, 'open');
  });

  it('keeps workspaces apart: a conflict of another workspace is 404 here', async () => {
    const foreign = await openConflict('img-9', ['cat', 'dog'], OTHER);
    assertProblem(await request(`${gateway}/v1/conflicts/${encodeURIComponent(foreign.id)}`, { headers: await viewer() }), 404, /not-found$/);
    assertProblem(await resolve(foreign.id, { pick: 'ours' }), 404, /not-found$/);
    assert.ok((await getJson('/v1/conflicts?status=all')).conflicts.every((c: { id: string }) => c.id !== foreign.id));
    assert.deepEqual(
      (await getJson('/v1/conflicts', OTHER)).conflicts.map((c: { id: string }) => c.id),
      [foreign.id],
    );
    assertProblem(await request(`${gateway}/v1/receipts/${foreign.theirs.eventId}`, { headers: await viewer() }), 404, /not-found$/);
    assert.equal((await request(`${gateway}/v1/receipts/${foreign.theirs.eventId}`, { headers: await viewer(OTHER) })).body.status, 'conflicted');
    assertProblem(await request(`${gateway}/v1/conflicts/${encodeURIComponent(`${randomUUID()}:label`)}`, { headers: await viewer() }), 404, /not-found$/);
  });

  describe('bad requests get problem+json naming the part, and journal nothing', () => {
    let open: Awaited<ReturnType<typeof openConflict>>;
    before(async () => {
      open = await openConflict('img-5', ['cat', 'dog']);
    });

    const bodies: { name: string; body: unknown; pointer: string }[] = [
      { name: 'no pick', body: {}, pointer: '/pick' },
      { name: 'unknown pick', body: { pick: 'maybe' }, pointer: '/pick' },
      { name: 'pick value without a value', body: { pick: 'value' }, pointer: '/value' },
      { name: 'a value with pick ours', body: { pick: 'ours', value: 'x' }, pointer: '/value' },
      { name: 'an unknown member', body: { pick: 'ours', colour: 'red' }, pointer: '/colour' },
      { name: 'an eventId that is not a UUID', body: { pick: 'ours', eventId: 'nope' }, pointer: '/eventId' },
      { name: 'a device id with spaces', body: { pick: 'ours', deviceId: 'two words' }, pointer: '/deviceId' },
      { name: 'a negative clock', body: { pick: 'ours', hlc: { wall: -1, counter: 0 } }, pointer: '/hlc/wall' },
      { name: 'not an object', body: ['ours'], pointer: '/' },
    ];
    for (const c of bodies) {
      it(`resolve: ${c.name}`, async () => {
        const journaled = await journalCount();
        assertProblem(await resolve(open.id, c.body), 400, /validation-failed$/, c.pointer);
        assert.equal(await journalCount(), journaled, 'nothing journaled');
      });
    }

    it('resolve: not JSON', async () => {
      assertProblem(
        await request(`${gateway}/v1/conflicts/${encodeURIComponent(open.id)}/resolve`, { method: 'POST', raw: 'pick=ours', contentType: 'text/plain', headers: await viewer() }),
        415,
        /unsupported-media-type$/,
      );
      assertProblem(await request(`${gateway}/v1/conflicts/${encodeURIComponent(open.id)}/resolve`, { method: 'POST', raw: '{"pick":', headers: await viewer() }), 400, /malformed-json$/);
    });

    it('path ids', async () => {
      assertProblem(await request(`${gateway}/v1/conflicts/${encodeURIComponent('not an id!')}`, { headers: await viewer() }), 400, /validation-failed$/, 'path:id');
      assertProblem(await request(`${gateway}/v1/receipts/not-a-uuid`, { headers: await viewer() }), 400, /validation-failed$/, 'path:eventId');
      assertProblem(await request(`${gateway}/v1/repairs/${encodeURIComponent('job one')}`, { headers: await viewer() }), 400, /validation-failed$/, 'path:id');
    });

    const queries: { path: string; pointer: string }[] = [
      { path: '/v1/conflicts?limit=0', pointer: 'query:limit' },
      { path: '/v1/conflicts?limit=501', pointer: 'query:limit' },
      { path: '/v1/conflicts?limit=ten', pointer: 'query:limit' },
      { path: '/v1/conflicts?status=closed', pointer: 'query:status' },
      { path: '/v1/conflicts?entityType=Not%20A%20Type', pointer: 'query:entityType' },
      { path: '/v1/conflicts?after=somewhere', pointer: 'query:after' },
      { path: '/v1/conflicts?colour=red', pointer: 'query:colour' },
      { path: '/v1/conflicts?limit=1&limit=2', pointer: 'query:limit' },
      { path: '/v1/conflicts/hotspots?limit=1000', pointer: 'query:limit' },
      { path: '/v1/receipts', pointer: 'query:deviceId' },
      { path: '/v1/receipts?deviceId=tablet-a&after=x', pointer: 'query:after' },
      { path: '/v1/repairs?status=maybe', pointer: 'query:status' },
    ];
    for (const q of queries) {
      it(`query ${q.path}`, async () => {
        assertProblem(await request(`${gateway}${q.path}`, { headers: await viewer() }), 400, /validation-failed$/, q.pointer);
      });
    }
  });

  it('pages conflicts by a stable cursor', async () => {
    const all = (await getJson('/v1/conflicts?status=all&limit=500')).conflicts as { id: string; cursor: string }[];
    assert.ok(all.length >= 5, `${all.length} conflicts`);
    const seen: string[] = [];
    let after: string | undefined;
    for (let guard = 0; guard < 20; guard++) {
      const page = await getJson(`/v1/conflicts?status=all&limit=2${after ? `&after=${encodeURIComponent(after)}` : ''}`);
      seen.push(...page.conflicts.map((c: { id: string }) => c.id));
      after = page.next;
      if (!page.hasMore) break;
    }
    assert.deepEqual(
      seen,
      all.map((c) => c.id),
    );
    const resolved = (await getJson('/v1/conflicts?status=resolved&limit=500')).conflicts;
    assert.ok(resolved.length >= 4 && resolved.every((c: { status: string }) => c.status === 'resolved'));
  });

  it('lists every pushed event of a device with its receipt, paged by device sequence', async () => {
    const device = new FakeDevice('phone-c');
    const events = [
      device.upsert('annotation', 'r-1', { label: 'owl' }),
      device.event('annotation', 'r-1', 'upsert', { baseVersion: 1, fields: { votes: { op: 'inc', by: 2 } } }),
      device.upsert('annotation', 'r-1', { colour: 'red' }, 2),
      device.upsert('prompt', 'p-1', { text: 'describe the image' }),
    ];
    assert.equal((await stack.push(events)).status, 200);
    const all = await eventually(
      async () => {
        const page = await getJson('/v1/receipts?deviceId=phone-c');
        assert.equal(page.receipts.length, events.length);
        return page;
      },
      { message: 'receipts for every pushed event' },
    );
    assert.deepEqual(
      all.receipts.map((r: { eventId: string }) => r.eventId),
      events.map((e) => e.eventId),
    );
    assert.deepEqual(
      all.receipts.map((r: { deviceSeq: number }) => r.deviceSeq),
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      all.receipts.map((r: { status: string }) => r.status),
      ['applied', 'applied', 'rejected', 'applied'],
    );
    const rejected = all.receipts[2];
    assert.match(rejected.reason, /colour/);
    assert.equal(rejected.version, null);
    assert.equal(all.receipts[1].version, 2);

    const page1 = await getJson('/v1/receipts?deviceId=phone-c&limit=3');
    assert.equal(page1.hasMore, true);
    const page2 = await getJson(`/v1/receipts?deviceId=phone-c&limit=3&after=${encodeURIComponent(page1.next)}`);
    assert.deepEqual(
      [...page1.receipts, ...page2.receipts].map((r: { eventId: string }) => r.eventId),
      events.map((e) => e.eventId),
    );
    assert.equal(page2.hasMore, false);
    const afterTwo = await getJson('/v1/receipts?deviceId=phone-c&after=2');
    assert.deepEqual(
      afterTwo.receipts.map((r: { deviceSeq: number }) => r.deviceSeq),
      [3, 4],
    );

    // the two devices of the first conflict: their writes applied, the concurrent one conflicted
    const laptopReceipts = (await getJson('/v1/receipts?deviceId=laptop-b')).receipts;
    assert.ok(laptopReceipts.length > 0 && laptopReceipts.every((r: { status: string }) => r.status === 'conflicted'), JSON.stringify(laptopReceipts));
    assert.ok((await getJson('/v1/receipts?deviceId=tablet-a')).receipts.every((r: { status: string }) => r.status === 'applied'));
  });

  it('a stale "running" after "succeeded" becomes an open repair with both facts', async () => {
    const worker = new FakeDevice('worker-1');
    const stale = new FakeDevice('worker-2');
    const steps = [worker.transition('job-1', 'queued', 1, 0, { kind: { op: 'set', value: 'embed' } }), worker.transition('job-1', 'running', 1, 1), worker.transition('job-1', 'succeeded', 1, 2)];
    for (const step of steps) assert.equal((await stack.push([step])).status, 200);
    const late = stale.transition('job-1', 'running', 1, 1);
    assert.equal((await stack.push([late])).status, 200);

    const id = `${late.eventId}:job`;
    const { repairs } = await eventually(
      async () => {
        const page = await getJson('/v1/repairs?status=open');
        assert.ok(
          page.repairs.some((r: { id: string }) => r.id === id),
          JSON.stringify(page),
        );
        return page;
      },
      { message: 'the repair to be listed' },
    );
    const repair = repairs.find((r: { id: string }) => r.id === id);
    assert.deepEqual(repair.entity, { type: 'job', id: 'job-1' });
    assert.equal(repair.code, 'terminal-state');
    assert.equal(repair.status, 'open');
    assert.equal(repair.eventId, late.eventId);
    assert.equal(repair.current.state, 'succeeded');
    assert.equal(repair.current.attempt, 1);
    assert.equal(repair.current.deviceId, 'worker-1');
    assert.equal(repair.current.eventId, steps[2]!.eventId);
    assert.equal(repair.reported.to, 'running');
    assert.equal(repair.reported.deviceId, 'worker-2');
    assert.deepEqual(repair.reported.hlc, late.hlc);
    assert.deepEqual(await getJson(`/v1/repairs/${encodeURIComponent(id)}`), repair);
    assertProblem(await request(`${gateway}/v1/repairs/${encodeURIComponent(id)}`, { headers: await viewer(OTHER) }), 404, /not-found$/);
    assert.equal((await getJson('/v1/repairs?status=closed')).repairs.length, 0);
    assert.equal((await getJson(`/v1/receipts/${late.eventId}`)).status, 'repair');
    const job = await latestChange('job-1');
    assert.equal(job.job.state, 'succeeded');
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM repairs WHERE status = 'open'"), 1);
  });
});
