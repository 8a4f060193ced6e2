import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Change } from '@tidemark/contracts';
import { TidemarkClient, type ClientOptions } from './client';
import { ServerProblemError } from './errors';
import { MemoryStorage } from './storage/storage';
import { FakeGateway } from './test-support/fake-gateway';

/** Packages the SDK loads at run time besides its own files (the local replica's merge engine, canonical JSON). */
const RUNTIME_PACKAGES = ['@tidemark/merge', '@tidemark/contracts/core', 'idb', 'tus-js-client', '@noble/hashes/sha2'];

async function open(gateway: FakeGateway, storage: MemoryStorage, options: Partial<ClientOptions> = {}) {
  return TidemarkClient.open({ baseUrl: 'http://gateway.test', storage, fetch: gateway.fetch, sleep: () => Promise.resolve(), random: () => 0, ...options });
}

/** Resolves when `check` passes (polling on the event loop; the fakes answer at once). */
async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('TidemarkClient', () => {
  it('pulls page by page in cursor order, saves the cursor, and continues from it after a restart', async () => {
    const gateway = new FakeGateway();
    const writer = await open(gateway, new MemoryStorage(), { deviceId: 'writer' });
    for (let i = 0; i < 7; i++) await writer.upsert('annotation', `a${i % 3}`, { n: i });
    await writer.push();

    const storage = new MemoryStorage();
    const seen: Change[] = [];
    const reader = await open(gateway, storage, { pullPageSize: 3, bootstrapFromSnapshot: false, onChange: (c) => void seen.push(c) });
    const summary = await reader.pull();
    assert.deepEqual(summary, { pages: 3, changes: 7, conflicts: 0, receipts: 0, cursor: '7' });
    assert.deepEqual(
      seen.map((c) => c.cursor),
      ['1', '2', '3', '4', '5', '6', '7'],
    );
    assert.deepEqual(
      gateway.requests.filter((r) => r.method === 'GET').map((r) => new URL(r.url).search),
      ['?limit=3&receiptsAfter=0', '?limit=3&receiptsAfter=0&after=3', '?limit=3&receiptsAfter=0&after=6'],
    );
    assert.equal(reader.knownVersion('annotation', 'a0'), 3);
    await reader.close();

    await writer.upsert('annotation', 'a1', { n: 99 });
    await writer.push();
    const again: Change[] = [];
    const restarted = await open(gateway, storage, { onChange: (c) => void again.push(c) });
    assert.equal(restarted.cursor, '7');
    await restarted.pull();
    assert.deepEqual(
      again.map((c) => c.cursor),
      ['8'],
      'no change delivered twice across the restart',
    );
    // the next edit is based on the version this device last pulled
    const edit = await restarted.upsert('annotation', 'a1', { n: 100 });
    assert.equal(edit.baseVersion, 3);
    assert.equal((await restarted.upsert('annotation', 'never-seen', { n: 1 })).baseVersion, 0);
    assert.equal((await restarted.upsert('annotation', 'a1', { n: 1 }, 1)).baseVersion, 1, 'an explicit baseVersion wins');
  });

  it('bootstraps a device that never pulled from the snapshot, page by page, then pulls the changes since its cursor; a crash mid-snapshot continues at the next page', async () => {
    const gateway = new FakeGateway();
    const writer = await open(gateway, new MemoryStorage(), { deviceId: 'writer' });
    for (let i = 0; i < 9; i++) await writer.upsert('annotation', `a${i % 5}`, { n: i });
    await writer.push();
    const latest = (): [string, unknown][] => {
      const byKey = new Map<string, Change>();
      for (const c of gateway.changes) byKey.set(`${c.entity.type}/${c.entity.id}`, c);
      return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, c]) => [k, c.state]);
    };

    const seen: Change[] = [];
    const fresh = await open(gateway, new MemoryStorage(), { pullPageSize: 2, onChange: (c) => void seen.push(c) });
    const summary = await fresh.pull();
    assert.deepEqual(summary.snapshot, { pages: 3, entries: 5, cursor: '9' });
    assert.deepEqual(
      seen.map((c) => `${c.entity.id}@${c.version}`),
      ['a0@2', 'a1@2', 'a2@2', 'a3@2', 'a4@1'],
      'one entry per entity, its latest version, as a change',
    );
    assert.equal(fresh.cursor, '9');
    assert.equal(fresh.knownVersion('annotation', 'a3'), 2);
    const gets = gateway.requests.filter((r) => r.method === 'GET');
    assert.deepEqual(
      gets.map((r) => `${new URL(r.url).pathname}${new URL(r.url).search}`),
      ['/v1/snapshot?limit=2', '/v1/snapshot?limit=2&cursor=9&after=annotation%2Fa1', '/v1/snapshot?limit=2&cursor=9&after=annotation%2Fa3', '/v1/changes?limit=2&receiptsAfter=0&after=9'],
    );
    for (const r of gets) assert.equal(r.headers['accept-encoding'], 'br, gzip', 'pulls ask for compressed answers');
    await fresh.close();

    // A device whose app fails on the third entry: the snapshot stops before that page is stored.
    const storage = new MemoryStorage();
    let failOnce = true;
    const applied = new Map<string, unknown>();
    const crashing = await open(gateway, storage, {
      pullPageSize: 2,
      onChange: (c) => {
        if (c.entity.id === 'a2' && failOnce) {
          failOnce = false;
          throw new Error('the app crashed');
        }
        applied.set(`${c.entity.type}/${c.entity.id}`, c.state);
      },
    });
    await assert.rejects(crashing.pull(), /the app crashed/);
    await crashing.close();
    assert.deepEqual(JSON.parse((await storage.get('pull'))!).snapshot, { cursor: '9', next: 'annotation/a1' });
    // Meanwhile the workspace moves on; the restarted device reads the rest of the same snapshot, then the changes since.
    await writer.upsert('annotation', 'a0', { n: 100 });
    await writer.upsert('annotation', 'a9', { n: 101 });
    await writer.push();
    const before = gateway.requests.length;
    const restarted = await open(gateway, storage, { pullPageSize: 2, onChange: (c) => void applied.set(`${c.entity.type}/${c.entity.id}`, c.state) });
    const resumed = await restarted.pull();
    assert.deepEqual(resumed.snapshot, { pages: 2, entries: 3, cursor: '9' });
    assert.equal(resumed.changes, 2);
    assert.deepEqual(new URL(gateway.requests[before]!.url).search, '?limit=2&cursor=9&after=annotation%2Fa1');
    assert.deepEqual(
      [...applied.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
      latest(),
    );
    await restarted.close();

    // A snapshot cursor the server no longer knows starts the snapshot again.
    const stale = new MemoryStorage();
    await stale.put('pull', JSON.stringify({ v: 1, versions: {}, receiptMark: 0, snapshot: { cursor: '999', next: 'annotation/a1' } }));
    gateway.script.push({
      status: 400,
      body: { type: 'https://tidemark.dev/problems/validation-failed', title: 'Validation failed', status: 400, errors: [{ pointer: 'query:cursor', detail: 'not a cursor of this workspace' }] },
      headers: { 'content-type': 'application/problem+json' },
    });
    const again = await open(gateway, stale, { pullPageSize: 10 });
    assert.deepEqual((await again.pull()).snapshot, { pages: 1, entries: 6, cursor: '11' });
    await again.close();

    const everything = await open(gateway, new MemoryStorage(), { bootstrapFromSnapshot: false });
    assert.equal((await everything.pull()).changes, 11, 'bootstrapFromSnapshot: false pulls every change');
    await everything.close();
  });

  it('reports changes with fields in conflict to conflict listeners', async () => {
    const gateway = new FakeGateway();
    const writer = await open(gateway, new MemoryStorage());
    await writer.upsert('prompt', 'p1', { text: 'a' });
    await writer.upsert('prompt', 'p2', { text: 'b' });
    await writer.push();
    gateway.changes[1]!.inConflict = ['text'];
    const conflicts: Change[] = [];
    const reader = await open(gateway, new MemoryStorage(), { onConflict: (c) => void conflicts.push(c) });
    const off = reader.on('conflict', (c) => void conflicts.push(c));
    assert.equal((await reader.pull()).conflicts, 1);
    assert.deepEqual(
      conflicts.map((c) => [c.entity.id, c.inConflict]),
      [
        ['p2', ['text']],
        ['p2', ['text']],
      ],
    );
    off();
  });

  it('a listener that throws stops the pull before the cursor moves, so the page comes again', async () => {
    const gateway = new FakeGateway();
    const writer = await open(gateway, new MemoryStorage());
    await writer.upsert('annotation', 'a', { n: 1 });
    await writer.push();
    let fail = true;
    const seen: string[] = [];
    const reader = await open(gateway, new MemoryStorage(), {
      onChange: (c) => {
        seen.push(c.cursor);
        if (fail) throw new Error('the app could not store it');
      },
    });
    await assert.rejects(reader.pull(), /could not store/);
    assert.equal(reader.cursor, undefined);
    fail = false;
    await reader.pull();
    assert.deepEqual(seen, ['1', '1']);
    assert.equal(reader.cursor, '1');
  });

  it('the background loop pushes soon after an enqueue, reports failures, recovers, and stops', async () => {
    const gateway = new FakeGateway();
    const errors: Error[] = [];
    const changes: Change[] = [];
    const client = await open(gateway, new MemoryStorage(), { onError: (e) => errors.push(e), onChange: (c) => void changes.push(c), retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 5 } });
    try {
      client.start({ intervalMs: 60_000 });
      client.start({ intervalMs: 60_000 }); // a second start does nothing
      await until(() => gateway.requests.length >= 1, 'the first sync');
      const event = await client.upsert('annotation', 'a', { label: 'cat' });
      await until(() => gateway.journal.length === 1 && changes.length === 1, 'the enqueue to be pushed and pulled back without waiting the interval');
      assert.equal(gateway.journal[0]!.eventId, event.eventId);

      gateway.offline = true;
      await client.upsert('annotation', 'b', { label: 'dog' });
      await until(() => errors.length >= 2, 'failures to be reported');
      gateway.offline = false;
      await until(() => gateway.journal.length === 2, 'the loop to recover');
      await client.stop();
      const requests = gateway.requests.length;
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(gateway.requests.length, requests, 'nothing runs after stop');
    } finally {
      await client.close();
    }
    assert.throws(() => client.start(), /closed/);
  });

  it('a pull asked for while the live loop long-polls is answered at once, and the loop reports no error', async () => {
    const gateway = new FakeGateway();
    let longPolls = 0;
    // The gateway holds a long-poll (`wait=`) until the client gives it up.
    const fetch: ClientOptions['fetch'] = (url, init) => {
      if (!String(url).includes('wait=')) return gateway.fetch(url, init);
      longPolls++;
      return new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    };
    const errors: Error[] = [];
    const client = await open(gateway, new MemoryStorage(), { fetch, onError: (e) => errors.push(e) });
    try {
      client.start({ live: true, waitSeconds: 25 });
      await until(() => longPolls === 1, 'the loop to long-poll');
      await client.upsert('annotation', 'a', { label: 'cat' });
      await until(() => gateway.journal.length === 1 && longPolls === 2, 'the enqueue to be pushed and the loop to long-poll again');
      const started = Date.now();
      const pulled = await client.pull();
      assert.ok(Date.now() - started < 2_000, `answered in ${Date.now() - started} ms, not after the 25 s long-poll`);
      assert.ok(pulled);
      await until(() => longPolls === 3, 'the loop to go back to its long-poll');
      assert.deepEqual(
        errors.map((e) => e.message),
        [],
      );
    } finally {
      await client.close();
    }
  });

  it('the receipt mark steps over a sequence the server refused for good, so later receipts are not asked for again', async () => {
    const asked: string[] = [];
    let refusedId = '';
    const fetch: ClientOptions['fetch'] = async (url, init) => {
      const u = new URL(String(url));
      if (init?.method === 'POST' && u.pathname === '/v1/events') {
        const { events } = JSON.parse(String(init.body)) as { events: { eventId: string; deviceSeq: number }[] };
        const results = events.map((e, i) =>
          e.deviceSeq === 1 ? { eventId: e.eventId, status: 'rejected', reason: 'this eventId is already used by another event' } : { eventId: e.eventId, status: 'accepted', seq: i + 1 },
        );
        refusedId = events.find((e) => e.deviceSeq === 1)!.eventId;
        return new Response(JSON.stringify({ results }), { status: 200, headers: { 'content-type': 'application/json' } });
      }
      if (u.pathname === '/v1/changes') {
        asked.push(u.searchParams.get('receiptsAfter')!);
        const after = Number(u.searchParams.get('receiptsAfter'));
        const receipts = [2, 3]
          .filter((seq) => seq > after)
          .map((seq) => ({
            eventId: `e${seq}`,
            deviceId: 'tablet',
            deviceSeq: seq,
            entity: { type: 'annotation', id: 'a' },
            status: 'applied',
            reason: null,
            version: seq,
            streamSeq: seq,
            acceptedAt: new Date(0).toISOString(),
          }));
        return new Response(JSON.stringify({ changes: [], next: '0', hasMore: false, conflicts: [], receipts }), { status: 200, headers: { 'content-type': 'application/json' } });
      }
      return new Response(JSON.stringify({ status: 404 }), { status: 404, headers: { 'content-type': 'application/problem+json' } });
    };
    const client = await open(new FakeGateway(), new MemoryStorage(), { fetch, bootstrapFromSnapshot: false });
    try {
      for (let i = 0; i < 3; i++) await client.upsert('annotation', 'a', { label: `v${i}` });
      await client.push();
      assert.deepEqual(
        (await client.quarantined()).map((q) => q.event.eventId),
        [refusedId],
      );
      await client.pull();
      await client.pull();
      assert.deepEqual(asked, ['0', '3'], 'receipts 2 and 3 are not asked for again behind the refused sequence 1');
    } finally {
      await client.close();
    }
  });

  it('receipts: GET /v1/receipts?deviceId=…; a gateway without the route answers 404 as ServerProblemError', async () => {
    const gateway = new FakeGateway();
    const client = await open(gateway, new MemoryStorage(), { deviceId: 'dev-r' });
    await assert.rejects(client.receipts(), (error: unknown) => error instanceof ServerProblemError && error.status === 404);
    const receipt = {
      eventId: 'e',
      deviceId: 'dev-r',
      deviceSeq: 1,
      entity: { type: 'annotation', id: 'a' },
      status: 'applied',
      reason: null,
      version: 1,
      streamSeq: 1,
      acceptedAt: '2025-11-25T00:00:00.000Z',
    };
    gateway.script.push({ status: 200, body: { receipts: [receipt], next: '1:e', hasMore: true } }, { status: 200, body: { receipts: [], hasMore: false } });
    assert.deepEqual(await client.allReceipts(), [receipt]);
    const urls = gateway.requests.slice(-2).map((r) => new URL(r.url));
    assert.deepEqual(
      urls.map((u) => [u.pathname, u.searchParams.get('deviceId'), u.searchParams.get('after')]),
      [
        ['/v1/receipts', 'dev-r', null],
        ['/v1/receipts', 'dev-r', '1:e'],
      ],
    );
  });

  it('sends the access token and extra headers, refreshes once on a 401, and keeps the rotated tokens', async () => {
    const gateway = new FakeGateway();
    const seen: { url: string; headers: Record<string, string>; body?: string }[] = [];
    const enrolment = {
      workspace: 'lab',
      deviceId: 'tab-1',
      site: 'north',
      accessToken: 'access-1',
      accessTokenExpiresAt: '2026-01-01T00:15:00.000Z',
      refreshToken: 'tmr_refresh-1',
      refreshTokenExpiresAt: '2026-02-01T00:00:00.000Z',
    };
    const rotated = { ...enrolment, accessToken: 'access-2', accessTokenExpiresAt: '2026-01-01T00:30:00.000Z', refreshToken: 'tmr_refresh-2' };
    const storage = new MemoryStorage();
    const fetch: ClientOptions['fetch'] = (url, init) => {
      seen.push({ url, headers: init.headers, ...(init.body !== undefined ? { body: init.body } : {}) });
      if (url.endsWith('/v1/auth/refresh'))
        return Promise.resolve({ status: 200, headers: { get: (n: string) => (n === 'content-type' ? 'application/json' : null) }, text: () => Promise.resolve(JSON.stringify(rotated)) });
      if (init.headers.authorization === 'Bearer access-1')
        return Promise.resolve({
          status: 401,
          headers: { get: (n: string) => (n === 'content-type' ? 'application/problem+json' : null) },
          text: () => Promise.resolve('{"type":"x","title":"Unauthorized","status":401,"code":"token-expired"}'),
        });
      return gateway.fetch(url, init);
    };
    const client = await open(gateway, storage, { credentials: enrolment, headers: { 'x-app': 'demo' }, fetch });
    assert.equal(client.workspace, 'lab');
    assert.equal(client.deviceId, 'tab-1');
    await client.upsert('annotation', 'a', { l: 1 });
    await client.sync();
    const refreshes = seen.filter((r) => r.url.endsWith('/v1/auth/refresh'));
    assert.equal(refreshes.length, 1, 'one refresh for the expired token');
    assert.deepEqual(JSON.parse(refreshes[0]!.body!), { refreshToken: 'tmr_refresh-1' });
    const calls = seen.filter((r) => !r.url.endsWith('/v1/auth/refresh'));
    assert.equal(calls[0]!.headers.authorization, 'Bearer access-1');
    assert.ok(calls.slice(1).every((h) => h.headers.authorization === 'Bearer access-2' && h.headers['x-app'] === 'demo'));
    assert.equal(gateway.journal.length, 1, 'the push went through after the refresh');
    await client.close();
    // A restart continues with the rotated tokens, not the enrolment's.
    const again = await open(gateway, storage, { fetch });
    assert.equal(again.deviceId, 'tab-1');
    await again.pull();
    assert.equal(seen.at(-1)!.headers.authorization, 'Bearer access-2');
    await again.close();
  });

  it('the built package loads nothing at run time but Node built-ins, its own files, the merge engine, the dependency-free core of the contracts, idb, tus-js-client and @noble/hashes (and react, from the React entry only)', () => {
    const dist = join(__dirname);
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) {
          if (name !== 'test-support') walk(path);
        } else if (name.endsWith('.js') && !name.endsWith('.spec.js')) files.push(path);
      }
    };
    walk(dist);
    const builtins = new Set(builtinModules);
    for (const file of files) {
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(/require\("([^"]+)"\)/g)) {
        const allowed = spec!.startsWith('.') || spec!.startsWith('node:') || builtins.has(spec!) || RUNTIME_PACKAGES.includes(spec!) || (spec === 'react' && file === join(dist, 'react.js'));
        assert.ok(allowed, `${file} requires ${spec}`);
      }
    }
    assert.ok(files.length > 5);
  });

  it('the browser entry (dist/index.js) loads no Node built-in, directly or through its own files; the Node entry adds FileStorage', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(/require\("([^"]+)"\)/g)) {
        if (RUNTIME_PACKAGES.includes(spec!)) continue;
        assert.ok(spec!.startsWith('.'), `${file} requires ${spec}: the browser entry must load only its own files and ${RUNTIME_PACKAGES.join(', ')}`);
        visit(require.resolve(join(dirname(file), spec!)));
      }
    };
    visit(join(__dirname, 'index.js'));
    assert.ok(seen.size > 5, `walked ${seen.size} files`);
    assert.ok(![...seen].some((file) => file.includes('file-storage') || file.includes('file-blob-cache')), 'FileStorage and FileBlobCache are not reachable from the browser entry');
    const browser = require('./index') as Record<string, unknown>;
    const node = require('./node') as Record<string, unknown>;
    assert.equal(browser.FileStorage, undefined);
    assert.deepEqual(
      Object.keys(node)
        .filter((name) => !(name in browser))
        .sort(),
      ['FileBlobCache', 'FileStorage', 'StorageLockedError'],
    );
  });

  it('the ES module entries re-export every value of the CommonJS entries, the same objects', async () => {
    const root = join(__dirname, '..');
    for (const entry of ['index', 'node', 'react']) {
      const cjs = require(`./${entry}`) as Record<string, unknown>;
      const esm = (await import(pathToFileURL(join(root, 'esm', `${entry}.mjs`)).href)) as Record<string, unknown>;
      assert.deepEqual(
        Object.keys(esm).sort(),
        Object.keys(cjs)
          .filter((name) => name !== '__esModule')
          .sort(),
        `esm/${entry}.mjs names every export of dist/${entry}.js`,
      );
      for (const name of Object.keys(esm)) assert.equal(esm[name], cjs[name], `${entry}: ${name} is the CommonJS object, not a copy`);
    }
  });
});
