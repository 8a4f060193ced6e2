import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { STREAMS } from '@tidemark/messaging';
import { FakeDevice, count, eventually, getJson, push, startSlice, bucketEnv, testBucket, type SliceStack } from '@tidemark/testing';

async function request(url: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any; contentType: string | null }> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return { status: response.status, body: await response.json(), contentType: response.headers.get('content-type') };
}

function assertProblem(response: { status: number; body: any; contentType: string | null }, status: number, type: RegExp, pointer?: string): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.match(response.contentType ?? '', /^application\/problem\+json/);
  assert.match(response.body.type, type);
  if (pointer)
    assert.ok(
      response.body.errors?.some((e: { pointer: string }) => e.pointer === pointer),
      `${pointer} not in ${JSON.stringify(response.body.errors)}`,
    );
}

describe('ops-api: conflicts across workspaces, operator resolution through the journal, event inspection, uploads in progress, job queues', () => {
  let stack: SliceStack;
  let ops: string;
  const ops$ = <T = any>(path: string): Promise<T> => getJson<T>(`${ops}${path}`, stack.operatorHeaders);
  const tablet = new FakeDevice('tablet-a');
  const laptop = new FakeDevice('laptop-b');

  before(async () => {
    stack = await startSlice(['journal-service', 'gateway', 'merge-service', 'ops-api']);
    ops = stack.url('ops-api');
  });
  after(async () => {
    await stack?.stop();
  });

  /** Two devices of `workspace` set `label` from base version 0 after a first write: the second opens a conflict. */
  async function openConflict(workspace: string, entityId: string) {
    const [t, l] = [await stack.device(workspace, tablet.deviceId), await stack.device(workspace, laptop.deviceId)];
    const first = tablet.upsert('annotation', entityId, { confidence: 0.5 });
    const ours = tablet.upsert('annotation', entityId, { label: 'cat' }, 0);
    const theirs = laptop.upsert('annotation', entityId, { label: 'dog' }, 0);
    for (const [event, headers] of [
      [first, t.headers],
      [ours, t.headers],
      [theirs, l.headers],
    ] as const)
      assert.equal((await push(stack.url('gateway'), [event], headers)).status, 200);
    const id = `${theirs.eventId}:label`;
    await eventually(async () => assert.equal((await request(`${ops}/v1/conflicts/${encodeURIComponent(id)}`, { headers: stack.operatorHeaders })).status, 200), { message: `conflict ${id}` });
    return { id, first, ours, theirs };
  }

  let mine: Awaited<ReturnType<typeof openConflict>>;
  let other: Awaited<ReturnType<typeof openConflict>>;

  it('lists open conflicts of every workspace, filters by workspace, and counts hotspots by workspace, type and field', async () => {
    mine = await openConflict('ws-a', 'img-1');
    other = await openConflict('ws-b', 'img-9');
    const all = await ops$('/v1/conflicts');
    assert.deepEqual(
      all.conflicts.map((c: any) => [c.workspace, c.id, c.status]),
      [
        ['ws-a', mine.id, 'open'],
        ['ws-b', other.id, 'open'],
      ],
    );
    assert.ok(all.conflicts.every((c: any) => c.openSeconds >= 0 && c.field === 'label' && c.ours.value === 'cat' && c.theirs.value === 'dog'));
    assert.deepEqual(
      (await ops$('/v1/conflicts?workspace=ws-b')).conflicts.map((c: any) => c.id),
      [other.id],
    );
    const firstPage = await ops$('/v1/conflicts?limit=1');
    assert.equal(firstPage.hasMore, true);
    assert.deepEqual(
      (await ops$(`/v1/conflicts?limit=1&after=${encodeURIComponent(firstPage.next)}`)).conflicts.map((c: any) => c.id),
      [other.id],
    );

    const hot = await ops$('/v1/conflicts/hotspots');
    assert.equal(hot.open, 2);
    assert.deepEqual(
      hot.workspaces.map((w: any) => [w.workspace, w.open]),
      [
        ['ws-a', 1],
        ['ws-b', 1],
      ],
    );
    assert.deepEqual(
      hot.hotspots.map((h: any) => [h.workspace, h.entityType, h.field, h.open]),
      [
        ['ws-a', 'annotation', 'label', 1],
        ['ws-b', 'annotation', 'label', 1],
      ],
    );
    assert.ok(hot.hotspots.every((h: any) => !Number.isNaN(Date.parse(h.oldestOpenedAt)) && h.oldestOpenSeconds >= 0));

    const metrics = await (await fetch(`${ops}/metrics`)).text();
    assert.match(metrics, /tidemark_conflicts_open\{workspace="ws-a"[^}]*\} 1/);
  });

  it('refuses a resolution without a reason, or with a bad pick, and journals nothing', async () => {
    const journaled = (await stack.js.jsm.streams.info(STREAMS.journal)).state.messages;
    const resolve = (body: unknown) => request(`${ops}/v1/conflicts/${encodeURIComponent(mine.id)}/resolve`, { method: 'POST', body, headers: stack.operatorHeaders });
    assertProblem(await resolve({ pick: 'ours' }), 400, /validation-failed$/, '/reason');
    assertProblem(await resolve({ pick: 'ours', reason: '   ' }), 400, /validation-failed$/, '/reason');
    assertProblem(await resolve({ pick: 'value', reason: 'typo' }), 400, /validation-failed$/, '/value');
    assertProblem(await resolve({ pick: 'maybe', reason: 'typo' }), 400, /validation-failed$/, '/pick');
    assertProblem(
      await request(`${ops}/v1/conflicts/${encodeURIComponent(`${randomUUID()}:label`)}/resolve`, { method: 'POST', body: { pick: 'ours', reason: 'x' }, headers: stack.operatorHeaders }),
      404,
      /not-found$/,
    );
    assert.equal((await stack.js.jsm.streams.info(STREAMS.journal)).state.messages, journaled);
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'conflict.resolve'"), 0);
  });

  let resolution: { eventId: string; seq: number };

  it('resolves through the journal as a resolve event, audited with the operator and the reason; again is 409', async () => {
    const before = (await stack.js.jsm.streams.info(STREAMS.journal)).state.messages;
    const response = await request(`${ops}/v1/conflicts/${encodeURIComponent(mine.id)}/resolve`, {
      method: 'POST',
      body: { pick: 'value', value: 'lynx', reason: 'both were wrong: it is a lynx' },
      headers: stack.operatorHeaders,
    });
    assert.equal(response.status, 202, JSON.stringify(response.body));
    assert.equal(response.body.status, 'accepted');
    assert.equal(response.body.workspace, 'ws-a');
    assert.equal((await stack.js.jsm.streams.info(STREAMS.journal)).state.messages, before + 1, 'one journal entry');
    resolution = { eventId: response.body.eventId, seq: response.body.seq };

    const resolved = await eventually(
      async () => {
        const c = await ops$(`/v1/conflicts/${encodeURIComponent(mine.id)}`);
        assert.equal(c.status, 'resolved');
        return c;
      },
      { message: 'the conflict to show resolved' },
    );
    assert.deepEqual(resolved.resolved, resolution);
    const entity = await stack.db.query("SELECT view FROM entities WHERE workspace = 'ws-a' AND entity_id = 'img-1'");
    assert.equal(entity.rows[0].view.values.label, 'lynx');

    const audit = await stack.db.query("SELECT actor, actor_kind, action, target, reason, detail, outcome FROM audit_log WHERE action = 'conflict.resolve'");
    assert.equal(audit.rows.length, 1);
    assert.deepEqual(
      { ...audit.rows[0], detail: { pick: audit.rows[0].detail.pick, value: audit.rows[0].detail.value, eventId: audit.rows[0].detail.eventId } },
      {
        actor: 'test-operator',
        actor_kind: 'operator',
        action: 'conflict.resolve',
        target: { workspace: 'ws-a', conflictId: mine.id },
        reason: 'both were wrong: it is a lynx',
        detail: { pick: 'value', value: 'lynx', eventId: resolution.eventId },
        outcome: 'ok',
      },
    );

    assertProblem(
      await request(`${ops}/v1/conflicts/${encodeURIComponent(mine.id)}/resolve`, { method: 'POST', body: { pick: 'ours', reason: 'again' }, headers: stack.operatorHeaders }),
      409,
      /conflict-already-resolved$/,
    );
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'conflict.resolve' AND outcome = 'already-resolved'"), 1, 'the refused attempt is audited too');
    assert.deepEqual(
      (await ops$('/v1/conflicts')).conflicts.map((c: any) => c.id),
      [other.id],
      'only the other workspace’s conflict is still open',
    );
  });

  it('inspects an event: journal entry and record, receipt, decisions, the conflict it opened, the entity before and after', async () => {
    const view = await ops$(`/v1/events/${mine.theirs.eventId}`);
    assert.equal(view.eventId, mine.theirs.eventId);
    assert.equal(view.journal.stream, 'JOURNAL');
    assert.match(view.journal.subject, /^tm\.journal\.ws-a\.p0[0-3]\.annotation\.img-1$/);
    assert.deepEqual(view.journal.record.event, mine.theirs);
    assert.equal(view.journal.record.workspace, 'ws-a');
    assert.deepEqual(view.journal.duplicateSeqs, []);
    assert.deepEqual(
      { status: view.receipt.status, deviceId: view.receipt.deviceId, seq: view.receipt.streamSeq, version: view.receipt.version },
      { status: 'conflicted', deviceId: 'laptop-b', seq: view.journal.seq, version: 3 },
    );
    assert.deepEqual(view.decisions, [
      { idx: 0, field: 'label', policy: 'review', rule: 'review:concurrent-edit', outcome: 'conflicted', change: mine.theirs.fields?.['label'], before: 'cat', after: 'cat', conflictId: mine.id },
    ]);
    const first = (await ops$(`/v1/events/${mine.first.eventId}`)).decisions;
    assert.deepEqual(
      first.map((d: any) => Object.keys(d)),
      [['idx', 'field', 'policy', 'rule', 'outcome', 'change', 'before', 'after', 'conflictId']],
    );
    assert.deepEqual(
      first.map((d: any) => [d.idx, d.field, d.outcome, d.before, d.after, d.conflictId]),
      [[0, 'confidence', 'applied', null, 0.5, null]],
      'a field that had no value shows before: null',
    );
    assert.deepEqual(
      view.conflicts.opened.map((c: any) => [c.id, c.status]),
      [[mine.id, 'resolved']],
    );
    assert.deepEqual(view.conflicts.resolved, []);
    assert.deepEqual(view.parked, []);
    assert.deepEqual([view.entity.before.version, view.entity.before.eventId, view.entity.after.version, view.entity.after.eventId], [2, mine.ours.eventId, 3, mine.theirs.eventId]);
    assert.equal(view.entity.before.view.values.label, 'cat');

    const resolve = await ops$(`/v1/events/${resolution.eventId}`);
    assert.equal(resolve.journal.record.event.op, 'resolve');
    assert.equal(resolve.journal.record.event.deviceId, 'ops-resolver');
    assert.deepEqual(
      resolve.conflicts.resolved.map((c: any) => c.id),
      [mine.id],
    );
    assert.equal(resolve.entity.after.view.values.label, 'lynx');
    assert.equal(resolve.entity.before.eventId, mine.theirs.eventId);

    assertProblem(await request(`${ops}/v1/events/${randomUUID()}`, { headers: stack.operatorHeaders }), 404, /not-found$/);
    assertProblem(await request(`${ops}/v1/events/not-a-uuid`, { headers: stack.operatorHeaders }), 400, /validation-failed$/, 'path:eventId');
  });

  it('reports uploads in progress with pending bytes by workspace and file class, by site, and those stalled', async () => {
    const bucket = await testBucket('opsassets');
    const assets = await stack.start('asset-service', bucketEnv(bucket));
    const uploader = await stack.device('ws-a', 'uploader', 'north');
    const create = async (length: number, contentType: string) => {
      const digest = createHash('sha256').update(randomUUID()).digest();
      const response = await fetch(`${assets.url}/v1/uploads`, {
        method: 'POST',
        headers: {
          'tus-resumable': '1.0.0',
          ...uploader.headers,
          'upload-length': String(length),
          'upload-metadata': `sha256 ${Buffer.from(digest.toString('base64')).toString('base64')},contentType ${Buffer.from(contentType).toString('base64')}`,
        },
      });
      assert.equal(response.status, 201, await response.text());
      return new URL(response.headers.get('location')!, assets.url).toString();
    };
    const image = await create(1000, 'image/png');
    await create(5000, 'image/png');
    await create(300, 'text/plain');
    const patched = await fetch(image, {
      method: 'PATCH',
      headers: { 'tus-resumable': '1.0.0', ...uploader.headers, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
      body: new Uint8Array(400),
    });
    assert.equal(patched.status, 204);

    const view = await ops$('/v1/assets?workspace=ws-a');
    assert.match(view.grouping, /by site/);
    const bySite = await ops$('/v1/assets/backlog?workspace=ws-a&by=site');
    assert.deepEqual(
      bySite.groups.map((g: any) => [g.workspace, g.site, g.uploads, g.bytesPending]),
      [['ws-a', 'north', 3, 5900]],
      'the uploads carry the site of the device that created them',
    );
    assert.ok(bySite.groups[0].oldestSeconds >= 0 && !Number.isNaN(Date.parse(bySite.groups[0].oldestCreatedAt)));
    const byClass = await ops$('/v1/assets/backlog?workspace=ws-a&by=class');
    assert.deepEqual(
      byClass.groups.map((g: any) => [g.fileClass, g.uploads, g.bytesPending]),
      [
        ['image', 2, 5600],
        ['text', 1, 300],
      ],
    );
    assertProblem(await request(`${ops}/v1/assets/backlog?by=device`, { headers: stack.operatorHeaders }), 400, /validation-failed$/, 'query:by');
    assert.deepEqual(
      { uploads: view.inProgress.uploads, declared: view.inProgress.bytesDeclared, received: view.inProgress.bytesReceived, pending: view.inProgress.bytesPending },
      { uploads: 3, declared: 6300, received: 400, pending: 5900 },
    );
    const image$ = view.groups.find((g: any) => g.fileClass === 'image');
    assert.deepEqual([image$.workspace, image$.uploads, image$.bytesPending, image$.contentTypes.map((c: any) => c.contentType)], ['ws-a', 2, 5600, ['image/png']]);
    assert.equal(view.stalled.length, 0, 'nothing is stalled under the default (15 minutes)');

    const stalled = await eventually(
      async () => {
        const v = await ops$('/v1/assets?workspace=ws-a&stalledAfterSeconds=1');
        assert.equal(v.stalled.length, 3);
        return v;
      },
      { message: 'the uploads to count as stalled after a second without bytes' },
    );
    assert.equal(stalled.inProgress.stalled, 3);
    const one = stalled.stalled.find((u: any) => u.offset === 400);
    assert.deepEqual([one.fileClass, one.size, one.bytesPending], ['image', 1000, 600]);
    assert.ok(one.silentSeconds >= 1);
    assert.deepEqual(stalled.expired, []);
    assert.equal((await ops$('/v1/assets?workspace=nobody')).inProgress.uploads, 0);

    const metrics = await (await fetch(`${ops}/metrics`)).text();
    assert.match(metrics, /^tidemark_uploads_in_progress\{[^}]*\} 3$/m);
    assert.match(metrics, /^tidemark_upload_bytes_pending\{[^}]*\} 5900$/m);
    assert.match(metrics, /^tidemark_uploads_in_progress_by_class\{file_class="image"[^}]*\} 2$/m);
    assert.match(metrics, /^tidemark_uploads_in_progress_by_class\{file_class="text"[^}]*\} 1$/m);
    assert.match(metrics, /^tidemark_uploads_stalled\{file_class="image"[^}]*\} 0$/m, 'not stalled under UPLOAD_STALLED_AFTER_SECONDS (15 minutes)');
    assert.match(metrics, /^tidemark_upload_bytes_pending_by_site\{workspace="ws-a",site="north"[^}]*\} 5900$/m);
    assert.match(metrics, /^tidemark_uploads_in_progress_by_site\{workspace="ws-a",site="north"[^}]*\} 3$/m);
    const overview = await ops$('/v1/overview');
    assert.deepEqual(overview.uploads, { inProgress: 3, bytesPending: 5900 });
    assert.equal(overview.conflictsOpen, 1);
  });

  it('shows job queues a job type declares: per queue queued, running, retrying, failed, retries, repairs, the oldest queued age, and the queue falling behind', async () => {
    const RENDER = { type: 'render', version: 1, onDeleteConflict: 'delete-wins', job: true, queueBy: 'queue', fields: { queue: { policy: 'lww', valueType: 'string' } } };
    const publish = (body: unknown) => request(`${stack.url('journal-service')}/v1/schemas/render/1`, { method: 'PUT', body, headers: stack.operatorHeaders });
    assertProblem(await publish({ ...RENDER, queueBy: 'missing' }), 400, /validation-failed$/, '/queueBy');
    assert.equal((await publish(RENDER)).status, 201);

    const scheduler = new FakeDevice('scheduler', Date.now());
    const late = new FakeDevice('scheduler-late', Date.now() - 20 * 60_000); // its job was queued 20 minutes ago
    const worker = new FakeDevice('worker-1', Date.now());
    const second = new FakeDevice('worker-2', Date.now());
    const headers = Object.fromEntries(await Promise.all([scheduler, late, worker, second].map(async (d) => [d.deviceId, (await stack.device('ws-q', d.deviceId, 'lab')).headers] as const)));
    const step = (d: FakeDevice, id: string, to: 'queued' | 'running' | 'retrying' | 'failed', attempt: number, queue?: string) =>
      d.event('render', id, 'transition', { job: { to, attempt }, ...(queue ? { fields: { queue: { op: 'set', value: queue } } } : {}) });
    const sends: [FakeDevice, ReturnType<typeof step>[]][] = [
      [scheduler, [step(scheduler, 'r1', 'queued', 1, 'gpu'), step(scheduler, 'r2', 'queued', 1, 'gpu'), step(scheduler, 'r4', 'queued', 1, 'gpu')]],
      [late, [step(late, 'r3', 'queued', 1, 'asr')]],
      [worker, [step(worker, 'r1', 'running', 1), step(worker, 'r4', 'running', 1), step(worker, 'r4', 'retrying', 2), step(worker, 'r4', 'running', 2), step(worker, 'r4', 'failed', 2)]],
      [second, [step(second, 'r1', 'running', 1)]], // a second worker claiming r1: a repair, never an overwrite
    ];
    for (const [device, events] of sends) assert.equal((await push(stack.url('gateway'), events, headers[device.deviceId]!)).status, 200);

    const view = await eventually(
      async () => {
        const v = await ops$('/v1/queues?workspace=ws-q');
        assert.equal(v.total.repairsOpen, 1);
        assert.equal(v.total.failed, 1);
        return v;
      },
      { message: 'the jobs to be projected' },
    );
    assert.deepEqual(
      view.queues.map((q: any) => [q.queue, q.queued, q.running, q.retrying, q.failed, q.retries, q.repairsOpen, q.fallingBehind, q.reasons.map((r: any) => r.code)]),
      [
        ['asr', 1, 0, 0, 0, 0, 0, true, ['waiting']],
        ['gpu', 1, 1, 0, 1, 1, 1, false, []],
      ],
      'the queue whose job waits longest falls behind, first',
    );
    assert.ok(view.queues[0].oldestQueuedSeconds >= 1200 && view.queues[1].oldestQueuedSeconds < 600, JSON.stringify(view.queues));
    assert.match(view.rule, /more than 600 s/);
    assert.deepEqual(
      (await ops$('/v1/queues?workspace=ws-q&fallingBehind=true')).queues.map((q: any) => q.queue),
      ['asr'],
    );
    assert.equal((await ops$('/v1/queues?workspace=ws-q&waitThresholdSeconds=3600')).queues.filter((q: any) => q.fallingBehind).length, 0);
    assertProblem(await request(`${ops}/v1/queues?waitThresholdSeconds=0`, { headers: stack.operatorHeaders }), 400, /validation-failed$/, 'query:waitThresholdSeconds');

    // Gauges share one read per second between scrapes: the previous test's scrape may still be the one answered.
    const metrics = await eventually(
      async () => {
        const text = await (await fetch(`${ops}/metrics`)).text();
        assert.match(text, /^tidemark_queue_jobs\{workspace="ws-q"/m);
        return text;
      },
      { message: 'the queue gauges' },
    );
    assert.match(metrics, /^tidemark_queue_jobs\{workspace="ws-q",queue="gpu",state="running"[^}]*\} 1$/m);
    assert.match(metrics, /^tidemark_queue_jobs\{workspace="ws-q",queue="gpu",state="failed"[^}]*\} 1$/m);
    assert.match(metrics, /^tidemark_queue_falling_behind\{workspace="ws-q",queue="asr"[^}]*\} 1$/m);
    assert.match(metrics, /^tidemark_queue_repairs_open\{workspace="ws-q",queue="gpu"[^}]*\} 1$/m);
  });
});
