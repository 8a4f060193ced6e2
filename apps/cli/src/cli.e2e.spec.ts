// The built `tidemark` CLI as a child process against real services (journal-service, merge-service,
// gateway, ops-api on a fresh NATS and Postgres): what it prints (text, and --json parsed) and how it
// exits, for every command on real data — pushes, a parked event re-driven after its schema is
// published, a conflict resolved, a replay dry-run followed to its diff and swapped — and for a refused
// call, a bad flag, an unreachable ops-api and a missing token.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { FakeDevice, count, eventually as eventuallyWithin, push, startSlice, type EventuallyOptions, type SliceStack } from '@tidemark/testing';

/**
 * Most checks here run the CLI, a Node process whose start alone takes seconds on a loaded machine: they get
 * a minute unless they say otherwise (a check that passes returns at once).
 */
const eventually = <T>(check: () => T | Promise<T>, options: EventuallyOptions = {}) => eventuallyWithin(check, { timeoutMs: 60_000, ...options });

const MAIN = join(__dirname, 'main.js');
const REPO = join(__dirname, '..', '..', '..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('tidemark CLI end to end', () => {
  let stack: SliceStack;
  let env: Record<string, string>;

  /** Runs a command line (`node dist/main.js …`, or another program) with the given environment; never rejects. */
  const exec = (file: string, args: string[], runEnv: Record<string, string | undefined>, cwd = REPO): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = spawn(file, args, { cwd, env: Object.fromEntries(Object.entries(runEnv).filter(([, v]) => v !== undefined)) as Record<string, string>, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
  const tidemark = (args: string[], overrides: Record<string, string | undefined> = {}) => exec(process.execPath, [MAIN, ...args], { ...env, ...overrides });
  /** A --json command that must succeed: its parsed document. */
  const json = async <T = any>(args: string[]): Promise<T> => {
    const run = await tidemark(['--json', ...args]);
    assert.equal(run.code, 0, `tidemark ${args.join(' ')}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
    return JSON.parse(run.stdout) as T;
  };
  /** A text command that must succeed: its stdout. */
  const text = async (args: string[]): Promise<string> => {
    const run = await tidemark(args);
    assert.equal(run.code, 0, `tidemark ${args.join(' ')}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
    return run.stdout;
  };
  const receipts = () => count(stack.db, 'SELECT count(*) AS n FROM event_receipts');

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway']);
    const services = (['journal-service', 'merge-service', 'gateway'] as const).map((name) => `${name}=${stack.url(name)}`).join(',');
    await stack.start('ops-api', { SERVICE_URLS: services, RATE_SAMPLE_INTERVAL_MS: '200' });
    env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      TIDEMARK_OPS_URL: stack.url('ops-api'),
      TIDEMARK_TOKEN: stack.operatorHeaders.authorization!.replace(/^Bearer /, ''),
    };
  });
  after(async () => {
    await stack?.stop();
  });

  it('--help lists the commands and the exit codes; no command is a usage error', async () => {
    const help = await tidemark(['--help']);
    assert.equal(help.code, 0);
    for (const command of ['status', 'lag', 'devices', 'sites', 'parked', 'redrive', 'skip', 'conflicts', 'resolve', 'inspect', 'replay', 'replays'])
      assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'), command);
    assert.match(help.stdout, /Exit codes:\n {2}0 {4}ok\n {2}1 {4}the service refused the call/);
    const replayHelp = await tidemark(['replay', '--help']);
    assert.equal(replayHelp.code, 0);
    for (const sub of ['plan', 'start', 'status', 'diff', 'swap', 'cancel', 'list']) assert.match(replayHelp.stdout, new RegExp(`^  ${sub}\\b`, 'm'), sub);
    const none = await tidemark([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Usage: tidemark/);
  });

  it('ends quietly when the reader closes the pipe early (tidemark --help | head -2): no EPIPE crash', async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const child = spawn(process.execPath, [MAIN, '--help'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy(); // the reader is gone before the CLI writes a byte
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      assert.equal(stderr, '', 'nothing on stderr');
      assert.equal(code, 0);
    }
  });

  const laptop = new FakeDevice('laptop-1');

  it('status and lag: every service ready and nothing behind; with merge-service stopped, status exits 4 and lag shows the backlog and its age', async () => {
    assert.equal(
      (await stack.push([laptop.upsert('annotation', 'img-1', { label: 'cat' }), laptop.upsert('annotation', 'img-2', { label: 'dog' }), laptop.upsert('prompt', 'pr-1', { title: 'hello' })])).status,
      200,
    );
    await eventually(async () => assert.equal(await receipts(), 3));

    const overview = await eventually(async () => {
      const o = await json(['status']);
      // Observations are shared for a second: wait for one taken after the push.
      assert.equal(o.streams.journal.lastSeq, 3);
      assert.equal(o.projection.lag.messages, 0);
      assert.notEqual(o.rates.ingestPerSecond, null, 'rates sampled');
      return o;
    });
    assert.equal(overview.ready, true);
    assert.deepEqual(
      overview.services.map((s: any) => [s.name, s.ready]),
      [
        ['journal-service', true],
        ['merge-service', true],
        ['gateway', true],
      ],
    );
    assert.equal(overview.streams.journal.lastSeq, 3);
    assert.deepEqual([overview.parked, overview.conflictsOpen, overview.unavailable], [0, 0, []]);
    const statusText = await text(['status', '--max-lag', '0']);
    assert.match(statusText, /^services +ready \(3\/3 ready\)$/m);
    assert.match(statusText, /^ +merge-service +yes +200 /m);
    assert.match(statusText, /^journal +3 messages, last seq 3 at /m);
    assert.match(statusText, /^projection +lag 0 messages \/ 0s, 0 of 4 partitions behind$/m);
    assert.match(statusText, /^rates +ingest [0-9.]+\/s, project [0-9.]+\/s/m);

    const uploads = await json(['uploads']);
    assert.deepEqual([uploads.inProgress.uploads, uploads.stalled], [0, []]);
    assert.match(await text(['uploads']), /^0 uploads in progress, 0 B pending/);

    const lag = await json(['lag']);
    assert.deepEqual(lag.streams.find((s: any) => s.name === 'JOURNAL').lastSeq, 3);
    assert.equal(lag.projection.partitions.length, 4);
    assert.equal(lag.projection.total.messages, 0);

    await stack.services.get('merge-service')!.stop();
    const late = laptop.upsert('annotation', 'img-3', { label: 'owl' });
    assert.equal((await stack.push([late])).status, 200);
    const down = await eventually(async () => {
      const run = await tidemark(['status', '--max-lag', '0']);
      assert.equal(run.code, 4, run.stderr);
      assert.match(run.stderr, /^tidemark: status: merge-service is not ready/m);
      assert.match(run.stderr, /^tidemark: status: projection lag 1 message is above --max-lag 0$/m);
      return run;
    });
    assert.match(down.stdout, /^services +NOT READY \(2\/3 ready\)$/m);
    const downJson = await tidemark(['--json', 'status']);
    assert.equal(downJson.code, 4, 'not ready is a failed check without thresholds too');
    assert.equal(JSON.parse(downJson.stdout).ready, false);

    const backlog = await eventually(async () => {
      const v = await json(['lag']);
      assert.ok(
        v.projection.partitions.some((p: any) => p.lag.messages === 1 && p.lag.seconds > 0),
        JSON.stringify(v.projection),
      );
      return v;
    });
    const behind = backlog.projection.partitions.find((p: any) => p.lag.messages === 1);
    const consumer = backlog.streams.find((s: any) => s.name === 'JOURNAL').consumers.find((c: any) => c.name === behind.consumer);
    assert.equal(consumer.pending, 1);
    assert.ok(consumer.oldestPendingSeconds > 0);
    const lagText = await text(['lag']);
    assert.match(lagText, new RegExp(`^JOURNAL +${behind.consumer} +1 +0 +0 +\\d+ +[0-9.]+s$`, 'm'), lagText);
    assert.match(lagText, new RegExp(`^${behind.partition} +${behind.consumer} +\\d+ +1 +[0-9.]+s`, 'm'), lagText);

    await stack.start('merge-service');
    await eventually(async () => {
      const run = await tidemark(['status', '--max-lag', '0', '--max-lag-seconds', '60']);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '');
    });
    assert.equal(await receipts(), 4);
  });

  it('devices and sites: a device silent while its site is active falls behind, and its site counts it', async () => {
    const [cam1, cam2] = [await stack.device('default', 'cam-1', 'harbour'), await stack.device('default', 'cam-2', 'harbour')];
    const [one, two] = [new FakeDevice('cam-1'), new FakeDevice('cam-2')];
    assert.equal((await push(stack.url('gateway'), [one.upsert('annotation', 'cam-1-shot', { label: 'boat' })], cam1.headers)).status, 200);
    // cam-1 goes silent for longer than --stale-after (15 s); then cam-2 pushes, so the site is active for the next 15 s
    // (room for the CLI runs below on a loaded machine).
    await eventually(
      async () => {
        const v = await json(['devices', '--site', 'harbour']);
        assert.ok(v.devices.find((d: any) => d.deviceId === 'cam-1').silentSeconds > 17);
      },
      { timeoutMs: 45_000, intervalMs: 500 },
    );
    const everyone = await json(['devices', '--workspace', 'default']);
    assert.deepEqual(everyone.devices.map((d: any) => d.deviceId).sort(), ['cam-1', 'cam-2', 'laptop-1']);
    // cam-2 pushes (and is projected) right before each look below, so its site is active (heard from within the
    // last 15 s) however long a CLI run takes on a loaded machine; cam-1 stays silent.
    let shots = 0;
    const siteActive = async () => {
      const before = await receipts();
      assert.equal((await push(stack.url('gateway'), [two.upsert('annotation', `cam-2-shot-${shots++}`, { label: 'gull' })], cam2.headers)).status, 200);
      await eventually(async () => assert.ok((await receipts()) > before));
    };

    await siteActive();
    const all = await eventually(
      async () => {
        const v = await json(['devices', '--site', 'harbour', '--stale-after', '15']);
        assert.deepEqual(
          v.devices.map((d: any) => [d.deviceId, d.site, d.fallingBehind, d.reasons.map((r: any) => r.code)]),
          [
            ['cam-1', 'harbour', true, ['stale']],
            ['cam-2', 'harbour', false, []],
          ],
        );
        return v;
      },
      { intervalMs: 100 },
    );
    assert.equal(all.staleAfterSeconds, 15);
    await siteActive();
    const behind = await json(['devices', '--site', 'harbour', '--behind', '--stale-after', '15']);
    assert.deepEqual(
      behind.devices.map((d: any) => d.deviceId),
      ['cam-1'],
    );

    await siteActive();
    const devicesText = await text(['devices', '--site', 'harbour', '--behind', '--stale-after', '15']);
    assert.match(devicesText, /^WORKSPACE +DEVICE +SITE +STATUS +PUSHED +APPLIED +MISSING +BEHIND BY +SILENT +FALLING BEHIND +READ TO +REFUSED$/m);
    assert.match(devicesText, /^default +cam-1 +harbour +active +1 +1 +0 +0 +[0-9.]+s +stale$/m);
    assert.match(devicesText, /^ {2}default\/cam-1: not heard from for \d+ s \(more than 15 s\) while site "harbour" is active$/m);
    assert.doesNotMatch(devicesText, /cam-2/);

    await siteActive();
    const sites = await json(['sites', '--workspace', 'default', '--stale-after', '15']);
    const harbour = sites.sites.find((s: any) => s.site === 'harbour');
    assert.deepEqual([harbour.devices, harbour.fallingBehind, harbour.fallingBehindDevices], [2, 1, ['cam-1']]);
    await siteActive();
    assert.match(await text(['sites', '--stale-after', '15']), /^default +harbour +2 +1 +0 +0 .* cam-1$/m);
  });

  const photoSchema = { type: 'photo', version: 1, onDeleteConflict: 'delete-wins', fields: { caption: { policy: 'lww', valueType: 'string' } } };

  it('parked: an unknown entity type parks; redrive without --reason is a usage error; after the schema is published the redrive applies it (inspect shows it); again is refused with the problem on stderr; skip', async () => {
    const cam = new FakeDevice('field-cam');
    const photo = cam.event('photo', 'harbour', 'upsert', { fields: { caption: { op: 'set', value: 'boats at dawn' } } });
    assert.equal((await stack.push([photo])).status, 200);
    const entry = await eventually(async () => {
      const list = await json(['parked']);
      assert.equal(list.parked.length, 1);
      return list.parked[0];
    });
    assert.deepEqual([entry.eventId, entry.status, entry.code, entry.event.entity], [photo.eventId, 'parked', 'unknown-entity-type', { type: 'photo', id: 'harbour' }]);
    const listText = await text(['parked']);
    assert.match(listText, new RegExp(`^${entry.consumer} +${entry.seq} +parked +unknown-entity-type +default +photo/harbour +${photo.eventId} +\\d+ .*unknown entity type "photo"`, 'm'), listText);
    const one = await json(['parked', entry.consumer, String(entry.seq)]);
    assert.equal(one.receipt.status, 'parked');
    assert.equal((await json(['status'])).parked, 1);
    assert.deepEqual((await json(['parked', '--status', 'redriven'])).parked, []);

    const noReason = await tidemark(['redrive', entry.consumer, String(entry.seq)]);
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /required option '--reason <reason>' not specified/);
    const badSeq = await tidemark(['redrive', entry.consumer, 'twelve', '--reason', 'x']);
    assert.equal(badSeq.code, 2);

    const put = await fetch(`${stack.url('journal-service')}/v1/schemas/photo/1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...stack.operatorHeaders },
      body: JSON.stringify(photoSchema),
    });
    assert.equal(put.status, 201, await put.text());
    const redriven = await json(['redrive', entry.consumer, String(entry.seq), '--reason', 'photo v1 published']);
    assert.deepEqual([redriven.action, redriven.eventId, redriven.duplicate], ['redrive', photo.eventId, false]);
    assert.ok(redriven.journalSeq > entry.seq);

    const inspected = await eventually(async () => {
      const v = await json(['inspect', photo.eventId]);
      assert.equal(v.receipt?.status, 'applied');
      return v;
    });
    assert.equal(inspected.receipt.streamSeq, redriven.journalSeq);
    assert.deepEqual(inspected.entity.after.view.values, { caption: 'boats at dawn' });
    assert.deepEqual(
      inspected.parked.map((p: any) => [p.streamSeq, p.status, p.resolution]),
      [[entry.seq, 'redriven', 'redrive']],
    );
    const inspectText = await text(['inspect', photo.eventId]);
    assert.match(inspectText, /^receipt +applied \(version 1\)$/m);
    assert.match(inspectText, /^entity +default photo\/harbour$/m);
    assert.match(inspectText, /^caption +lww +/m);
    assert.match(inspectText, /^after +version 1: \{"caption":"boats at dawn"\}$/m);

    const again = await tidemark(['redrive', entry.consumer, String(entry.seq), '--reason', 'once more']);
    assert.equal(again.code, 1);
    assert.equal(again.stdout, '');
    assert.match(again.stderr, /^tidemark: Not parked \(409\)\n {2}.*the entry is redriven, not parked/);
    const againJson = await tidemark(['--json', 'redrive', entry.consumer, String(entry.seq), '--reason', 'once more']);
    assert.equal(againJson.code, 1);
    assert.match(JSON.parse(againJson.stdout).type, /parked-entry-not-parked$/, 'with --json the problem document is on stdout');

    const sketch = cam.event('sketch', 'pier', 'upsert', { fields: { lines: { op: 'set', value: 12 } } });
    assert.equal((await stack.push([sketch])).status, 200);
    const parked = await eventually(async () => {
      const list = await json(['parked', '--code', 'unknown-entity-type']);
      assert.equal(list.parked.length, 1);
      return list.parked[0];
    });
    assert.match(await text(['skip', parked.consumer, String(parked.seq), '--reason', 'sketch never shipped']), /^skip of merge-p\d+ \d+ journaled at seq \d+; /);
    await eventually(async () => assert.equal((await json(['inspect', sketch.eventId])).receipt?.status, 'skipped'));
    assert.deepEqual(
      (await json(['parked', '--status', 'all'])).parked.map((p: any) => p.status),
      ['redriven', 'skipped'],
    );
  });

  let conflictId = '';

  it('conflicts and resolve: lists and counts the open conflict, refuses bad picks locally (exit 2), resolves it through the journal, and a second resolution is refused (exit 1)', async () => {
    const [tablet, other] = [new FakeDevice('tablet-a'), new FakeDevice('laptop-b')];
    assert.equal((await stack.push([tablet.upsert('annotation', 'img-9', { confidence: 0.5 }), tablet.upsert('annotation', 'img-9', { label: 'cat' }, 0)])).status, 200);
    const theirs = other.upsert('annotation', 'img-9', { label: 'dog' }, 0);
    assert.equal((await stack.push([theirs])).status, 200);
    conflictId = `${theirs.eventId}:label`;
    const listed = await eventually(async () => {
      const v = await json(['conflicts']);
      assert.equal(v.conflicts.length, 1);
      return v.conflicts[0];
    });
    assert.deepEqual([listed.id, listed.workspace, listed.field, listed.status, listed.ours.value, listed.theirs.value], [conflictId, 'default', 'label', 'open', 'cat', 'dog']);
    assert.match(await text(['conflicts']), new RegExp(`^${conflictId} +default +annotation/img-9 +label +open +cat +dog +[0-9.]+[smh]`, 'm'));
    const hot = await json(['conflicts', '--hotspots']);
    assert.deepEqual(
      hot.hotspots.map((h: any) => [h.workspace, h.entityType, h.field, h.open]),
      [['default', 'annotation', 'label', 1]],
    );
    assert.match(await text(['conflicts', '--hotspots']), /^default +annotation +label +1 +[0-9.]+[smh]/m);
    assert.deepEqual((await json(['conflicts', '--workspace', 'nobody'])).conflicts, []);

    for (const bad of [
      ['--pick', 'maybe'],
      ['--pick', 'value'],
      ['--pick', 'ours', '--value', '"x"'],
      ['--pick', 'value', '--value', 'lynx'],
    ]) {
      const run = await tidemark(['resolve', conflictId, ...bad, '--reason', 'typo']);
      assert.equal(run.code, 2, `${bad.join(' ')}: ${run.stderr}`);
    }
    const resolved = await json(['resolve', conflictId, '--pick', 'value', '--value', '"lynx"', '--reason', 'both were wrong: it is a lynx']);
    assert.deepEqual([resolved.status, resolved.workspace, resolved.conflictId], ['accepted', 'default', conflictId]);
    const after = await eventually(async () => {
      const c = await json(['conflicts', conflictId]);
      assert.equal(c.status, 'resolved');
      return c;
    });
    assert.deepEqual(after.resolved, { eventId: resolved.eventId, seq: resolved.seq });
    const resolution = await eventually(async () => json(['inspect', resolved.eventId]));
    assert.deepEqual(
      resolution.conflicts.resolved.map((c: any) => c.id),
      [conflictId],
    );
    assert.equal(resolution.entity.after.view.values.label, 'lynx');
    assert.match(await text(['conflicts', conflictId]), /^status +resolved$/m);
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'conflict.resolve' AND reason = 'both were wrong: it is a lynx' AND outcome = 'ok'"), 1);

    const twice = await tidemark(['resolve', conflictId, '--pick', 'ours', '--reason', 'again']);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /^tidemark: .+ \(409\)\n {2}\S/);
  });

  it('replay: a refused request names each problem; plan; a dry run followed with status --watch reaches built; diff; swap confirmed by the digest; cancel', async () => {
    const refused = await tidemark(['replay', 'start', '--workspace', 'default', '--policy-revision', 'annotation=7', '--reason', 'not published', '--dry-run']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^tidemark: Validation failed \(400\)\n/);
    assert.match(refused.stderr, /^ {2}\/policyRevisions\/annotation: annotation has no published policy revision 7/m);
    const usage = await tidemark(['replay', 'start', '--workspace', 'default', '--policy-revision', 'annotation', '--reason', 'x']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /must be type=revision/);

    const annotations = await count(stack.db, "SELECT count(*) AS n FROM entities WHERE workspace = 'default' AND entity_type = 'annotation'");
    const annotationEvents = await count(stack.db, "SELECT count(*) AS n FROM event_receipts WHERE workspace = 'default' AND entity_type = 'annotation'");
    const plan = await json(['replay', 'plan', '--workspace', 'default', '--entity-type', 'annotation', '--reason', 'how big is it', '--dry-run']);
    assert.equal(plan.status, 'cancelled', 'plan only: cancelled once planned');
    assert.deepEqual([plan.planOnly, plan.error, plan.builtAt, plan.progress.eventsDone], [true, null, null, 0], 'ended by the worker once planned: nothing built');
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM information_schema.schemata WHERE schema_name = $1', [`replay_${plan.id.replace(/-/g, '')}`]), 0, 'no shadow');
    assert.equal(plan.plan.affectedEntities, annotations);
    assert.deepEqual([plan.plan.selectedEvents, plan.plan.rebuildEvents], [annotationEvents, annotationEvents], JSON.stringify(plan.plan));
    assert.deepEqual(plan.scope, { workspace: 'default', entityType: 'annotation' });

    const started = await json(['replay', 'start', '--workspace', 'default', '--entity-type', 'annotation', '--reason', 'verify the projection', '--dry-run', '--rate', '500']);
    assert.equal(started.eventsPerSecond, 500);
    assert.ok(['queued', 'planning', 'building', 'diffing', 'built'].includes(started.status));
    const watched = await tidemark(['--json', 'replay', 'status', started.id, '--watch', '--interval', '100']);
    assert.equal(watched.code, 0, watched.stderr);
    const built = JSON.parse(watched.stdout);
    assert.equal(built.status, 'built');
    assert.equal(built.progress.percent, 100);
    assert.match(built.diff.digest, /^[0-9a-f]{64}$/);
    assert.deepEqual(built.diff.summary.entities, { affected: annotations, changed: 0, unchanged: annotations, added: 0, removed: 0 }, 'the same policies rebuild the same projection');
    const statusText = await text(['replay', 'status', started.id]);
    assert.match(statusText, /^status +built$/m);
    assert.match(statusText, new RegExp(`^digest +${built.diff.digest}$`, 'm'));
    assert.match(statusText, new RegExp(`tidemark replay swap ${started.id} --confirm ${built.diff.digest}`));

    const diff = await json(['replay', 'diff', started.id]);
    assert.deepEqual([diff.digest, diff.entities], [built.diff.digest, []]);
    const everything = await json(['replay', 'diff', started.id, '--change', 'all', '--limit', '2', '--all']);
    assert.equal(everything.entities.length, annotations, 'every page read into one document');
    assert.ok(everything.entities.every((e: any) => e.change === 'unchanged' && e.workspace === 'default' && e.entityType === 'annotation'));
    assert.equal(everything.next, null);
    assert.match(await text(['replay', 'diff', started.id, '--change', 'unchanged']), /^default +annotation\/img-1 +unchanged +\d+/m);

    const mismatch = await tidemark(['replay', 'swap', started.id, '--confirm', '0'.repeat(64), '--reason', 'apply']);
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.stderr, /^tidemark: Confirmation does not match the diff \(409\)\n {2}confirm must be the digest/);
    assert.match(mismatch.stderr, /^ {2}\/confirm: is not the diff digest$/m);
    const swapped = await json(['replay', 'swap', started.id, '--confirm', built.diff.digest, '--reason', 'verified: nothing changes']);
    assert.deepEqual([swapped.status, swapped.swap.changed], ['swapped', 0]);
    const late = await tidemark(['replay', 'cancel', started.id, '--reason', 'too late']);
    assert.equal(late.code, 1);
    assert.match(late.stderr, /^tidemark: Replay is in the wrong state \(409\)\n {2}replay .* is swapped; it has already ended/);

    // Text mode without a terminal: each phase on a line, then the job; cancelled afterwards.
    const followed = await tidemark(['replay', 'start', '--workspace', 'default', '--entity-type', 'annotation', '--entity-id', 'img-1', '--reason', 'one entity', '--watch', '--interval', '100']);
    assert.equal(followed.code, 0, followed.stderr);
    assert.match(followed.stdout, /^built: 100% \(\d+\/\d+ events\)/m);
    const followedId = /^replay +([0-9a-f-]{36})$/m.exec(followed.stdout)?.[1];
    assert.ok(followedId, followed.stdout);
    assert.match(followed.stdout, /^entities +1 affected: 0 changed, 1 unchanged, 0 added, 0 removed$/m);
    const cancelled = await json(['replay', 'cancel', followedId, '--reason', 'not needed']);
    assert.equal(cancelled.status, 'cancelled');
    const cancelledWatch = await tidemark(['replay', 'status', followedId, '--watch']);
    assert.equal(cancelledWatch.code, 5, 'a watched replay that ended cancelled');
    assert.match(cancelledWatch.stderr, new RegExp(`^tidemark: replay ${followedId} ended cancelled$`, 'm'));

    const replays = await json(['replays']);
    assert.deepEqual(
      replays.replays.map((r: any) => [r.id, r.status]),
      [
        [followedId, 'cancelled'],
        [started.id, 'swapped'],
        [plan.id, 'cancelled'],
      ],
    );
    assert.deepEqual(
      (await json(['replay', 'list', '--status', 'swapped'])).replays.map((r: any) => r.id),
      [started.id],
    );
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'replay.request'"), 3);
  });

  it('errors: an unreachable ops-api exits 3, no token exits 1 with the 401 detail, a bad flag exits 2, a malformed URL exits 2', async () => {
    const port = await closedPort();
    const unreachable = await tidemark(['status', '--url', `http://127.0.0.1:${port}`]);
    assert.equal(unreachable.code, 3);
    assert.equal(unreachable.stdout, '');
    assert.match(unreachable.stderr, new RegExp(`^tidemark: cannot reach ops-api at http://127.0.0.1:${port}: connect ECONNREFUSED`));
    const viaEnv = await tidemark(['lag'], { TIDEMARK_OPS_URL: `http://127.0.0.1:${port}` });
    assert.equal(viaEnv.code, 3);

    const anonymous = await tidemark(['parked'], { TIDEMARK_TOKEN: undefined });
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /^tidemark: Unauthorized \(401\)\n {2}\S.*\n$/);
    const anonymousJson = await tidemark(['--json', 'status'], { TIDEMARK_TOKEN: undefined });
    assert.equal(anonymousJson.code, 1);
    assert.equal(JSON.parse(anonymousJson.stdout).status, 401);
    const forged = await tidemark(['status', '--token', 'not-a-token']);
    assert.equal(forged.code, 1);
    assert.match(forged.stderr, /^tidemark: Unauthorized \(401\)/);

    const bogus = await tidemark(['devices', '--bogus']);
    assert.equal(bogus.code, 2);
    assert.match(bogus.stderr, /unknown option '--bogus'/);
    assert.equal((await tidemark(['devices', '--limit', 'ten'])).code, 2);
    assert.equal((await tidemark(['conflicts', '--status', 'closed'])).code, 2);
    assert.equal((await tidemark(['nonsense'])).code, 2);
    const badUrl = await tidemark(['status'], { TIDEMARK_OPS_URL: 'ops-api:3005' });
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /TIDEMARK_OPS_URL/);
    const refusedByApi = await tidemark(['inspect', 'not-an-event-id']);
    assert.equal(refusedByApi.code, 1);
    assert.match(refusedByApi.stderr, /^ {2}path:eventId: /m);
  });

  it('runs from the repository as `npm run tidemark -- …`', async () => {
    const run = await exec('npm', ['run', '--silent', 'tidemark', '--', '--json', 'status'], { ...env, npm_config_update_notifier: 'false' });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).ready, true);
  });
});
