// Scoped, safe replay end to end: events merged under a type's declared policies (revision 1), a policy
// revision published (pending), a replay scoped to one workspace and type dry-run into a shadow schema
// whose diff says exactly what the revision changes while live stays as it was, a swap confirmed by the
// diff's digest after which live equals a full rebuild of the journal under the revision — and new events
// merge under it; a replay resumed after merge-service is SIGKILLed mid-build; a swap refused because
// live changed after the shadow was built; a cancel; a plan-only request, which ends with its plan and builds
// nothing; and re-delivery of a stream range to an integrator.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy } from '@nats-io/jetstream';
import { SCHEMA_VERSION_HEADER, validateMessage, type DeviceEvent } from '@tidemark/contracts';
import { findFreePort } from '@tidemark/local-stack';
import { STREAMS } from '@tidemark/messaging';
import { createDataSource, migrateWithLock, projectionDigest, type DataSource } from '@tidemark/persistence';
import { FakeDevice, count, eventually, startServiceProcess, startSlice, testDatabase, type SliceStack } from '@tidemark/testing';

const T0 = Date.UTC(2026, 10, 20);
const PROMPTS = 10;
/** Titles only grow; the model a prompt runs with is a judgement, so concurrent choices go to review. */
const REVISION_2 = { type: 'prompt', revision: 2, fields: { title: { policy: 'max' }, model: { policy: 'review' } }, description: 'titles only grow; model choice is reviewed' };
/** What the projection tables hold that a rebuild must reproduce (change_log and outbox also carry the swap's notices). */
const PROJECTION = ['entities', 'event_receipts', 'merge_decisions', 'conflicts', 'repairs', 'journal_duplicates', 'device_sequences', 'parked_events', 'entity_assets'];

describe('scoped replay with a changed merge policy', () => {
  let stack: SliceStack;
  let live: DataSource;
  const pushed: DeviceEvent[] = [];
  let swappedId = '';

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway', 'ops-api']);
    live = createDataSource({ url: stack.env.DATABASE_URL! });
    await live.initialize();
  });
  after(async () => {
    await live?.destroy();
    await stack?.stop();
  });

  const ops = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.url('ops-api')}${path}`, {
      method,
      headers: { ...stack.operatorHeaders, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', body: (await response.json()) as any };
  };
  const send = async (events: DeviceEvent[], workspace: string) => {
    const result = await stack.push(events, workspace);
    assert.equal(result.status, 200, JSON.stringify(result.body));
    pushed.push(...events);
  };
  const projected = () => eventually(async () => assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM event_receipts'), pushed.length), { timeoutMs: 30_000 });
  const waitFor = (id: string, status: string, timeoutMs = 60_000) =>
    eventually(
      async () => {
        const job = await ops('GET', `/v1/replays/${id}`);
        assert.equal(job.body.status, status, JSON.stringify(job.body));
        return job.body;
      },
      { timeoutMs, intervalMs: 100 },
    );
  const digests = async (ds: DataSource) => {
    const { tables } = await projectionDigest(ds);
    return Object.fromEntries(PROJECTION.filter((t) => tables[t]).map((t) => [t, tables[t]]));
  };

  it('dry-runs a replay under a pending revision: the diff names exactly what changes, and live does not change', async () => {
    // Revision 1 (declared): title and model are lww. Two devices set both; laptop-b writes later.
    const a = new FakeDevice('tablet-a', T0, 1000);
    const b = new FakeDevice('laptop-b', T0 + 500, 1000);
    const other = new FakeDevice('tablet-o', T0, 1000);
    const ids = Array.from({ length: PROMPTS }, (_, i) => `pr-${i}`);
    const even = (i: number) => i % 2 === 0;
    await send(
      ids.map((id, i) => a.event('prompt', id, 'upsert', { fields: { title: { op: 'set', value: even(i) ? `b-${i}` : `a-${i}` }, model: { op: 'set', value: 'gpt-x' }, uses: { op: 'inc', by: 1 } } })),
      'acme',
    );
    await send(
      ids.map((id, i) => b.event('prompt', id, 'upsert', { fields: { title: { op: 'set', value: even(i) ? `a-${i}` : `b-${i}` }, ...(i < 3 ? { model: { op: 'set', value: 'claude' } } : {}) } })),
      'acme',
    );
    // Out of scope: annotations in the same workspace, prompts in another one.
    await send([a.event('annotation', 'img-1', 'upsert', { fields: { label: { op: 'set', value: 'cat' } } })], 'acme');
    await send([other.upsert('prompt', 'pr-0', { title: 'b-x' }), other.upsert('prompt', 'pr-0', { title: 'a-x' }, 1)], 'other');
    await projected();
    const titles = (await stack.db.query<{ entity_id: string; view: any }>("SELECT entity_id, view FROM entities WHERE workspace = 'acme' AND entity_type = 'prompt' ORDER BY entity_id")).rows;
    assert.deepEqual(
      titles.map((r) => r.view.values.title),
      ids.map((_, i) => (even(i) ? `a-${i}` : `b-${i}`)),
      'lww: the later write wins',
    );

    const published = await fetch(`${stack.url('journal-service')}/v1/schemas/prompt/revisions/2`, {
      method: 'PUT',
      headers: { ...stack.operatorHeaders, 'content-type': 'application/json' },
      body: JSON.stringify(REVISION_2),
    });
    assert.equal(published.status, 201, await published.text());
    const before = await digests(live);

    const refused = await ops('POST', '/v1/replays', { scope: { entityType: 'prompt' }, policyRevisions: { prompt: 2 }, reason: 'no workspace' });
    assert.equal(refused.status, 400);
    assert.match(refused.contentType, /^application\/problem\+json/);
    assert.deepEqual(
      refused.body.errors.map((e: { pointer: string }) => e.pointer),
      ['/scope/workspace'],
    );
    const unknown = await ops('POST', '/v1/replays', { scope: { workspace: 'acme' }, policyRevisions: { prompt: 7 }, reason: 'not published' });
    assert.deepEqual([unknown.status, unknown.body.errors?.[0]?.pointer], [400, '/policyRevisions/prompt']);

    const created = await ops('POST', '/v1/replays', { scope: { workspace: 'acme', entityType: 'prompt' }, policyRevisions: { prompt: 2 }, reason: 'titles only grow from now on', dryRun: true });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const id: string = created.body.id;
    const built = await waitFor(id, 'built');
    assert.equal(built.plan.selectedEvents, 2 * PROMPTS, 'both devices’ prompt events in acme');
    assert.equal(built.plan.affectedEntities, PROMPTS);
    assert.equal(built.plan.rebuildEvents, 2 * PROMPTS);
    assert.equal(built.plan.estimate.basis, 'rate-limit');
    assert.match(built.plan.estimate.detail, /no finished replay measured a rate yet/, 'the first replay here has nothing measured to go on');
    assert.ok(built.plan.estimate.seconds > 0);
    assert.deepEqual(built.progress.eventsDone, 2 * PROMPTS);

    const summary = built.diff.summary;
    assert.deepEqual(summary.entities, { affected: PROMPTS, changed: 6, unchanged: 4, added: 0, removed: 0 });
    assert.deepEqual(summary.fields, { 'prompt.model': 3, 'prompt.title': 5 });
    assert.deepEqual(summary.conflicts, { opened: 3, closed: 0 });
    assert.deepEqual(summary.receipts, { 'applied→conflicted': 3, 'applied→merged': 3 });

    const diff = await ops('GET', `/v1/replays/${id}/diff?limit=4`);
    assert.equal(diff.status, 200);
    assert.equal(diff.body.digest, built.diff.digest);
    const entities = [...diff.body.entities];
    for (let next = diff.body.next; next;) {
      const page = await ops('GET', `/v1/replays/${id}/diff?limit=4&after=${next}`);
      entities.push(...page.body.entities);
      next = page.body.next;
    }
    assert.deepEqual(
      entities.map((e: any) => e.entityId),
      ['pr-0', 'pr-1', 'pr-2', 'pr-4', 'pr-6', 'pr-8'],
    );
    for (const e of entities) {
      const i = Number(e.entityId.slice(3));
      const fields = [...(i < 3 ? [{ field: 'model', live: 'claude', shadow: 'gpt-x' }] : []), ...(even(i) ? [{ field: 'title', live: `a-${i}`, shadow: `b-${i}` }] : [])];
      assert.deepEqual(e.fields, fields, e.entityId);
      assert.equal(e.change, 'changed');
      assert.deepEqual(e.shadow.inConflict, i < 3 ? ['model'] : []);
      assert.deepEqual(
        e.conflicts.opened.map((c: { field: string }) => c.field),
        i < 3 ? ['model'] : [],
      );
    }
    const unchanged = await ops('GET', `/v1/replays/${id}/diff?change=unchanged`);
    assert.deepEqual(
      unchanged.body.entities.map((e: any) => e.entityId),
      ['pr-3', 'pr-5', 'pr-7', 'pr-9'],
    );

    assert.deepEqual(await digests(live), before, 'a dry run changes nothing live');
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'replay.request'"), 1);
    swappedId = id;
  });

  it('swaps on confirmation: live equals a full rebuild under the revision, and new events merge under it', async () => {
    const id = swappedId;
    const job = (await ops('GET', `/v1/replays/${id}`)).body;
    const wrong = await ops('POST', `/v1/replays/${id}/swap`, { reason: 'apply', confirm: '0'.repeat(64) });
    assert.equal(wrong.status, 409);
    assert.match(wrong.body.type, /replay-confirm-mismatch$/);
    const noReason = await ops('POST', `/v1/replays/${id}/swap`, { confirm: job.diff.digest });
    assert.deepEqual([noReason.status, noReason.body.errors?.[0]?.pointer], [400, '/reason']);

    const swapped = await ops('POST', `/v1/replays/${id}/swap`, { reason: 'titles only grow from now on', confirm: job.diff.digest });
    if (swapped.status !== 200) await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(swapped.status, 200, `${JSON.stringify(swapped.body)}\n${stack.services.get('ops-api')!.output().slice(-3000)}`);
    assert.deepEqual(swapped.body.swap, { entities: PROMPTS, changed: 6, added: 0, removed: 0, changes: 6, conflictsOpened: 3, conflictsWithdrawn: 0, activated: ['acme/prompt@2'] });
    assert.equal((await ops('GET', `/v1/replays/${id}`)).body.status, 'swapped');
    const again = await ops('POST', `/v1/replays/${id}/swap`, { reason: 'twice', confirm: job.diff.digest });
    assert.deepEqual([again.status, again.body.replayStatus], [409, 'swapped']);
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM information_schema.schemata WHERE schema_name LIKE 'replay_%'"), 0, 'the shadow is dropped');
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'replay.swap' AND outcome = 'ok'"), 1);

    // Devices pull the new state, integrators get it on MERGED and the opened conflicts on REVIEW.
    const changes = (await stack.db.query<{ entity_id: string; view: any }>('SELECT entity_id, view FROM change_log WHERE device_id = $1 ORDER BY cursor', [`replay:${id}`])).rows;
    assert.deepEqual(changes.map((c) => c.entity_id).sort(), ['pr-0', 'pr-1', 'pr-2', 'pr-4', 'pr-6', 'pr-8']);
    assert.equal(changes.find((c) => c.entity_id === 'pr-0')!.view.values.title, 'b-0');
    await eventually(async () => {
      const merged = await stack.js.jsm.streams.getMessage(STREAMS.merged, { last_by_subj: 'tm.merged.acme.prompt.pr-4' });
      const message = merged!.json<{ outcome: string; replayId: string; view: { values: { title: string } } }>();
      assert.deepEqual([message.outcome, message.replayId, message.view.values.title], ['replayed', id, 'b-4']);
      const review = await stack.js.jsm.streams.info(STREAMS.review, { subjects_filter: 'tm.review.acme.opened.prompt.>' });
      assert.equal(Object.keys(review.state.subjects ?? {}).length, 3);
    });
    // …each as the published schemas say (docs/asyncapi.json: a replayed change, a conflict opened by the replay), with its schema version.
    const opened = Object.keys((await stack.js.jsm.streams.info(STREAMS.review, { subjects_filter: 'tm.review.acme.opened.prompt.>' })).state.subjects ?? {});
    const published = [
      ...changes.map((c) => ({ stream: STREAMS.merged, subject: `tm.merged.acme.prompt.${c.entity_id}`, message: 'mergedChange' as const })),
      ...opened.map((subject) => ({ stream: STREAMS.review, subject, message: 'conflictOpened' as const })),
    ];
    for (const { stream, subject, message } of published) {
      const stored = (await stack.js.jsm.streams.getMessage(stream, { last_by_subj: subject }))!;
      const payload = stored.json<{ replayId?: string }>();
      const checked = validateMessage(message, payload);
      assert.ok(checked.ok, `${subject}: ${JSON.stringify(checked)}`);
      assert.equal(payload.replayId, id, subject);
      assert.equal(stored.header.get(SCHEMA_VERSION_HEADER), '1', subject);
    }

    // The same journal rebuilt from nothing, with the revision in force from the start.
    const fresh = await testDatabase('replay_rebuild');
    const rebuilt = createDataSource({ url: fresh.url });
    await rebuilt.initialize();
    await migrateWithLock(rebuilt);
    await rebuilt.query('INSERT INTO policy_revisions (type, revision, definition) VALUES ($1, $2, $3)', ['prompt', 2, JSON.stringify(REVISION_2)]);
    await rebuilt.query("INSERT INTO policy_activations (workspace, type, revision) VALUES ('acme', 'prompt', 2)");
    const rebuild = await startServiceProcess('merge-service', {
      ...stack.env,
      DATABASE_URL: fresh.url,
      HTTP_PORT: String(await findFreePort()),
      MERGE_CONSUMER_PREFIX: 'rebuild',
      OUTBOX_ENABLED: 'false',
    });
    try {
      const rebuiltAll = () => eventually(async () => assert.equal(Number((await rebuilt.query('SELECT count(*) AS n FROM event_receipts'))[0].n), pushed.length), { timeoutMs: 30_000 });
      await rebuiltAll();
      assert.deepEqual(await digests(live), await digests(rebuilt), 'live after the swap = a full rebuild under revision 2');

      // A new event after the swap merges under revision 2 live (max: a lower title loses) — as in the rebuild.
      const late = new FakeDevice('laptop-b', T0 + 100_000, 1000);
      await send([{ ...late.upsert('prompt', 'pr-0', { title: 'a-0-renamed' }, 2), deviceSeq: PROMPTS + 1 }], 'acme');
      await projected();
      await rebuiltAll();
      const pr0 = (await stack.db.query<{ view: any; version: string }>("SELECT view, version FROM entities WHERE workspace = 'acme' AND entity_type = 'prompt' AND entity_id = 'pr-0'")).rows[0]!;
      assert.deepEqual([pr0.view.values.title, Number(pr0.version)], ['b-0', 3], 'the lower title lost');
      assert.deepEqual(await digests(live), await digests(rebuilt));
    } finally {
      await rebuild.kill();
      await rebuilt.destroy();
      await fresh.drop();
    }
  });

  it('resumes a replay after merge-service is killed mid-build, and refuses to swap it once live has changed', async () => {
    const created = await ops('POST', '/v1/replays', { scope: { workspace: 'acme', entityType: 'prompt' }, reason: 'verify the rebuild', eventsPerSecond: 4 });
    assert.equal(created.status, 202);
    const id: string = created.body.id;
    const building = await eventually(
      async () => {
        const job = (await ops('GET', `/v1/replays/${id}`)).body;
        assert.equal(job.status, 'building');
        assert.ok(job.progress.eventsDone >= 4, `progress ${job.progress.eventsDone}`);
        return job;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    assert.ok(building.progress.eventsDone < building.progress.eventsTotal, 'killed before the end');
    // Rate-limited to 4 events/s (in batches of 2): the events beyond the first batch took at least their share of time.
    const elapsedMs = Date.parse(building.updatedAt) - Date.parse(building.progress.phaseStartedAt);
    assert.ok(elapsedMs >= ((building.progress.eventsDone - 2) / 4) * 1000 - 100, `${building.progress.eventsDone} events in ${elapsedMs} ms`);
    await stack.services.get('merge-service')!.kill();
    await stack.start('merge-service');

    const built = await waitFor(id, 'built');
    assert.ok(built.progress.resumes >= 1, 'resumed after the shadow checkpoint, not from the start');
    const total = 2 * PROMPTS + 1;
    assert.equal(built.progress.eventsDone, total);
    const shadow = `replay_${id.replace(/-/g, '')}`;
    assert.equal(await count(stack.db, `SELECT count(*) AS n FROM ${shadow}.event_receipts`), total, 'every event applied once in the shadow');
    assert.equal(await count(stack.db, `SELECT count(*) AS n FROM ${shadow}.journal_duplicates`), 0);
    // Live already merges under revision 2: rebuilding under it changes nothing.
    assert.deepEqual(built.diff.summary.entities, { affected: PROMPTS, changed: 0, unchanged: PROMPTS, added: 0, removed: 0 });

    // Live changes for one of its entities after the shadow was built: the swap is refused.
    const late = new FakeDevice('laptop-b', T0 + 200_000, 1000);
    await send([{ ...late.upsert('prompt', 'pr-3', { title: 'z-3' }, 2), deviceSeq: PROMPTS + 2 }], 'acme');
    await projected();
    const before = await digests(live);
    const swap = await ops('POST', `/v1/replays/${id}/swap`, { reason: 'apply', confirm: built.diff.digest });
    assert.equal(swap.status, 409);
    assert.match(swap.body.type, /replay-live-changed$/);
    assert.deepEqual(
      swap.body.changes.map((c: any) => [c.workspace, c.entityType, c.entityId]),
      [['acme', 'prompt', 'pr-3']],
    );
    assert.equal((await ops('GET', `/v1/replays/${id}`)).body.status, 'stale');
    assert.deepEqual(await digests(live), before, 'nothing swapped');
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'replay.swap' AND outcome = 'refused: live changed'"), 1);
    await eventually(async () => assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM information_schema.schemata WHERE schema_name = $1', [shadow]), 0), { timeoutMs: 10_000 });
  });

  it('cancels a replay that has not ended, audited', async () => {
    const created = await ops('POST', '/v1/replays', { scope: { workspace: 'acme', deviceId: 'laptop-b' }, reason: 'look at one device', eventsPerSecond: 1 });
    const id: string = created.body.id;
    const cancelled = await ops('POST', `/v1/replays/${id}/cancel`, { reason: 'not needed' });
    assert.deepEqual([cancelled.status, cancelled.body.status], [200, 'cancelled']);
    const twice = await ops('POST', `/v1/replays/${id}/cancel`, { reason: 'again' });
    assert.deepEqual([twice.status, twice.body.replayStatus], [409, 'cancelled']);
    assert.equal((await ops('GET', '/v1/replays/00000000-0000-4000-8000-000000000000')).status, 404);
    assert.equal((await ops('GET', '/v1/replays/nope')).status, 400);
    const list = await ops('GET', '/v1/replays');
    assert.deepEqual(
      list.body.replays.map((r: any) => r.status),
      ['cancelled', 'stale', 'swapped'],
    );
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'replay.cancel'"), 1);
    assert.equal((await fetch(`${stack.url('ops-api')}/v1/replays`)).status, 401, 'operators only');
  });

  it('ends a plan-only replay once planned, with its plan and without building: no shadow, nothing swapped, live unchanged', async () => {
    const prompts = await count(stack.db, "SELECT count(*) AS n FROM entities WHERE workspace = 'acme' AND entity_type = 'prompt'");
    const promptEvents = await count(stack.db, "SELECT count(*) AS n FROM event_receipts WHERE workspace = 'acme' AND entity_type = 'prompt'");
    const activations = await count(stack.db, 'SELECT count(*) AS n FROM policy_activations');
    const before = await digests(live);

    // At 2 events/s a build would take seconds: a plan-only replay never starts one.
    const created = await ops('POST', '/v1/replays', {
      scope: { workspace: 'acme', entityType: 'prompt' },
      policyRevisions: { prompt: 2 },
      reason: 'how big is it',
      eventsPerSecond: 2,
      planOnly: true,
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    assert.equal(created.body.planOnly, true);
    const id: string = created.body.id;
    const ended = await waitFor(id, 'cancelled');
    assert.deepEqual([ended.planOnly, ended.error, ended.builtAt, ended.diff, ended.swap], [true, null, null, null, null]);
    assert.ok(ended.finishedAt && ended.plannedAt, JSON.stringify(ended));
    assert.deepEqual([ended.plan.selectedEvents, ended.plan.affectedEntities, ended.plan.rebuildEvents], [promptEvents, prompts, promptEvents], JSON.stringify(ended.plan));
    const { detail, ...estimate } = ended.plan.estimate;
    assert.deepEqual(estimate, { seconds: promptEvents / 2, eventsPerSecond: 2, basis: 'rate-limit' });
    // The first replay of acme (above) finished: the plan says the limit is below what acme's replays measured.
    assert.match(detail, /^the rate limit of 2 events\/s is the bottleneck \(median end-to-end rate of \d+ finished replays? of workspace acme nearest in size/);
    assert.deepEqual(ended.plan.revisions, { 'acme/prompt': { revision: 2, live: 2 } });
    assert.deepEqual([ended.progress.eventsDone, ended.progress.lastSeq], [0, 0], 'nothing rebuilt');

    const shadow = `replay_${id.replace(/-/g, '')}`;
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM information_schema.schemata WHERE schema_name = $1', [shadow]), 0, 'no shadow schema');
    const diff = await ops('GET', `/v1/replays/${id}/diff`);
    assert.deepEqual([diff.status, diff.body.replayStatus], [409, 'cancelled']);
    const swap = await ops('POST', `/v1/replays/${id}/swap`, { reason: 'apply', confirm: '0'.repeat(64) });
    assert.deepEqual([swap.status, swap.body.replayStatus], [409, 'cancelled']);
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM policy_activations'), activations, 'nothing activated');
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM change_log WHERE device_id = $1', [`replay:${id}`]), 0, 'nothing swapped');
    assert.deepEqual(await digests(live), before, 'live unchanged');

    const audit = await stack.db.query<{ action: string; detail: any }>("SELECT action, detail FROM audit_log WHERE target->>'replayId' = $1 ORDER BY id", [id]);
    assert.deepEqual(
      audit.rows.map((r) => [r.action, r.detail?.planOnly]),
      [['replay.request', true]],
      'requested plan only; ended by the worker, not by an operator cancel',
    );
  });

  it('re-delivers a MERGED range to an integrator’s durable consumer', async () => {
    const jsm = stack.js.jsm;
    await jsm.consumers.add(STREAMS.merged, { durable_name: 'integrator', ack_policy: AckPolicy.Explicit, filter_subject: 'tm.merged.acme.>' });
    // The integrator's client gets its consumer by name (again after a rewind, which recreates it).
    const drain = async () => {
      const consumer = await stack.js.js.consumers.get(STREAMS.merged, 'integrator');
      const seqs: number[] = [];
      for (;;) {
        const batch = await consumer.fetch({ max_messages: 100, expires: 1000 });
        let got = 0;
        for await (const m of batch) {
          seqs.push(m.seq);
          m.ack();
          got++;
        }
        if (got === 0) return seqs;
      }
    };
    const first = await drain();
    assert.ok(first.length >= 4, `${first.length} MERGED messages for acme`);
    const [from, to] = [first[1]!, first[3]!];
    const redelivered = await ops('POST', '/v1/redeliveries', { stream: 'MERGED', consumer: 'integrator', fromSeq: from, toSeq: to, reason: 'the integrator lost a day' });
    assert.equal(redelivered.status, 200, JSON.stringify(redelivered.body));
    // The ack floor is a stream sequence: it passes messages outside the consumer's filter too.
    assert.ok(redelivered.body.previous.ackFloor >= first.at(-1)!, JSON.stringify(redelivered.body.previous));
    assert.equal(redelivered.body.beyondRange, redelivered.body.previous.ackFloor - to);
    const info = await jsm.consumers.info(STREAMS.merged, 'integrator');
    assert.equal(info.config.filter_subject, 'tm.merged.acme.>', 'the integrator’s configuration is kept');
    const again = await drain();
    assert.deepEqual(
      again,
      first.filter((s) => s >= from),
      'the range again, then on to the end of the stream',
    );
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'redelivery.rewind' AND target->>'consumer' = 'integrator'"), 1);
    assert.equal(redelivered.body.skippedUnacknowledged, 0);

    // A consumer that has acknowledged nothing yet: starting above its ack floor + 1 would lose messages.
    await jsm.consumers.add(STREAMS.merged, { durable_name: 'integrator-late', ack_policy: AckPolicy.Explicit, filter_subject: 'tm.merged.acme.>' });
    const skipping = { stream: 'MERGED', consumer: 'integrator-late', fromSeq: from, toSeq: to, reason: 'start where the other one is' };
    const refused = await ops('POST', '/v1/redeliveries', skipping);
    assert.deepEqual([refused.status, refused.contentType.split(';')[0], refused.body.type?.endsWith('redelivery-refused')], [409, 'application/problem+json', true]);
    assert.match(refused.body.detail, /up to sequence 0 \(its ack floor\).*skipUnacknowledged/);
    assert.equal((await jsm.consumers.info(STREAMS.merged, 'integrator-late')).config.opt_start_seq, undefined, 'refused: the consumer is as it was');
    const overridden = await ops('POST', '/v1/redeliveries', { ...skipping, skipUnacknowledged: true });
    assert.equal(overridden.status, 200, JSON.stringify(overridden.body));
    assert.deepEqual([overridden.body.previous.ackFloor, overridden.body.skippedUnacknowledged], [0, from - 1]);
    const audited = await stack.db.query("SELECT detail FROM audit_log WHERE action = 'redelivery.rewind' AND target->>'consumer' = 'integrator-late' AND outcome = 'ok'");
    assert.deepEqual([audited.rows.length, audited.rows[0]?.detail.skipUnacknowledged, audited.rows[0]?.detail.skippedUnacknowledged], [1, true, from - 1], 'the override is in the audit log');
    const late = await stack.js.js.consumers.get(STREAMS.merged, 'integrator-late');
    const seen: number[] = [];
    for await (const m of await late.fetch({ max_messages: 100, expires: 1000 })) {
      seen.push(m.seq);
      m.ack();
    }
    assert.deepEqual(
      seen,
      first.filter((s) => s >= from),
      'what came before fromSeq was skipped, as asked',
    );

    const missing = await ops('POST', '/v1/redeliveries', { stream: 'MERGED', consumer: 'nobody', fromSeq: 1, toSeq: 2, reason: 'x' });
    assert.equal(missing.status, 404);
    const beyond = await ops('POST', '/v1/redeliveries', { stream: 'MERGED', consumer: 'integrator', fromSeq: 1, toSeq: 1_000_000, reason: 'x' });
    assert.deepEqual([beyond.status, beyond.body.errors?.[0]?.pointer], [400, '/toSeq']);
    const badStream = await ops('POST', '/v1/redeliveries', { stream: 'JOURNAL', consumer: 'merge-p00', fromSeq: 1, toSeq: 2, reason: 'x' });
    assert.deepEqual([badStream.status, badStream.body.errors?.[0]?.pointer], [400, '/stream']);
  });
});
