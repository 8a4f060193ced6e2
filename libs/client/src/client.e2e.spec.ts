// The device SDK against the real services (journal-service, merge-service, gateway as processes on a fresh
// NATS and Postgres): two devices edit offline and converge after reconnecting, and a device process killed
// in the middle of a push resumes from its storage with every event applied exactly once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Change, ConflictView } from '@tidemark/contracts';
import { TokenService } from '@tidemark/auth';
import { count, eventually, startSlice, type SliceStack } from '@tidemark/testing';
import { FileStorage, ServerProblemError, ServerUnavailableError, TidemarkClient, type ClientOptions, type DeviceCredentials, type Receipt, type Rejection } from './node';

const DAY = 86_400_000;
const WEEK_START = Date.UTC(2026, 10, 16);
const dirs: string[] = [];

async function tempDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `tidemark-client-${name}-`));
  dirs.push(dir);
  return dir;
}

/** A port nothing listens on: the server is unreachable. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** What a device's application keeps from the changes it pulled: the latest version of each entity. */
class Replica {
  readonly entities = new Map<string, Change>();
  readonly conflicts = new Map<string, string[]>();
  apply = (change: Change): void => {
    const key = `${change.entity.type}/${change.entity.id}`;
    const known = this.entities.get(key);
    if (!known || known.version < change.version) this.entities.set(key, change);
  };
  conflict = (change: Change): void => {
    this.conflicts.set(`${change.entity.type}/${change.entity.id}`, change.inConflict);
  };
  /** Conflict ledger entries (opened or resolved) the device was told about, by id. */
  readonly conflictLedger = new Map<string, string>();
  ledger = (conflict: ConflictView): void => {
    this.conflictLedger.set(conflict.id, conflict.status);
  };
  ledgerIds(): Set<string> {
    return new Set(this.conflictLedger.keys());
  }
  /** This device's receipts: eventId → status. */
  readonly receipts = new Map<string, string>();
  receipt = (receipt: Receipt): void => {
    this.receipts.set(receipt.eventId, receipt.status);
  };
  /** Entity → what a user sees (version, deleted, state, fields in conflict), sorted by key. */
  view(): [string, unknown][] {
    return [...this.entities.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, c]) => [key, { version: c.version, deleted: c.deleted, state: c.state, inConflict: c.inConflict }]);
  }
}

describe('device SDK against the services', () => {
  let stack: SliceStack;
  let gateway: string;

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway']);
    gateway = stack.url('gateway');
  });
  after(async () => {
    await stack?.stop();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  const fastRetry: ClientOptions['retry'] = { initialDelayMs: 20, maxDelayMs: 200, maxAttempts: 3 };

  it('two devices edit offline for a week (hundreds of edits each), A is killed mid-push, both reconnect and converge; every conflict visible to both, every event receipted once', async (t) => {
    const [dirA, dirB] = [await tempDir('a'), await tempDir('b')];
    const offline = `http://127.0.0.1:${await closedPort()}`;
    // Each device's wall clock is simulated: a week passes in milliseconds.
    let wallA = WEEK_START;
    let wallB = WEEK_START + 7_000;
    const rejected: Rejection[] = [];
    // Enrolment: A's access token has expired by the time it reconnects (a week later), so its first push
    // is refused 401 and the SDK rotates its tokens with the refresh token; B's is still valid.
    const enrolA = await stack.device('default', 'tablet-a', 'north');
    const stale = await new TokenService(stack.env.AUTH_SIGNING_KEYS!).issueDeviceAccess(
      { workspace: 'default', deviceId: 'tablet-a', site: 'north', generation: 1 },
      new Date(Date.now() - 8 * DAY),
      900,
    );
    const credentialsA: DeviceCredentials = { ...enrolA, accessToken: stale.token, accessTokenExpiresAt: stale.expiresAt.toISOString() };
    const enrolB = await stack.device('default', 'laptop-b', 'south');
    const opened: TidemarkClient[] = [];
    t.after(() => Promise.all(opened.map((c) => c.close())));
    const openDevice = async (dir: string, baseUrl: string, now: () => number, extra: Partial<ClientOptions> = {}) => {
      const client = await TidemarkClient.open({ baseUrl, storage: await FileStorage.open(dir), now, retry: fastRetry, onRejected: (r) => rejected.push(r), ...extra });
      opened.push(client); // closed after the test even when it fails midway (a running live loop would hold the process)
      return client;
    };

    // Offline: both devices work on the same annotations and prompts, all week.
    let a = await openDevice(dirA, offline, () => wallA, { credentials: credentialsA });
    let b = await openDevice(dirB, offline, () => wallB, { credentials: enrolB });
    const ids = Array.from({ length: 30 }, (_, i) => `img-${i + 1}`);
    for (let day = 0; day < 7; day++) {
      for (const id of ids) {
        await a.enqueue({
          entity: { type: 'annotation', id },
          op: 'upsert',
          fields: { votes: { op: 'inc', by: 1 }, tags: { op: 'add', values: [`a-day${day}`] }, notes: { op: 'append', values: [`a: day ${day}`] }, confidence: { op: 'set', value: day / 10 } },
        });
        await b.enqueue({
          entity: { type: 'annotation', id },
          op: 'upsert',
          fields: { votes: { op: 'inc', by: 2 }, tags: { op: 'add', values: [`b-day${day}`] }, notes: { op: 'append', values: [`b: day ${day}`] }, assetId: { op: 'set', value: `asset-b-${day}` } },
        });
      }
      wallA += DAY;
      wallB += DAY - 60_000; // B's clock runs a little slow
    }
    // Concurrent judgement calls: different labels for the same images, different texts for the same prompt.
    for (const id of ['img-1', 'img-2', 'img-3']) {
      await a.upsert('annotation', id, { label: 'cat' });
      await b.upsert('annotation', id, { label: 'dog' });
    }
    await a.upsert('prompt', 'p-1', { text: 'describe the image', title: 'from a' });
    wallB -= 2 * DAY; // B's clock is corrected backwards mid-week: its stamps still go forward
    await b.upsert('prompt', 'p-2', { text: 'caption it', title: 'from b' });
    await b.remove('annotation', 'img-30');
    const totalA = 7 * 30 + 3 + 1;
    const totalB = 7 * 30 + 3 + 2;
    assert.equal(a.pending().length, totalA);
    assert.equal(b.pending().length, totalB);

    await assert.rejects(a.sync(), ServerUnavailableError, 'unreachable server: the sync fails…');
    assert.equal(a.pending().length, totalA, '…and every event stays queued');
    const eventsA = a.pending().map((e) => e.eventId);
    const eventsB = b.pending().map((e) => e.eventId);
    await a.close();
    await b.close();

    // A reconnects in its own process and is SIGKILLed mid-push: batch 1 acknowledged, batch 2 journaled
    // but its answer never reached the outbox.
    const child = runChild([join(__dirname, 'test-support', 'push-child.js'), 'resume', dirA, gateway], { HOLD_SECOND_ANSWER: '1' });
    await child.waitFor(/^holding 200$/m);
    child.kill();
    assert.equal((await child.exited).signal, 'SIGKILL', child.output());
    assert.match(child.output(), /^pushed 100$/m);
    const storageA = await FileStorage.open(dirA);
    const stored = JSON.parse((await storageA.get('credentials'))!) as DeviceCredentials;
    await storageA.close();
    assert.notEqual(stored.refreshToken, enrolA.refreshToken, 'the expired access token was refreshed and the rotated pair stored');

    // Both apps restart on their storage, pointed at the gateway; they keep the conflicts and receipts they see.
    const replicaA = new Replica();
    const replicaB = new Replica();
    a = await openDevice(dirA, gateway, () => wallA, { onChange: replicaA.apply, onConflict: replicaA.conflict, onConflictUpdate: replicaA.ledger, onReceipt: replicaA.receipt });
    b = await openDevice(dirB, gateway, () => wallB, { onChange: replicaB.apply, onConflict: replicaB.conflict, onConflictUpdate: replicaB.ledger, onReceipt: replicaB.receipt });
    assert.equal(a.deviceId, 'tablet-a');
    assert.equal(a.pending().length, totalA - 100, 'batch 1 left the outbox before the kill; batch 2 is still there');
    assert.deepEqual(
      a.pending().map((e) => e.eventId),
      eventsA.slice(100),
      'the same events, with the same ids, after the restart',
    );
    assert.deepEqual(
      b.pending().map((e) => e.eventId),
      eventsB,
    );

    // A syncs by hand; B runs the live loop (long-poll).
    const first = await a.sync();
    assert.deepEqual({ accepted: first.push.accepted, duplicate: first.push.duplicate }, { accepted: totalA - 200, duplicate: 100 }, 'the batch journaled before the kill answers duplicate');
    const loopErrors: Error[] = [];
    b.on('error', (error) => loopErrors.push(error));
    b.start({ live: true, waitSeconds: 2 });
    await eventually(() => assert.equal(b.pending().length, 0), { message: 'the loop pushes B’s queue' });
    await eventually(async () => assert.equal(await count(stack.db, "SELECT count(*) AS n FROM event_receipts WHERE device_id IN ('tablet-a', 'laptop-b')"), totalA + totalB), {
      timeoutMs: 60_000,
      message: 'every event projected',
    }).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await stack.diagnostics()}`, { cause: error });
    });
    await eventually(
      async () => {
        await a.pull();
        assert.equal(replicaA.receipts.size, totalA);
      },
      { message: 'A holds a receipt for each of its events' },
    );
    await eventually(() => assert.equal(replicaB.entities.size, replicaA.entities.size), { message: 'the live loop pulls everything' });
    await eventually(() => assert.equal(replicaB.receipts.size, totalB), { message: 'B holds a receipt for each of its events' });
    await b.stop();
    await b.pull();
    await a.pull();

    // Both devices see the same thing for every entity, and it is the server's projection.
    assert.deepEqual(replicaA.view(), replicaB.view());
    const server = await count(stack.db, 'SELECT count(*) AS n FROM entities');
    assert.equal(replicaA.entities.size, server);
    assert.equal(replicaA.entities.size, 32);
    const img1 = replicaA.entities.get('annotation/img-1')!;
    assert.equal((img1.state as { votes: number }).votes, 21, 'counters add up: 7 × 1 + 7 × 2');
    assert.equal((img1.state as { tags: string[] }).tags.length, 14, 'add-wins set keeps every tag');
    assert.equal((img1.state as { notes: string[] }).notes.length, 14, 'append keeps every note');
    assert.deepEqual(img1.inConflict, ['label'], 'concurrent labels are a visible conflict, not a silent winner');
    assert.equal(replicaA.entities.get('annotation/img-30')!.deleted, true);
    // Every conflict of the ledger reached both devices.
    const conflicts = (await stack.db.query<{ conflict_id: string }>('SELECT conflict_id FROM conflicts ORDER BY conflict_id')).rows.map((r) => r.conflict_id);
    assert.ok(conflicts.length >= 3, `conflicts: ${conflicts.length}`);
    assert.deepEqual([...replicaA.ledgerIds()].sort(), conflicts);
    assert.deepEqual([...replicaB.ledgerIds()].sort(), conflicts);
    // Every event has exactly one receipt and was applied once.
    assert.deepEqual([...replicaA.receipts.keys()].sort(), [...eventsA].sort());
    assert.deepEqual([...replicaB.receipts.keys()].sort(), [...eventsB].sort());
    assert.ok(
      [...replicaA.receipts.values(), ...replicaB.receipts.values()].every((status) => ['applied', 'merged', 'conflicted'].includes(status)),
      'no event rejected or left unapplied',
    );
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM (SELECT event_id FROM change_log GROUP BY event_id HAVING count(*) > 1) d'), 0, 'no event applied twice');
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM change_log'), totalA + totalB, 'one change per event');
    assert.deepEqual(rejected, []);
    assert.equal(loopErrors.length, 0, loopErrors.map((e) => e.message).join('; '));
    // The next edit is based on what the device pulled.
    const next = await a.upsert('annotation', 'img-2', { confidence: 0.99 });
    assert.equal(next.baseVersion, replicaA.entities.get('annotation/img-2')!.version);
    assert.equal(next.deviceSeq, totalA + 1);
    await a.push();
    const cursor = a.cursor;
    await a.close();
    await b.close();

    // After a restart the pull continues from the saved cursor: only the change made since comes.
    const later: Change[] = [];
    a = await TidemarkClient.open({ baseUrl: gateway, storage: await FileStorage.open(dirA), onChange: (c) => void later.push(c) });
    assert.equal(a.cursor, cursor);
    await eventually(async () => assert.ok((await a.pull()).changes > 0), { message: 'the new change to be projected' });
    assert.deepEqual(
      later.map((c) => [c.entity.id, c.eventId]),
      [['img-2', next.eventId]],
    );
    await a.close();
  });

  it('a device process SIGKILLed mid-push resumes from its storage; every event is applied exactly once', async () => {
    const N = 450;
    const dir = await tempDir('crash');
    const idsFile = join(await tempDir('crash-ids'), 'ids.json');
    const child = join(__dirname, 'test-support', 'push-child.js');

    // First run: enqueue N events, push; SIGKILL once batch 1 is acknowledged and batch 2 is journaled but unrecorded.
    const enrolment = JSON.stringify(await stack.device('default', 'crash-device'));
    const first = runChild([child, 'enqueue', dir, gateway, String(N), idsFile], { HOLD_SECOND_ANSWER: '1', DEVICE_CREDENTIALS: enrolment });
    await first.waitFor(/^holding 200$/m);
    first.kill();
    const exited = await first.exited;
    assert.equal(exited.signal, 'SIGKILL', first.output());
    assert.match(first.output(), /^pushed 100$/m);
    assert.doesNotMatch(first.output(), /^done/m);
    const { deviceId, eventIds } = JSON.parse(await readFile(idsFile, 'utf8')) as { deviceId: string; eventIds: string[] };
    assert.equal(eventIds.length, N);

    // Restart on the same storage: same device, same sequence; batch 1 is gone, batch 2 onwards re-sent with the same ids.
    const second = runChild([child, 'resume', dir, gateway], {});
    const result = await second.exited;
    assert.equal(result.code, 0, second.output());
    const resumed = JSON.parse(/^resumed (.*)$/m.exec(second.output())![1]!) as { deviceId: string; lastSeq: number; pending: number };
    assert.deepEqual(resumed, { deviceId, lastSeq: N, pending: N - 100 });
    const { accepted, duplicate, quarantined, remaining } = JSON.parse(/^done (.*)$/m.exec(second.output())![1]!) as Record<string, number>;
    assert.deepEqual(
      { accepted, duplicate, quarantined, remaining },
      { accepted: N - 200, duplicate: 100, quarantined: 0, remaining: 0 },
      'batch 2 was journaled before the kill: the server answers duplicate',
    );

    // Every pushed eventId has exactly one receipt and one change; the device sequence is 1..N without gaps.
    await eventually(async () => assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM event_receipts WHERE device_id = $1', [deviceId]), N), {
      timeoutMs: 20_000,
      message: 'every event projected',
    });
    const receipts = await stack.db.query<{ event_id: string; device_seq: string; status: string }>(
      'SELECT event_id, device_seq, status FROM event_receipts WHERE device_id = $1 ORDER BY device_seq',
      [deviceId],
    );
    assert.deepEqual(receipts.rows.map((r) => r.event_id).sort(), [...eventIds].sort(), 'the receipts are exactly the enqueued events');
    assert.deepEqual(
      receipts.rows.map((r) => Number(r.device_seq)),
      Array.from({ length: N }, (_, i) => i + 1),
    );
    assert.ok(
      receipts.rows.every((r) => r.status === 'applied'),
      JSON.stringify(receipts.rows.find((r) => r.status !== 'applied')),
    );
    const changes = await stack.db.query<{ event_id: string; n: string }>('SELECT event_id, count(*) AS n FROM change_log WHERE device_id = $1 GROUP BY event_id', [deviceId]);
    assert.equal(changes.rows.length, N);
    assert.ok(
      changes.rows.every((r) => r.n === '1'),
      'one change per event',
    );
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM journal_duplicates WHERE device_id = $1', [deviceId]), 0, 'the re-sent batch never reached the projector twice');
    const versions = await stack.db.query<{ total: string }>("SELECT sum(version) AS total FROM entities WHERE entity_type = 'annotation' AND entity_id LIKE 'crash-%'");
    assert.equal(Number(versions.rows[0]!.total), N, 'entity versions add up to one per event');
  });

  it('the README example runs against the gateway, and a second run continues the same device', async () => {
    const example = join(__dirname, '..', 'examples', 'basic.mjs');
    const dir = join(await tempDir('example'), 'device');
    const enrolment = join(await tempDir('example-enrolment'), 'enrolment.json');
    await writeFile(enrolment, JSON.stringify(await stack.device('default', 'example-device')));
    const first = runChild([example, gateway, dir, enrolment], {});
    assert.equal((await first.exited).code, 0, first.output());
    const device = /^device (\S+): 0 event\(s\) still queued/m.exec(first.output())?.[1];
    assert.ok(device, first.output());
    assert.match(first.output(), /^pushed 2 accepted, 0 duplicate;/m);
    const second = runChild([example, gateway, dir], {});
    assert.equal((await second.exited).code, 0, second.output());
    assert.match(second.output(), new RegExp(`^device ${device}: 0 event\\(s\\) still queued`, 'm'));
    assert.match(second.output(), /^pushed 2 accepted, 0 duplicate;/m);
    await eventually(async () => assert.equal(await count(stack.db, "SELECT count(*) AS n FROM event_receipts WHERE device_id = $1 AND status IN ('applied', 'merged')", [device]), 4), {
      message: 'both runs’ events applied',
    });
  });

  it('reads write receipts when the gateway serves GET /v1/receipts', async (t) => {
    const client = await TidemarkClient.open({
      baseUrl: gateway,
      storage: await FileStorage.open(await tempDir('receipts')),
      credentials: await stack.device('default', 'receipts-device'),
      retry: fastRetry,
    });
    await client.upsert('annotation', 'r-1', { label: 'owl' });
    await client.enqueue({ entity: { type: 'annotation', id: 'r-2' }, op: 'upsert', fields: { votes: { op: 'inc', by: 1 } } });
    await client.push();
    let page;
    try {
      page = await client.receipts();
    } catch (error) {
      if (error instanceof ServerProblemError && error.status === 404) {
        await client.close();
        t.skip('receipts route not present');
        return;
      }
      throw error;
    }
    assert.ok(Array.isArray(page.receipts));
    const all = await eventually(
      async () => {
        const receipts = await client.allReceipts();
        assert.equal(receipts.length, client.lastSeq);
        return receipts;
      },
      { message: 'a receipt for every event of this device' },
    );
    assert.deepEqual(
      all.map((r) => r.deviceSeq),
      Array.from({ length: client.lastSeq }, (_, i) => i + 1),
    );
    assert.ok(
      all.every((r) => r.deviceId === client.deviceId && ['applied', 'merged'].includes(r.status)),
      JSON.stringify(all),
    );
    await client.close();
  });
  it('discarding quarantined events tells the server their sequences are abandoned: ops-api shows them abandoned, not missing, and the device is not falling behind', async () => {
    const ops = (await stack.start('ops-api')).url;
    const credentials = await stack.device('ws-abandon', 'discarder');
    // The device's first 30 events reach the gateway broken (schemaVersion 0): the gateway refuses them for good.
    const corrupting: typeof fetch = async (input, init) => {
      if (init?.method === 'POST' && String(input).endsWith('/v1/events') && typeof init.body === 'string') {
        const body = JSON.parse(init.body) as { events: { deviceSeq: number; schemaVersion: number }[] };
        for (const event of body.events) if (event.deviceSeq <= 30) event.schemaVersion = 0;
        return fetch(input, { ...init, body: JSON.stringify(body) });
      }
      return fetch(input, init);
    };
    const device = await TidemarkClient.open({ baseUrl: gateway, storage: await FileStorage.open(await tempDir('abandon')), credentials, fetch: corrupting, retry: fastRetry });
    try {
      for (let i = 0; i < 40; i++) await device.upsert('annotation', `ab-${i % 4}`, { label: `v${i}` });
      const pushed = await device.push();
      assert.deepEqual([pushed.quarantined, pushed.remaining], [30, 0], JSON.stringify(pushed));
      const view = async () => {
        const answer = await fetch(`${ops}/v1/devices?workspace=ws-abandon&behindThreshold=10`, { headers: stack.operatorHeaders });
        assert.equal(answer.status, 200);
        return ((await answer.json()) as { devices: any[] }).devices.find((d) => d.deviceId === 'discarder');
      };
      const before = await eventually(
        async () => {
          const d = await view();
          assert.deepEqual([d.lastPushedSeq, d.lastAppliedSeq], [40, 40], JSON.stringify(d));
          return d;
        },
        { message: 'the 10 good events projected and the push progress written' },
      );
      assert.deepEqual([before.missing, before.behindBy, before.fallingBehind, before.abandoned], [30, 30, true, 0], 'unreported: 30 missing, falling behind for ever');

      assert.equal(await device.discardQuarantined(), 30);
      assert.deepEqual(await device.quarantined(), []);
      const after = await view();
      assert.deepEqual([after.missing, after.behindBy, after.fallingBehind, after.gaps], [0, 0, false, []], JSON.stringify(after));
      assert.deepEqual([after.abandoned, after.abandonedRanges], [30, [[1, 30]]]);
      const recorded = (
        await stack.db.query('SELECT first_seq::int AS f, last_seq::int AS t, reason FROM device_abandoned_sequences WHERE workspace = $1 AND device_id = $2', ['ws-abandon', 'discarder'])
      ).rows as { f: number; t: number; reason: string }[];
      assert.deepEqual(
        recorded.map((r) => [r.f, r.t]),
        [[1, 30]],
      );
      assert.match(recorded[0]!.reason, /discarded from the device quarantine/);

      // The route refuses a bad report whole, naming each problem, and records nothing of it; a repeat is idempotent.
      const post = (body: unknown) =>
        fetch(`${gateway}/v1/sequence/abandoned`, { method: 'POST', headers: { ...credentials.headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const bad = await post({
        ranges: [
          { from: 41, to: 45 },
          { from: 50, to: 49 },
        ],
      });
      assert.equal(bad.status, 400);
      assert.match(bad.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.deepEqual(
        ((await bad.json()) as { errors: { pointer: string }[] }).errors.map((e) => e.pointer),
        ['/ranges/1'],
      );
      assert.equal((await post({ ranges: [] })).status, 400);
      assert.equal((await post({ ranges: [{ from: 0, to: 3 }] })).status, 400);
      assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM device_abandoned_sequences'), 1, 'nothing of a refused report');
      const again = await post({ ranges: [{ from: 1, to: 30 }] });
      assert.deepEqual(await again.json(), { deviceId: 'discarder', abandoned: [[1, 30]], recorded: 0 }, 'idempotent');
    } finally {
      await device.close();
    }
  });
});

/** A child Node process with its output collected. */
function runChild(args: string[], env: Record<string, string>) {
  const proc = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of waiters.filter((w) => w.pattern.test(output))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    output: () => output,
    exited,
    kill: () => proc.kill('SIGKILL'),
    waitFor: (pattern: RegExp) =>
      Promise.race([
        new Promise<void>((resolve) => (pattern.test(output) ? resolve() : waiters.push({ pattern, resolve }))),
        exited.then(() => {
          if (!pattern.test(output)) throw new Error(`the child exited before printing ${pattern}:\n${output}`);
        }),
      ]),
  };
}
