import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { LIMITS } from '@tidemark/contracts';
import { TokenService, generateSigningKey, hashRefreshToken } from '@tidemark/auth';
import { STREAMS } from '@tidemark/messaging';
import { FakeDevice, count, eventually, push, startSlice, type SliceStack, type TestDevice } from '@tidemark/testing';

type AnyResponse = Omit<Response, 'json'> & { json(): Promise<any> };
const http = (url: string, init?: RequestInit): Promise<AnyResponse> => fetch(url, init) as Promise<AnyResponse>;

/** Reads an SSE response until `want` change events arrived; returns their ids and data. */
async function readChanges(url: string, headers: Record<string, string>, want: number): Promise<{ id: string; data: any }[]> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const changes: { id: string; data: any }[] = [];
  let buffer = '';
  const deadline = Date.now() + 15_000;
  while (changes.length < want && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = Object.fromEntries(
        frame
          .split('\n')
          .filter((l) => !l.startsWith(':'))
          .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
      );
      if (fields.event === 'change') changes.push({ id: fields.id!, data: JSON.parse(fields.data!) });
    }
  }
  controller.abort();
  return changes;
}

/** Reads a live stream until it sends an `error` frame and ends; returns that frame's data. */
async function readUntilError(url: string, headers: Record<string, string>, timeoutMs: number): Promise<{ code: string; detail: string }> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  assert.equal(response.status, 200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    assert.fail(`the stream did not end within ${timeoutMs} ms (${(error as Error).message}); it sent:\n${text.slice(-800)}`);
  } finally {
    clearTimeout(timer);
  }
  const frame = text.split('\n\n').find((f) => f.startsWith('event: error'));
  assert.ok(frame, `the stream ended without an error frame:\n${text.slice(-500)}`);
  return JSON.parse(
    frame
      .split('\n')
      .find((l) => l.startsWith('data: '))!
      .slice(6),
  ) as { code: string; detail: string };
}

describe('device sync protocol: tokens, tenancy, limits, duplicates, long-poll and live stream', () => {
  let stack: SliceStack;
  let gateway: string;
  let a1: TestDevice;
  let a2: TestDevice;
  let b1: TestDevice;

  before(async () => {
    stack = await startSlice([]);
    // A one-second journal dedupe window, so a re-push "weeks later" is simulated in a test.
    await stack.start('journal-service', { JOURNAL_DUPLICATE_WINDOW_MS: '1000' });
    await stack.start('merge-service');
    // A three-second refresh grace window, so a spent refresh token presented "much later" is simulated in a test.
    await stack.start('gateway', { LIVE_RECHECK_MS: '5000', REFRESH_REUSE_GRACE_SECONDS: '3' });
    gateway = stack.url('gateway');
    a1 = await stack.device('ws-a', 'a1', 'lab-1');
    a2 = await stack.device('ws-a', 'a2', 'lab-2');
    b1 = await stack.device('ws-b', 'b1');
  });
  after(async () => {
    await stack?.stop();
  });

  const journalCount = async (): Promise<number> => (await stack.js.jsm.streams.info(STREAMS.journal)).state.messages;
  const get = (path: string, headers: Record<string, string>) => http(`${gateway}${path}`, { headers });
  const refresh = (token: string) => http(`${gateway}/v1/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: token }) });

  describe('authentication', () => {
    it('refuses a missing, malformed, wrongly signed, expired or revoked token with 401 problem+json', async () => {
      const missing = await get('/v1/changes', {});
      assert.equal(missing.status, 401);
      assert.match(missing.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.equal((await missing.json()).code, 'token-missing');

      const malformed = await get('/v1/changes', { authorization: 'Bearer not-a-jwt' });
      assert.equal(malformed.status, 401);
      assert.equal((await malformed.json()).code, 'token-malformed');

      const foreignKey = new TokenService(generateSigningKey('test'));
      const forged = await foreignKey.issueDeviceAccess({ workspace: 'ws-a', deviceId: 'a1', site: null, generation: 1 }, new Date(), 600);
      const badSignature = await get('/v1/changes', { authorization: `Bearer ${forged.token}` });
      assert.equal(badSignature.status, 401);
      assert.equal((await badSignature.json()).code, 'token-bad-signature');

      const ownKey = new TokenService(stack.env.AUTH_SIGNING_KEYS!);
      const stale = await ownKey.issueDeviceAccess({ workspace: 'ws-a', deviceId: 'a1', site: null, generation: 1 }, new Date(Date.now() - 3_600_000), 60);
      const expired = await get('/v1/changes', { authorization: `Bearer ${stale.token}` });
      assert.equal(expired.status, 401);
      assert.equal((await expired.json()).code, 'token-expired');

      const doomed = await stack.device('ws-a', 'doomed');
      assert.equal((await get('/v1/changes', doomed.headers)).status, 200);
      const revoke = await http(`${gateway}/v1/admin/workspaces/ws-a/devices/doomed/revoke`, {
        method: 'POST',
        headers: { ...stack.operatorHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'lost tablet' }),
      });
      assert.equal(revoke.status, 200);
      const afterRevoke = await get('/v1/changes', doomed.headers);
      assert.equal(afterRevoke.status, 401, 'revocation takes effect on the very next request');
      assert.equal((await afterRevoke.json()).code, 'token-revoked');
      const refreshed = await http(`${gateway}/v1/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: doomed.refreshToken }) });
      assert.equal(refreshed.status, 401, 'a revoked device cannot refresh either');
      assert.equal(await count(stack.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'device.revoke' AND reason = 'lost tablet'"), 1);
    });

    it('rotates refresh tokens, forgives a lost answer within the grace window, and ends the login when a spent or superseded token is replayed', async () => {
      const device = await stack.device('ws-a', 'rotating');
      const first = await refresh(device.refreshToken);
      assert.equal(first.status, 200);
      const r1 = await first.json();
      assert.notEqual(r1.refreshToken, device.refreshToken);
      assert.equal((await get('/v1/changes', { authorization: `Bearer ${r1.accessToken}` })).status, 200);
      // The answer to that refresh was "lost": within the window the old token works again, since its successor was never used.
      const again = await refresh(device.refreshToken);
      assert.equal(again.status, 200);
      const r2 = await again.json();
      const r3 = await (await refresh(r2.refreshToken)).json();
      const r4 = await (await refresh(r3.refreshToken)).json();
      assert.ok(r4.refreshToken);
      // Replaying r2 now (its successor r3 has been used) is theft: the whole login is revoked.
      const replay = await refresh(r2.refreshToken);
      assert.equal(replay.status, 401);
      assert.equal((await replay.json()).code, 'refresh-reused');
      assert.equal((await refresh(r4.refreshToken)).status, 401, 'every refresh token of the login is revoked');

      // The successor the lost answer carried is superseded: whoever presents it later ends the login.
      const other = await stack.device('ws-a', 'superseded');
      const s1 = await (await refresh(other.refreshToken)).json();
      const retried = await refresh(other.refreshToken);
      assert.equal(retried.status, 200);
      const s2 = await retried.json();
      const superseded = await refresh(s1.refreshToken);
      assert.equal(superseded.status, 401);
      assert.equal((await superseded.json()).code, 'refresh-reused');
      assert.equal((await refresh(s2.refreshToken)).status, 401, 'the pair issued on the retry is revoked with the login');
    });

    it('treats a spent refresh token presented after the grace window as reuse, even while its successor is unused', async () => {
      const device = await stack.device('ws-a', 'late');
      const usedAt = Date.now();
      const first = await refresh(device.refreshToken);
      assert.equal(first.status, 200);
      const l1 = await first.json();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, usedAt + 3500 - Date.now()))); // past the three-second grace window
      const late = await refresh(device.refreshToken);
      assert.equal(late.status, 401);
      assert.equal((await late.json()).code, 'refresh-reused');
      assert.equal((await refresh(l1.refreshToken)).status, 401, 'the unused successor is revoked with the login');
    });

    it('refuses a push from a revoked or re-enrolled device with 401 before anything of its body, and journals none of it', async () => {
      const device = new FakeDevice('push-doomed');
      const doomed = await stack.device('ws-a', 'push-doomed');
      const pushAs = (headers: Record<string, string>, body: string, contentType = 'application/json') =>
        http(`${gateway}/v1/events`, { method: 'POST', headers: { ...headers, 'content-type': contentType }, body });
      const first = await pushAs(doomed.headers, JSON.stringify({ events: [device.upsert('annotation', 'pd-1', { label: 'before' })] }));
      assert.equal(first.status, 200, 'the device pushes while it is in standing');
      const again = await pushAs(doomed.headers, JSON.stringify({ events: [device.upsert('annotation', 'pd-1', { label: 'again' })] }));
      assert.equal(again.status, 200);

      const reenrol = await http(`${gateway}/v1/admin/workspaces/ws-a/devices/push-doomed/reenrol`, {
        method: 'POST',
        headers: { ...stack.operatorHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'new tablet' }),
      });
      assert.equal(reenrol.status, 200);
      const before = await journalCount();
      const stale = await pushAs(doomed.headers, JSON.stringify({ events: [device.upsert('annotation', 'pd-1', { label: 'old generation' })] }));
      assert.equal(stale.status, 401, 'a token of the previous generation no longer pushes');
      assert.equal((await stale.json()).code, 'token-revoked');

      const revoke = await http(`${gateway}/v1/admin/workspaces/ws-a/devices/push-doomed/revoke`, {
        method: 'POST',
        headers: { ...stack.operatorHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'lost tablet' }),
      });
      assert.equal(revoke.status, 200);
      const refusals = [
        await pushAs(doomed.headers, JSON.stringify({ events: [device.upsert('annotation', 'pd-2', { label: 'valid' })] })),
        await pushAs(doomed.headers, JSON.stringify({ events: [{ eventId: 'not-a-uuid' }] })),
        await pushAs(doomed.headers, JSON.stringify({ events: [new FakeDevice('someone-else').upsert('annotation', 'pd-3', { label: 'foreign' })] })),
      ];
      for (const refused of refusals) {
        assert.equal(refused.status, 401, 'a revoked device hears 401 whatever it sent');
        assert.equal((await refused.json()).code, 'token-revoked');
      }
      assert.equal(await journalCount(), before, 'nothing of a refused push is journaled');
      const operator = await pushAs(stack.operatorHeaders, JSON.stringify({ events: [device.upsert('annotation', 'pd-4', { label: 'x' })] }));
      assert.equal(operator.status, 403, 'an operator token does not push');
      assert.equal((await operator.json()).code, 'wrong-token-kind');
    });

    it('keeps device and operator tokens to their own routes', async () => {
      assert.equal((await get('/v1/changes', stack.operatorHeaders)).status, 403, 'an operator token is not a device');
      assert.equal((await get('/v1/admin/workspaces', a1.headers)).status, 403, 'a device token is not an operator');
      const opsOnly = await stack.operatorToken('watcher', ['ops']);
      assert.equal((await get('/v1/admin/workspaces', { authorization: `Bearer ${opsOnly}` })).status, 403, 'admin routes need the admin role');
      const me = await (await get('/v1/auth/whoami', a1.headers)).json();
      assert.deepEqual({ kind: me.kind, workspace: me.workspace, deviceId: me.deviceId, site: me.site }, { kind: 'device', workspace: 'ws-a', deviceId: 'a1', site: 'lab-1' });
    });
  });

  describe('refresh token races', () => {
    it('leaves one live refresh token when two refreshes with the same token race', async () => {
      const device = await stack.device('ws-a', 'racing');
      const answers = await Promise.all([refresh(device.refreshToken), refresh(device.refreshToken)]);
      const pairs = await Promise.all(answers.map(async (a) => (a.status === 200 ? ((await a.json()) as { refreshToken: string }) : undefined)));
      const issued = pairs.filter((p) => p !== undefined).map((p) => hashRefreshToken(p.refreshToken));
      assert.ok(issued.length >= 1, 'at least one refresh succeeds');
      assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM refresh_tokens WHERE token_hash = ANY($1) AND used_at IS NULL', [issued]), 1, 'only one of the issued refresh tokens is live');
    });

    it('five concurrent refreshes with one token: exactly one 200, the rest 401 refresh-reused, and the winner keeps its login', async () => {
      const device = await stack.device('ws-a', 'five-racers');
      // Five warm connections, so the five presentations reach the gateway together.
      await Promise.all(Array.from({ length: 5 }, () => get('/healthz', {}).then((r) => r.text())));
      const answers = await Promise.all(Array.from({ length: 5 }, () => refresh(device.refreshToken)));
      const bodies = await Promise.all(answers.map(async (a) => ({ status: a.status, body: (await a.json()) as { code?: string; refreshToken?: string } })));
      assert.deepEqual(bodies.map((b) => b.status).sort(), [200, 401, 401, 401, 401]);
      for (const b of bodies.filter((x) => x.status === 401)) assert.equal(b.body.code, 'refresh-reused');
      const winner = bodies.find((b) => b.status === 200)!.body.refreshToken!;
      assert.equal((await refresh(winner)).status, 200, 'the winner’s refresh token still works');
    });

    it('forgives a spent token once: a second re-presentation is refresh-reused and ends the login', async () => {
      const device = await stack.device('ws-a', 'twice-lost');
      assert.equal((await refresh(device.refreshToken)).status, 200);
      const again = await refresh(device.refreshToken);
      assert.equal(again.status, 200, 'the one re-presentation');
      const next = (await again.json()) as { refreshToken: string };
      const third = await refresh(device.refreshToken);
      assert.equal(third.status, 401);
      assert.equal(((await third.json()) as { code: string }).code, 'refresh-reused');
      assert.equal((await refresh(next.refreshToken)).status, 401, 'the login is ended');
    });
  });

  describe('tenancy', () => {
    it("never lets a device of workspace A read or write workspace B's data", async () => {
      const deviceB = new FakeDevice('b1');
      const bEvent = deviceB.upsert('annotation', 'shared-id', { label: 'b-only' });
      assert.equal((await push(gateway, [bEvent], b1.headers)).status, 200);
      await eventually(async () => assert.equal(await count(stack.db, "SELECT count(*) AS n FROM event_receipts WHERE workspace = 'ws-b'"), 1));
      const receipt = await (await get(`/v1/receipts/${bEvent.eventId}`, b1.headers)).json();
      assert.equal(receipt.status, 'applied');

      // A pushes to the same entity id: it lands in A's workspace, B's entity is untouched.
      const deviceA = new FakeDevice('a1');
      assert.equal((await push(gateway, [deviceA.upsert('annotation', 'shared-id', { label: 'a-version' })], a1.headers)).status, 200);
      await eventually(async () => assert.equal(await count(stack.db, "SELECT count(*) AS n FROM entities WHERE workspace = 'ws-a' AND entity_id = 'shared-id'"), 1));
      const bState = await stack.db.query("SELECT view FROM entities WHERE workspace = 'ws-b' AND entity_id = 'shared-id'");
      assert.deepEqual(bState.rows[0].view.values, { label: 'b-only' });

      // Reads of B's ids with A's token are not found; A's pull holds nothing of B.
      assert.equal((await get(`/v1/receipts/${bEvent.eventId}`, a1.headers)).status, 404);
      // A conflict of B's (two B devices set the same label concurrently): B reads it, A gets 404.
      const b2 = await stack.device('ws-b', 'b2');
      assert.equal((await push(gateway, [deviceB.upsert('annotation', 'b-contested', { label: 'cat' })], b1.headers)).status, 200);
      assert.equal((await push(gateway, [new FakeDevice('b2').upsert('annotation', 'b-contested', { label: 'dog' })], b2.headers)).status, 200);
      const conflictId = await eventually(async () => {
        const rows = (await stack.db.query("SELECT conflict_id FROM conflicts WHERE workspace = 'ws-b' AND entity_id = 'b-contested'")).rows;
        assert.equal(rows.length, 1);
        return rows[0].conflict_id as string;
      });
      assert.equal((await get(`/v1/conflicts/${conflictId}`, b1.headers)).status, 200);
      assert.equal((await get(`/v1/conflicts/${conflictId}`, a1.headers)).status, 404);
      const aPull = await (await get('/v1/changes?limit=1000', a1.headers)).json();
      assert.ok(aPull.changes.length > 0);
      assert.ok(aPull.changes.every((c: any) => c.eventId !== bEvent.eventId && c.deviceId !== 'b1'));
      const aReceipts = await (await get('/v1/receipts?deviceId=b1', a1.headers)).json();
      assert.equal(aReceipts.receipts.length, 0);

      // A cannot push events in the name of B's device (or any other device).
      const before = await journalCount();
      const forged = await push(gateway, [new FakeDevice('b1').upsert('annotation', 'x', { label: 'forged' })], a1.headers);
      assert.equal(forged.status, 403);
      assert.equal(forged.body.errors[0].pointer, '/events/0/deviceId');
      assert.equal(await journalCount(), before, 'nothing of a refused push is journaled');
    });
  });

  describe('limits', () => {
    it('refuses an oversize body, too many events, an oversize event and deep nesting, naming the limit, journaling nothing', async () => {
      const device = new FakeDevice('a2');
      const before = await journalCount();

      const bigBody = JSON.stringify({ events: [device.upsert('annotation', 'big', { label: 'x'.repeat(LIMITS.maxBodyBytes) })] });
      const oversize = await http(`${gateway}/v1/events`, { method: 'POST', headers: { ...a2.headers, 'content-type': 'application/json' }, body: bigBody });
      assert.equal(oversize.status, 413);
      assert.match(oversize.headers.get('content-type') ?? '', /^application\/problem\+json/);
      const oversizeBody = await oversize.json();
      assert.match(oversizeBody.detail, new RegExp(`limit of ${LIMITS.maxBodyBytes} bytes`));

      const many = Array.from({ length: LIMITS.maxEventsPerBatch + 1 }, (_, i) => device.upsert('annotation', `n${i}`, { label: 'x' }));
      const tooMany = await push(gateway, many, a2.headers);
      assert.equal(tooMany.status, 400);
      assert.match(tooMany.body.errors[0].detail, new RegExp(`the limit is ${LIMITS.maxEventsPerBatch} per batch`));

      const fat = await push(gateway, [device.upsert('annotation', 'fat', { label: 'y'.repeat(LIMITS.maxEventBytes) })], a2.headers);
      assert.equal(fat.status, 400);
      assert.equal(fat.body.errors[0].pointer, '/events/0');
      assert.match(fat.body.errors[0].detail, new RegExp(`the limit is ${LIMITS.maxEventBytes}`));

      // 20 levels (over the limit) as an ordinary body, and 200,000 levels as raw text (deeper than a JSON parser's stack).
      let nested: unknown = 'leaf';
      for (let i = 0; i < 20; i++) nested = [nested];
      const deep = await push(gateway, [device.upsert('annotation', 'deep', { label: nested })], a2.headers);
      assert.equal(deep.status, 400);
      assert.match(JSON.stringify(deep.body.errors), new RegExp(`deeper than ${LIMITS.maxValueDepth} levels`));
      const template = JSON.stringify({ events: [device.upsert('annotation', 'deeper', { label: 'HOLE' })] });
      const abyss = template.replace('"HOLE"', `${'['.repeat(200_000)}"leaf"${']'.repeat(200_000)}`);
      const deeper = await http(`${gateway}/v1/events`, { method: 'POST', headers: { ...a2.headers, 'content-type': 'application/json' }, body: abyss });
      assert.equal(deeper.status, 400);
      assert.match(deeper.headers.get('content-type') ?? '', /^application\/problem\+json/);

      assert.equal(await journalCount(), before, 'nothing of any refused request was journaled');
      assert.equal((await get('/healthz', {})).status, 200, 'the gateway is still up');
    });
  });

  describe('event ids', () => {
    it('an eventId another workspace used is another event: accepted, applied and answered duplicate in each workspace on its own', async () => {
      const b = new FakeDevice('b1', 1_950_000_000_000);
      const theirs = b.upsert('annotation', 'taken', { label: 'b' });
      assert.equal((await push(gateway, [theirs], b1.headers)).status, 200);
      await eventually(async () => assert.equal(await count(stack.db, "SELECT count(*) AS n FROM event_receipts WHERE event_id = $1 AND workspace = 'ws-b'", [theirs.eventId]), 1));

      // A batch of three whose middle event carries B's eventId: all three are A's, all accepted and journaled.
      const a = new FakeDevice('a2', 1_950_000_000_000);
      const batch = [
        a.upsert('annotation', 'mine-1', { label: 'a1' }),
        { ...a.upsert('annotation', 'taken', { label: 'a' }), eventId: theirs.eventId },
        a.upsert('annotation', 'mine-3', { label: 'a3' }),
      ];
      const before = await journalCount();
      const answer = await push(gateway, batch, a2.headers);
      assert.equal(answer.status, 200);
      assert.deepEqual(
        answer.body.results.map((r: { eventId: string; status: string }) => [r.eventId, r.status]),
        batch.map((e) => [e.eventId, 'accepted']),
      );
      assert.equal(await journalCount(), before + 3, 'every event of the batch is journaled');
      await eventually(async () => {
        const receipts = await stack.db.query<{ workspace: string; status: string; label: string }>(
          `SELECT r.workspace, r.status, e.view->'values'->>'label' AS label FROM event_receipts r
             JOIN entities e ON e.workspace = r.workspace AND e.entity_type = r.entity_type AND e.entity_id = r.entity_id
            WHERE r.event_id = $1 ORDER BY r.workspace`,
          [theirs.eventId],
        );
        assert.deepEqual(receipts.rows, [
          { workspace: 'ws-a', status: 'applied', label: 'a' },
          { workspace: 'ws-b', status: 'applied', label: 'b' },
        ]);
        for (const e of [batch[0]!, batch[2]!])
          assert.equal(await count(stack.db, "SELECT count(*) AS n FROM event_receipts WHERE event_id = $1 AND workspace = 'ws-a' AND status = 'applied'", [e.eventId]), 1);
      });
      // Each workspace sees its own receipt and its own entity.
      const mine = await get(`/v1/receipts/${theirs.eventId}`, a2.headers);
      assert.equal(mine.status, 200);
      assert.equal((await mine.json()).status, 'applied');
      const seqA = answer.body.results[1].seq;
      // Past the one-second dedupe window: each workspace's re-send is its own duplicate, with its own sequence.
      await eventually(async () => {
        const again = await push(gateway, [batch[1]!], a2.headers);
        assert.deepEqual([again.status, again.body.results[0].status, again.body.results[0].seq], [200, 'duplicate', seqA]);
      });
      const againB = await push(gateway, [theirs], b1.headers);
      assert.equal(againB.body.results[0].status, 'duplicate');
      assert.notEqual(againB.body.results[0].seq, seqA);
    });

    it('journals two workspaces’ events with the same eventId inside the dedupe window as two events', async () => {
      const id = crypto.randomUUID();
      const inA = { ...new FakeDevice('a2', 1_960_000_000_000).upsert('annotation', 'same-id', { label: 'a' }), eventId: id };
      const inB = { ...new FakeDevice('b1', 1_960_000_000_000).upsert('annotation', 'same-id', { label: 'b' }), eventId: id };
      const before = await journalCount();
      const [ra, rb] = await Promise.all([push(gateway, [inA], a2.headers), push(gateway, [inB], b1.headers)]);
      assert.deepEqual([ra.body.results[0].status, rb.body.results[0].status], ['accepted', 'accepted'], 'the journal dedupe is per workspace');
      assert.equal(await journalCount(), before + 2);
      await eventually(async () => assert.equal(await count(stack.db, "SELECT count(*) AS n FROM event_receipts WHERE event_id = $1 AND status = 'applied'", [id]), 2));
    });
  });

  describe('duplicates', () => {
    it('answers duplicate for a batch re-sent after the journal dedupe window expired, and applies nothing twice', async () => {
      const device = new FakeDevice('a2');
      const batch = Array.from({ length: 20 }, (_, i) => device.upsert('annotation', `dup-${i}`, { label: `v${i}` }));
      // Send the batch and drop the answer: the socket is destroyed as soon as the request is written.
      await new Promise<void>((resolve) => {
        const body = JSON.stringify({ events: batch });
        const req = httpRequest(`${gateway}/v1/events`, { method: 'POST', headers: { ...a2.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
        req.on('error', () => resolve());
        req.end(body, () =>
          setTimeout(() => {
            req.destroy();
            resolve();
          }, 5),
        );
      });
      await eventually(async () => assert.equal(await count(stack.db, "SELECT count(*) AS n FROM event_receipts WHERE device_id = 'a2' AND entity_id LIKE 'dup-%'"), 20), { timeoutMs: 20_000 });
      await new Promise((resolve) => setTimeout(resolve, 1500)); // past the one-second JetStream dedupe window
      const journalBefore = await journalCount();
      const retry = await push(gateway, batch, a2.headers);
      assert.equal(retry.status, 200);
      assert.deepEqual(
        retry.body.results.map((r: any) => r.status),
        batch.map(() => 'duplicate'),
      );
      const seqs = await stack.db.query("SELECT event_id, stream_seq FROM event_receipts WHERE device_id = 'a2' AND entity_id LIKE 'dup-%'");
      const bySeq = new Map(seqs.rows.map((r: any) => [r.event_id, Number(r.stream_seq)]));
      assert.deepEqual(
        retry.body.results.map((r: any) => r.seq),
        batch.map((e) => bySeq.get(e.eventId)),
        'each duplicate names its original journal sequence',
      );
      assert.equal(await journalCount(), journalBefore, 'nothing was journaled again');
      assert.equal(
        await count(
          stack.db,
          "SELECT coalesce(sum(jsonb_array_length(d.decisions)), 0) AS n FROM merge_decisions d JOIN event_receipts r USING (event_id) WHERE r.device_id = 'a2' AND r.entity_id LIKE 'dup-%'",
        ),
        20,
        'one decision per event',
      );
    });
  });

  describe('per-device sequencing', () => {
    it('records the highest contiguous deviceSeq and reports the gaps above it', async () => {
      const device = new FakeDevice('seq-dev');
      const events = Array.from({ length: 6 }, (_, i) => device.upsert('annotation', `seq-${i}`, { label: `n${i}` }));
      const headers = (await stack.device('ws-a', 'seq-dev')).headers;
      // Sequences 1, 2, 5 and 6 arrive; 3 and 4 are still on the device.
      assert.equal((await push(gateway, [events[0]!, events[1]!, events[4]!, events[5]!], headers)).status, 200);
      // The four land in different partitions, so 6 may be applied before 5: wait for all four.
      await eventually(async () => {
        const answer = await (await get('/v1/sequence', headers)).json();
        assert.equal(answer.maxAppliedSeq, 6);
        assert.equal(answer.lastPushedSeq, 6);
        assert.deepEqual({ contiguousSeq: answer.contiguousSeq, gaps: answer.gaps }, { contiguousSeq: 2, gaps: [[3, 4]] });
      });
      assert.equal((await push(gateway, [events[2]!, events[3]!], headers)).status, 200);
      await eventually(async () => {
        const answer = await (await get('/v1/sequence', headers)).json();
        assert.deepEqual({ contiguousSeq: answer.contiguousSeq, gaps: answer.gaps }, { contiguousSeq: 6, gaps: [] });
      });
    });
  });

  describe('pull, long-poll and live stream', () => {
    /** Live streams open on the gateway now (its `tidemark_live_streams` gauge). */
    const liveStreams = async (): Promise<number> => Number(/^tidemark_live_streams(?:\{[^}]*\})? (\d+)/m.exec(await (await http(`${gateway}/metrics`)).text())?.[1] ?? '0');

    it('returns the device’s own receipts with a page, and holds a long-poll until a change arrives', async () => {
      const device = new FakeDevice('a1', 1_800_000_000_000);
      const head = await (await get('/v1/changes?limit=1000', a1.headers)).json();
      let cursor = head.next;
      let page = head;
      while (page.hasMore) {
        page = await (await get(`/v1/changes?limit=1000&after=${cursor}`, a1.headers)).json();
        cursor = page.next;
      }
      const started = Date.now();
      const waiting = get(`/v1/changes?after=${cursor}&wait=20`, a2.headers).then((r) => r.json());
      await new Promise((resolve) => setTimeout(resolve, 300));
      const event = device.upsert('annotation', 'long-poll', { label: 'ping' });
      assert.equal((await push(gateway, [event], a1.headers)).status, 200);
      const woke = await waiting;
      const waited = Date.now() - started;
      assert.equal(woke.changes.length, 1);
      assert.equal(woke.changes[0].eventId, event.eventId);
      assert.ok(waited < 4000, `the long-poll answered ${waited} ms after it started, on the change notice (the re-read interval is 5 s)`);

      const quiet = Date.now();
      const empty = await (await get(`/v1/changes?after=${woke.next}&wait=1`, a2.headers)).json();
      assert.equal(empty.changes.length, 0);
      assert.ok(Date.now() - quiet >= 900, 'an empty long-poll waits its time');

      const withReceipts = await (await get(`/v1/changes?after=${cursor}&receiptsAfter=0`, a1.headers)).json();
      assert.ok(withReceipts.receipts.some((r: any) => r.eventId === event.eventId && r.status === 'applied'));
      assert.ok(
        withReceipts.receipts.every((r: any) => r.deviceId === 'a1'),
        'only the calling device’s receipts',
      );
      const bad = await get('/v1/changes?wait=31', a1.headers);
      assert.equal(bad.status, 400);
      assert.equal((await bad.json()).errors[0].pointer, 'query:wait');
    });

    it('ends a long-poll on receipts only when the next one in sequence is there, not on receipts above a gap', async () => {
      const device = new FakeDevice('gap-dev');
      const headers = (await stack.device('ws-a', 'gap-dev')).headers;
      const [e1, e2, e3] = [device.upsert('annotation', 'gap-1', { label: 'a' }), device.upsert('annotation', 'gap-2', { label: 'b' }), device.upsert('annotation', 'gap-3', { label: 'c' })];
      assert.equal((await push(gateway, [e1, e3], headers)).status, 200);
      await eventually(async () => assert.equal(await count(stack.db, "SELECT count(*) AS n FROM event_receipts WHERE device_id = 'gap-dev'"), 2));
      const head = await (await get('/v1/changes?limit=1000', headers)).json();
      let cursor = head.next;
      for (let page = head; page.hasMore; cursor = page.next) page = await (await get(`/v1/changes?limit=1000&after=${page.next}`, headers)).json();
      // The device holds receipt 1; receipt 3 sits above the gap at 2, so it does not end the wait.
      const started = Date.now();
      const held = await (await get(`/v1/changes?after=${cursor}&receiptsAfter=1&wait=2`, headers)).json();
      assert.ok(Date.now() - started >= 1800, `answered after ${Date.now() - started} ms`);
      assert.deepEqual(
        held.receipts.map((r: any) => r.deviceSeq),
        [3],
      );
      // Receipt 2 arriving ends the next wait at once.
      const waiting = get(`/v1/changes?after=${cursor}&receiptsAfter=1&wait=20`, headers).then((r) => r.json());
      assert.equal((await push(gateway, [e2], headers)).status, 200);
      const woke = await waiting;
      assert.deepEqual(
        woke.receipts.map((r: any) => r.deviceSeq),
        [2, 3],
      );
    });

    it('ends a live stream whose client went away, leaving no stream open', async () => {
      const streams = liveStreams;
      const controller = new AbortController();
      const response = await http(`${gateway}/v1/changes/stream`, { headers: a2.headers, signal: controller.signal });
      const reader = response.body!.getReader();
      await reader.read();
      await eventually(async () => assert.equal(await streams(), 1));
      controller.abort();
      await eventually(async () => assert.equal(await streams(), 0), { message: 'the stream ended when its client left' });
    });

    it('ends a live stream when its device is revoked, and when its access token expires, with the reason', async () => {
      const watcher = await stack.device('ws-a', 'revoked-watcher');
      const ended = readUntilError(`${gateway}/v1/changes/stream`, watcher.headers, 20_000);
      const revoke = await http(`${gateway}/v1/admin/workspaces/ws-a/devices/revoked-watcher/revoke`, {
        method: 'POST',
        headers: { ...stack.operatorHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'stolen' }),
      });
      assert.equal(revoke.status, 200);
      // Changes keep waking the stream; it checks the device's standing again (at most once a second) and ends.
      const device = new FakeDevice('a1', 1_950_000_000_000);
      let done = false;
      void ended.finally(() => (done = true));
      for (let i = 0; !done && i < 60; i++) {
        assert.equal((await push(gateway, [device.upsert('annotation', `wake-${i}`, { label: 'x' })], a1.headers)).status, 200);
        await Promise.race([ended.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 250))]);
      }
      assert.equal((await ended).code, 'token-revoked');

      const shortLived = await new TokenService(stack.env.AUTH_SIGNING_KEYS!).issueDeviceAccess({ workspace: 'ws-a', deviceId: 'a2', site: 'lab-2', generation: 1 }, new Date(), 2);
      const started = Date.now();
      const expired = await readUntilError(`${gateway}/v1/changes/stream`, { authorization: `Bearer ${shortLived.token}` }, 20_000);
      assert.equal(expired.code, 'token-expired');
      assert.ok(Date.now() - started < 10_000, `ended at the token's expiry, not at a keep-alive: ${Date.now() - started} ms`);
    });

    it('streams live changes and resumes from Last-Event-ID with no gap and no repeat', async () => {
      const device = new FakeDevice('a1', 1_900_000_000_000);
      const first = Array.from({ length: 30 }, (_, i) => device.upsert('annotation', `live-${i}`, { label: `first ${i}` }));
      const base = await stack.db.query("SELECT coalesce(max(cursor), 0) AS c FROM change_log WHERE workspace = 'ws-a'");
      const from = String(base.rows[0].c);
      const streamUrl = `${gateway}/v1/changes/stream?after=${from}`;
      const reading = readChanges(streamUrl, a2.headers, 30);
      await eventually(async () => assert.ok((await liveStreams()) >= 1, 'the stream is open before the push'));
      assert.equal((await push(gateway, first, a1.headers)).status, 200);
      const part1 = await reading;
      assert.equal(part1.length, 30, `received ${part1.length} of 30 live changes`);
      assert.deepEqual(new Set(part1.map((c) => c.data.eventId)), new Set(first.map((e) => e.eventId)), 'every pushed change, each once');

      // Disconnected: more changes happen; the reconnect resumes after the last id seen.
      const second = Array.from({ length: 25 }, (_, i) => device.upsert('annotation', `live-b-${i}`, { label: `second ${i}` }));
      assert.equal((await push(gateway, second, a1.headers)).status, 200);
      await eventually(async () => assert.equal(await count(stack.db, "SELECT count(*) AS n FROM change_log WHERE entity_id LIKE 'live-b-%'"), 25));
      const part2 = await readChanges(`${gateway}/v1/changes/stream`, { ...a2.headers, 'last-event-id': part1[part1.length - 1]!.id }, 25);
      assert.equal(part2.length, 25);
      const seen = [...part1, ...part2].map((c) => c.data.eventId);
      assert.equal(new Set(seen).size, 55, 'no change delivered twice');
      assert.deepEqual(new Set(seen), new Set([...first, ...second].map((e) => e.eventId)), 'no change missed');
      const ids = [...part1, ...part2].map((c) => BigInt(c.id));
      assert.ok(
        ids.every((id, i) => i === 0 || id > ids[i - 1]!),
        'event ids (cursors) only increase',
      );
    });
  });
});
