// Browser access (CORS) to the device-facing services, against the real gateway and asset-service started with
// CORS_ORIGINS naming one origin. Over HTTP: preflights and actual requests from the allowed origin (push, pull,
// the live stream, a tus POST/PATCH/HEAD and tus discovery) carry the CORS headers and expose what a client reads,
// errors included; a preflight from another origin gets 403 problem+json naming the origin and the variable.
// In headless Chromium, a page served from that origin (another port) pushes with fetch and a bearer token,
// uploads a file with tus-js-client, and runs the SDK's browser bundle; the same page from a refused origin is
// blocked by the browser, and the SDK says CORS is the likely cause instead of "server unavailable". Under read
// scopes, the SDK in the page (IndexedDbStorage) subscribes and backfills, evicts a record that moved out of its
// scopes and what an unsubscription leaves uncovered, and a reload reads the same replica back from IndexedDB.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { findFreePort } from '@tidemark/local-stack';
import { FakeDevice, PARTITIONED_TASK_V1, eventually, push, startSlice, bucketEnv, testBucket, type SliceStack, type TestDevice } from '@tidemark/testing';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];
const EXPOSED = ['Location', 'ETag', 'Content-Range', 'Retry-After', 'Tus-Resumable', 'Upload-Offset', 'Upload-Length', 'Upload-Expires'];
const TUS_REQUEST_HEADERS = [
  'Tus-Resumable',
  'Upload-Length',
  'Upload-Offset',
  'Upload-Metadata',
  'Upload-Defer-Length',
  'Upload-Concat',
  'Upload-Checksum',
  'X-HTTP-Method-Override',
  'Content-Type',
  'Authorization',
];

/** Chromium or a failure that says why: this test never skips for want of a browser. */
async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`the browser test needs Chromium at ${CHROMIUM}, which is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
}

const list = (value: string | null): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);

/** The SDK's browser entry as one script for a page (`window.Tidemark`), bundled the way an app's bundler would. */
async function sdkBundle(): Promise<string> {
  const result = await build({
    stdin: { contents: "export * from '@tidemark/client';", resolveDir: __dirname, loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'Tidemark',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

describe('browser access (CORS) to the gateway and the asset-service', () => {
  let stack: SliceStack;
  let pages: Server;
  let allowed: string; // the page's origin, in CORS_ORIGINS
  let refused: string; // the same page under another name: not in CORS_ORIGINS
  let gateway: string;
  let assets: string;
  let device: TestDevice;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  before(async () => {
    const port = await findFreePort();
    allowed = `http://127.0.0.1:${port}`;
    refused = `http://localhost:${port}`;
    const tus = readFileSync(join(dirname(require.resolve('tus-js-client/package.json')), 'dist', 'tus.min.js'), 'utf8');
    const sdk = await sdkBundle();
    pages = createServer((request, response) => {
      const body =
        request.url === '/tus.min.js'
          ? tus
          : request.url === '/sdk.js'
            ? sdk
            : request.url === '/'
              ? '<!doctype html><meta charset="utf-8"><title>annotator</title><script src="/tus.min.js"></script><script src="/sdk.js"></script><p>annotator</p>'
              : undefined;
      if (body === undefined) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': request.url === '/' ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(body);
    });
    await new Promise<void>((resolve) => pages.listen(port, '127.0.0.1', resolve));

    stack = await startSlice(['journal-service', 'merge-service']);
    const bucket = await testBucket('cors');
    await Promise.all([stack.start('gateway', { CORS_ORIGINS: allowed }), stack.start('asset-service', { CORS_ORIGINS: allowed, ...bucketEnv(bucket) })]);
    gateway = stack.url('gateway');
    assets = stack.url('asset-service');
    device = await stack.device('default', 'browser-tablet');
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await stack?.stop();
    await new Promise((resolve) => pages?.close(resolve));
  });

  /** A page of the allowed origin in a context of its own, with the script errors it throws. */
  const openPage = async (on: Browser) => {
    const context = await on.newContext();
    contexts.push(context);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${allowed}/`);
    return { context, page, pageErrors };
  };

  const preflight = (url: string, origin: string, method: string, headers: string[]) =>
    fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers.join(',').toLowerCase() } });

  const assertAllowedPreflight = async (response: Response, method: string, headers: string[]) => {
    assert.equal(response.status, 204, await response.clone().text());
    assert.equal(response.headers.get('access-control-allow-origin'), allowed);
    assert.ok(list(response.headers.get('access-control-allow-methods')).includes(method.toLowerCase()), `methods: ${response.headers.get('access-control-allow-methods')}`);
    const allowedHeaders = list(response.headers.get('access-control-allow-headers'));
    for (const header of headers) assert.ok(allowedHeaders.includes(header.toLowerCase()), `${header} allowed: ${allowedHeaders.join(', ')}`);
    assert.equal(response.headers.get('access-control-max-age'), '600');
    assert.equal(response.headers.get('access-control-allow-credentials'), null, 'bearer headers, no cookies: credentials mode is not allowed');
    assert.ok(list(response.headers.get('vary')).includes('origin'), `Vary: ${response.headers.get('vary')}`);
  };

  const assertExposed = (response: Response) => {
    assert.equal(response.headers.get('access-control-allow-origin'), allowed);
    const exposed = list(response.headers.get('access-control-expose-headers'));
    for (const header of EXPOSED) assert.ok(exposed.includes(header.toLowerCase()), `${header} exposed: ${exposed.join(', ')}`);
  };

  const assertRefused = async (response: Response, origin: string) => {
    assert.equal(response.status, 403);
    assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(response.headers.get('access-control-allow-origin'), null);
    const body = (await response.json()) as { type: string; title: string; detail: string; origin: string; variable: string; errors: { pointer: string }[] };
    assert.equal(body.type, 'https://tidemark.dev/problems/forbidden');
    assert.equal(body.origin, origin);
    assert.equal(body.variable, 'CORS_ORIGINS');
    assert.match(body.detail, new RegExp(`${origin.replace(/[.:/]/g, '\\$&')}.*CORS_ORIGINS`));
    assert.deepEqual(
      body.errors.map((e) => e.pointer),
      ['header:origin'],
    );
  };

  it('over HTTP: the allowed origin may push, pull, stream and upload with tus, reading every header it needs; another origin is refused with a problem', async () => {
    // gateway: push
    await assertAllowedPreflight(await preflight(`${gateway}/v1/events`, allowed, 'POST', ['Authorization', 'Content-Type']), 'POST', ['Authorization', 'Content-Type']);
    const event = new FakeDevice(device.deviceId).upsert('annotation', `cors-${randomUUID()}`, { label: 'cat' });
    const pushed = await fetch(`${gateway}/v1/events`, {
      method: 'POST',
      headers: { origin: allowed, ...device.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [event] }),
    });
    assert.equal(pushed.status, 200, await pushed.clone().text());
    assertExposed(pushed);
    // errors carry the headers too, so a page can read a 401 and refresh its token
    const unauthorised = await fetch(`${gateway}/v1/changes`, { headers: { origin: allowed } });
    assert.equal(unauthorised.status, 401);
    assertExposed(unauthorised);
    const pulled = await fetch(`${gateway}/v1/changes`, { headers: { origin: allowed, ...device.headers } });
    assert.equal(pulled.status, 200);
    assertExposed(pulled);
    // the live stream is a hijacked answer: it keeps them
    await assertAllowedPreflight(await preflight(`${gateway}/v1/changes/stream`, allowed, 'GET', ['Authorization', 'Last-Event-ID']), 'GET', ['Authorization', 'Last-Event-ID']);
    const abort = new AbortController();
    const stream = await fetch(`${gateway}/v1/changes/stream`, { headers: { origin: allowed, ...device.headers, 'last-event-id': '0' }, signal: abort.signal });
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get('content-type') ?? '', /text\/event-stream/);
    assertExposed(stream);
    abort.abort();
    // gateway: refused origin
    await assertRefused(await preflight(`${gateway}/v1/events`, refused, 'POST', ['Authorization', 'Content-Type']), refused);
    const foreign = await fetch(`${gateway}/v1/changes`, { headers: { origin: refused, ...device.headers } });
    assert.equal(foreign.headers.get('access-control-allow-origin'), null, 'an actual request from a refused origin gets no CORS headers: the browser withholds the answer');

    // asset-service: tus
    const bytes = Buffer.from('a small file uploaded from another origin\n');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const uploads = `${assets}/v1/uploads`;
    await assertAllowedPreflight(await preflight(uploads, allowed, 'POST', TUS_REQUEST_HEADERS), 'POST', TUS_REQUEST_HEADERS);
    const created = await fetch(uploads, {
      method: 'POST',
      headers: {
        origin: allowed,
        ...device.headers,
        'tus-resumable': '1.0.0',
        'upload-length': String(bytes.length),
        'upload-metadata': `sha256 ${Buffer.from(sha256).toString('base64')},contentType ${Buffer.from('text/plain').toString('base64')}`,
      },
    });
    assert.equal(created.status, 201, await created.clone().text());
    assertExposed(created);
    const location = new URL(created.headers.get('location')!, uploads).href;
    assert.ok(created.headers.get('upload-expires'), 'Upload-Expires on creation');
    await assertAllowedPreflight(await preflight(location, allowed, 'PATCH', ['Tus-Resumable', 'Upload-Offset', 'Content-Type', 'Authorization']), 'PATCH', [
      'Tus-Resumable',
      'Upload-Offset',
      'Content-Type',
    ]);
    await assertAllowedPreflight(await preflight(location, allowed, 'HEAD', ['Tus-Resumable', 'Authorization']), 'HEAD', ['Tus-Resumable']);
    const half = Math.floor(bytes.length / 2);
    for (const [offset, chunk] of [
      [0, bytes.subarray(0, half)],
      [half, bytes.subarray(half)],
    ] as const) {
      const patched = await fetch(location, {
        method: 'PATCH',
        headers: { origin: allowed, ...device.headers, 'tus-resumable': '1.0.0', 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
        body: chunk,
      });
      assert.equal(patched.status, 204, await patched.clone().text());
      assertExposed(patched);
      assert.equal(patched.headers.get('upload-offset'), String(offset + chunk.length));
    }
    const head = await fetch(location, { method: 'HEAD', headers: { origin: allowed, ...device.headers, 'tus-resumable': '1.0.0' } });
    assert.equal(head.status, 200);
    assertExposed(head);
    assert.equal(head.headers.get('upload-offset'), String(bytes.length));
    assert.equal(head.headers.get('upload-length'), String(bytes.length));
    // tus discovery (an OPTIONS that is not a preflight) still reaches its route, with the CORS headers
    const discovery = await fetch(uploads, { method: 'OPTIONS', headers: { origin: allowed } });
    assert.equal(discovery.status, 204);
    assert.equal(discovery.headers.get('tus-version'), '1.0.0');
    assertExposed(discovery);
    await assertRefused(await preflight(uploads, refused, 'POST', TUS_REQUEST_HEADERS), refused);
  });

  it('in headless Chromium: a page on another origin pushes with fetch, uploads with tus-js-client and syncs with the SDK; on a refused origin the SDK names CORS', async () => {
    browser = await launchChromium();
    const { headers: _headers, ...credentials } = await stack.device('default', 'browser-page');
    const token = credentials.accessToken;

    const { context, page, pageErrors } = await openPage(browser);

    // fetch with a bearer token
    const event = new FakeDevice(credentials.deviceId).upsert('annotation', `page-${randomUUID()}`, { label: 'from the page' });
    const pushed = await page.evaluate(
      async ({ gateway, token, event }) => {
        const response = await fetch(`${gateway}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ events: [event] }),
        });
        return { status: response.status, body: (await response.json()) as { results: { status: string }[] } };
      },
      { gateway, token, event },
    );
    assert.equal(pushed.status, 200);
    assert.deepEqual(
      pushed.body.results.map((r) => r.status),
      ['accepted'],
    );

    // tus-js-client: PATCHes of 20 bytes, each reading Upload-Offset; the creation reads Location
    const text = `labels for img-42, uploaded by a page on ${allowed}\n`;
    const uploaded = await page.evaluate(
      async ({ endpoint, token, text }) => {
        const bytes = new TextEncoder().encode(text);
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
        const hex = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
        type Upload = { url: string | null; start(): void };
        const tus = (globalThis as unknown as { tus: { Upload: new (file: Blob, options: Record<string, unknown>) => Upload } }).tus;
        const offsets: number[] = [];
        const url = await new Promise<string>((resolve, reject) => {
          const upload: Upload = new tus.Upload(new Blob([bytes], { type: 'text/plain' }), {
            endpoint,
            headers: { authorization: `Bearer ${token}` },
            metadata: { sha256: hex, contentType: 'text/plain', filename: 'labels.txt' },
            chunkSize: 20,
            retryDelays: [],
            onChunkComplete: (_size: number, accepted: number) => void offsets.push(accepted),
            onError: (error: Error) => reject(new Error(String(error))),
            onSuccess: () => resolve(upload.url!),
          });
          upload.start();
        });
        return { url, hex, offsets };
      },
      { endpoint: `${assets}/v1/uploads`, token, text },
    );
    assert.equal(uploaded.hex, createHash('sha256').update(text).digest('hex'));
    const size = Buffer.byteLength(text);
    assert.deepEqual(
      uploaded.offsets,
      Array.from({ length: Math.ceil(size / 20) }, (_, i) => Math.min(size, (i + 1) * 20)),
      'each PATCH answered an Upload-Offset the page could read',
    );
    assert.ok(uploaded.url.startsWith(`${assets}/v1/uploads/`), uploaded.url);
    await eventually(
      async () => {
        const download = await fetch(`${assets}/v1/assets/${uploaded.hex}`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(download.status, 200);
        assert.equal(await download.text(), text);
      },
      { timeoutMs: 30_000, message: 'the uploaded asset downloads' },
    );

    // the SDK's browser bundle: push, then pull its own change back once merged
    const synced = await page.evaluate(
      async ({ gateway, credentials }) => {
        type Client = {
          upsert(t: string, id: string, v: Record<string, unknown>): Promise<unknown>;
          push(): Promise<{ accepted: number }>;
          pull(): Promise<{ changes: number }>;
          on(e: 'change', l: (c: { entity: { id: string }; state: Record<string, unknown> }) => void): () => void;
          close(): Promise<void>;
        };
        const sdk = (globalThis as unknown as { Tidemark: { TidemarkClient: { open(o: Record<string, unknown>): Promise<Client> }; MemoryStorage: new () => unknown } }).Tidemark;
        const client = await sdk.TidemarkClient.open({ baseUrl: gateway, storage: new sdk.MemoryStorage(), credentials, retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 200 } });
        const seen: Record<string, unknown>[] = [];
        client.on('change', (change) => {
          if (change.entity.id === 'sdk-in-the-browser') seen.push(change.state);
        });
        await client.upsert('annotation', 'sdk-in-the-browser', { label: 'typed in the page' });
        const push = await client.push();
        const deadline = Date.now() + 30_000;
        while (seen.length === 0 && Date.now() < deadline) {
          await client.pull();
          if (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
        }
        await client.close();
        return { accepted: push.accepted, seen };
      },
      { gateway, credentials },
    );
    assert.equal(synced.accepted, 1);
    assert.equal(synced.seen[0]?.label, 'typed in the page', JSON.stringify(synced));
    assert.deepEqual(pageErrors, []);

    // the same page on a refused origin: the browser blocks it, and the SDK says why it might be
    const foreign = await context.newPage();
    const consoleErrors: string[] = [];
    foreign.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    await foreign.goto(`${refused}/`);
    const blocked = await foreign.evaluate(
      async ({ gateway, token, credentials }) => {
        const raw = await fetch(`${gateway}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"events":[]}' }).then(
          (response) => `answered ${response.status}`,
          (error: Error) => `${error.name}: ${error.message}`,
        );
        const sdk = (
          globalThis as unknown as {
            Tidemark: {
              TidemarkClient: { open(o: Record<string, unknown>): Promise<{ upsert(t: string, id: string, v: Record<string, unknown>): Promise<unknown>; push(): Promise<unknown> }> };
              MemoryStorage: new () => unknown;
            };
          }
        ).Tidemark;
        const client = await sdk.TidemarkClient.open({ baseUrl: gateway, storage: new sdk.MemoryStorage(), credentials, retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 } });
        await client.upsert('annotation', 'blocked', { label: 'x' });
        const error = await client.push().then(
          () => undefined,
          (e: Error & { origin?: string }) => ({ name: e.name, message: e.message, origin: e.origin }),
        );
        return { raw, error, online: (globalThis as unknown as { navigator: { onLine: boolean } }).navigator.onLine };
      },
      { gateway, token, credentials },
    );
    assert.match(blocked.raw, /^TypeError: /, 'the browser refused to hand the answer to the page');
    assert.equal(blocked.online, true);
    assert.equal(blocked.error?.name, 'ServerUnreachableError', JSON.stringify(blocked.error));
    assert.equal(blocked.error?.origin, refused);
    assert.match(blocked.error.message, /CORS/);
    assert.match(blocked.error.message, /CORS_ORIGINS/);
    assert.ok(
      consoleErrors.some((message) => /CORS policy/.test(message)),
      `Chromium blamed CORS: ${consoleErrors.join(' | ')}`,
    );
  });

  it('in headless Chromium, under read scopes: the SDK subscribes and backfills, evicts what moved out or was unsubscribed, and a reload reads the same replica from IndexedDB', async () => {
    browser ??= await launchChromium();
    const admin = async (path: string, method: string, body: unknown) => {
      const answer = await fetch(path.startsWith('http') ? path : `${gateway}${path}`, {
        method,
        headers: { ...stack.operatorHeaders, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await answer.text();
      assert.ok(answer.ok, `${method} ${path}: ${answer.status} ${text}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    await admin('/v1/admin/workspaces', 'POST', { workspace: 'scoped' });
    await admin(`${stack.url('journal-service')}/v1/schemas/task/1`, 'PUT', PARTITIONED_TASK_V1);
    const rules = {
      version: 1,
      scopes: { project: { types: ['task'], partition: { values: { claim: 'projects' } } }, catalog: { types: ['prompt'] } },
      roles: { annotator: { write: { task: ['label'] }, read: ['project', 'catalog'] }, lead: { write: '*' } },
    };
    await admin('/v1/admin/workspaces/scoped/access-rules', 'PUT', { rules, reason: 'projects' });
    const leadToken = (await admin('/v1/admin/workspaces/scoped/devices', 'POST', { deviceId: 'lead', role: 'lead', reason: 'test' })).accessToken as string;
    const credentials = await admin('/v1/admin/workspaces/scoped/devices', 'POST', { deviceId: 'page-annotator', role: 'annotator', claims: { projects: ['p1'] }, reason: 'test' });
    const lead = new FakeDevice('lead');
    const write = async (events: ReturnType<FakeDevice['upsert']>[]) => assert.equal((await push(gateway, events, { authorization: `Bearer ${leadToken}` })).status, 200);
    await write([
      lead.upsert('task', 't1', { project: 'p1', label: 'cat' }),
      lead.upsert('task', 't2', { project: 'p1', label: 'dog' }),
      lead.upsert('task', 't3', { project: 'p2', label: 'owl' }),
      lead.upsert('prompt', 'pr1', { title: 'describe' }),
    ]);

    const { page, pageErrors } = await openPage(browser);
    type Held = { task: string[]; prompt: string[] };
    /** Opens the SDK in the page on IndexedDB (credentials only the first time), runs a step, and reports what the replica holds. */
    const inPage = (step: 'subscribe' | 'pull' | 'unsubscribe' | 'read') =>
      page.evaluate(
        async ({ gateway, credentials, step }) => {
          type Client = {
            addScopes(s: unknown[]): Promise<unknown>;
            removeScopes(s: unknown[]): Promise<{ evicted: string[] }>;
            pull(): Promise<unknown>;
            query(q: { type: string }): { id: string }[];
            close(): Promise<void>;
          };
          const sdk = (globalThis as unknown as { Tidemark: { TidemarkClient: { open(o: Record<string, unknown>): Promise<Client> }; IndexedDbStorage: { open(name: string): Promise<unknown> } } })
            .Tidemark;
          const storage = await sdk.IndexedDbStorage.open('scoped-annotator');
          const client = await sdk.TidemarkClient.open({ baseUrl: gateway, storage, ...(step === 'subscribe' ? { credentials } : {}), retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 200 } });
          let evicted: string[] = [];
          if (step === 'subscribe') await client.addScopes([{ scope: 'project', value: 'p1' }, { scope: 'catalog' }]);
          if (step === 'pull') await client.pull();
          if (step === 'unsubscribe') evicted = (await client.removeScopes([{ scope: 'catalog' }])).evicted;
          const held = {
            task: client
              .query({ type: 'task' })
              .map((e) => e.id)
              .sort(),
            prompt: client
              .query({ type: 'prompt' })
              .map((e) => e.id)
              .sort(),
          };
          await client.close();
          return { held, evicted };
        },
        { gateway, credentials, step },
      );
    const projected = async (count: number) =>
      eventually(async () => {
        const all = (await (await fetch(`${gateway}/v1/changes?limit=100`, { headers: { authorization: `Bearer ${leadToken}` } })).json()) as { changes: unknown[] };
        assert.equal(all.changes.length, count);
      });
    await projected(4);
    const subscribed = await inPage('subscribe');
    assert.deepEqual(subscribed.held, { task: ['t1', 't2'], prompt: ['pr1'] } satisfies Held, 'backfilled: p1 and the catalog, not p2');
    await write([lead.upsert('task', 't2', { project: 'p2' }, 1)]);
    await projected(5);
    assert.deepEqual((await inPage('pull')).held, { task: ['t1'], prompt: ['pr1'] } satisfies Held, 't2 moved to p2: evicted');
    const unsubscribed = await inPage('unsubscribe');
    assert.deepEqual([unsubscribed.evicted, unsubscribed.held], [['prompt/pr1'], { task: ['t1'], prompt: [] }]);
    await page.reload();
    assert.deepEqual((await inPage('read')).held, { task: ['t1'], prompt: [] } satisfies Held, 'after a reload, IndexedDB holds the same replica');
    assert.deepEqual(pageErrors, []);
  });
});
