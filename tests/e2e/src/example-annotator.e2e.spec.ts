// The annotator example (examples/annotator: React on the packed @tidemark/client, built by its own build script and
// type-checked against the packed SDK's declarations) in headless Chromium, against the real gateway,
// journal-service, merge-service and asset-service (S3), the page served by the example's own server on another
// origin than the gateway. Driven through its UI, as a person would:
//
// 1. two browser contexts are two devices (each its own IndexedDB); one adds an image with a label, the other sees
//    both the label and the picture (downloaded through its asset cache, byte-equal);
// 2. one device goes offline and relabels it while the other relabels it too; the offline one reloads with its edit
//    still in the outbox (the page reloads, the gateway stays out of reach): the edit is still shown, pending;
// 3. back online, the server opens a review conflict on the label; both pages show it; it is resolved from the page;
//    both converge with the server;
// 4. an upload is cut mid-way (the network refuses its PATCHes), the page is reloaded, and the upload resumes from
//    the server's offset (not from 0) and is verified; the other device shows the picture.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import { findFreePort } from '@tidemark/local-stack';
import { bucketEnv, eventually, startSlice, testBucket, type SliceStack } from '@tidemark/testing';

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
const EXAMPLE = join(__dirname, '..', '..', '..', 'examples', 'annotator');
/** Bytes per tus PATCH the example's server hands the page: small, so an upload of a few MB takes many PATCHes. */
const CHUNK = 256 * 1024;

type Built = { version: string; bytes: number; sdkInputs: number; ms: number };
type ExampleServer = { url: string; close(): Promise<void> };
type ExampleModules = {
  build: { buildExample(o: { typecheck: boolean }): Promise<Built> };
  server: { startExampleServer(o: Record<string, unknown>): Promise<ExampleServer> };
};

describe('the annotator example in Chromium: two devices, offline and reload, a conflict resolved from the page, an upload cut and resumed', () => {
  let stack: SliceStack;
  let server: ExampleServer;
  let browser: Browser | undefined;
  let built: Built;
  const pageErrors: string[] = [];

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`this test needs Chromium at ${CHROMIUM}, which is missing: install Debian's chromium (apt-get install -y chromium)`);
    const modules: ExampleModules = {
      build: (await import(pathToFileURL(join(EXAMPLE, 'build.mjs')).href)) as ExampleModules['build'],
      server: (await import(pathToFileURL(join(EXAMPLE, 'server.mjs')).href)) as ExampleModules['server'],
    };
    built = await modules.build.buildExample({ typecheck: true });
    const port = await findFreePort();
    const origin = `http://127.0.0.1:${port}`;
    stack = await startSlice(['journal-service', 'merge-service']);
    const bucket = await testBucket('annotator');
    await Promise.all([stack.start('gateway', { CORS_ORIGINS: origin }), stack.start('asset-service', { CORS_ORIGINS: origin, ...bucketEnv(bucket) })]);
    server = await modules.server.startExampleServer({
      gateway: stack.url('gateway'),
      assets: stack.url('asset-service'),
      adminToken: await stack.operatorToken('annotator-example', ['admin']),
      port,
      chunkSize: CHUNK,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await stack?.stop();
  });

  const open = async (context: BrowserContext): Promise<Page> => {
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(server.url);
    return page;
  };
  const text = async (page: Page, testId: string) => ((await page.getByTestId(testId).first().textContent()) ?? '').trim();
  const row = (page: Page, id: string) => page.locator(`li.image[data-id="${id}"]`);
  /** What a page shows of one image: label, status, open conflicts, the picture's state. */
  const shown = async (page: Page, id: string) => {
    const r = row(page, id);
    if ((await r.count()) === 0) return undefined;
    return {
      label: ((await r.getByTestId('label').textContent()) ?? '').trim(),
      status: ((await r.getByTestId('status').textContent()) ?? '').trim(),
      conflicts: await r.getByTestId('conflict').count(),
      picture: (await r.locator('img').count()) > 0,
    };
  };
  const until = <T>(check: () => Promise<T>, message: string, timeoutMs = 30_000) => eventually(check, { timeoutMs, intervalMs: 100, message });
  /** The sha256 of the picture a page shows for an image (read back from its blob: URL). */
  const pictureSha = (page: Page, id: string) =>
    row(page, id)
      .locator('img')
      .evaluate(async (img) => {
        const bytes = await (await fetch((img as unknown as { src: string }).src)).arrayBuffer();
        return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
      });
  const addImage = async (page: Page, label: string, bytes: Buffer) => {
    const before = new Set(await page.locator('li.image').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id'))));
    await page.getByLabel('image file').setInputFiles({ name: `${label}.png`, mimeType: 'image/png', buffer: bytes });
    await page.getByLabel('new label').fill(label);
    await page.getByRole('button', { name: 'Add image' }).click();
    return until(async () => {
      const ids = await page.locator('li.image').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
      const added = ids.filter((id): id is string => id !== null && !before.has(id));
      assert.equal(added.length, 1, `one new row: ${ids.join(', ')}`);
      return added[0]!;
    }, `the page lists the image ${label}`);
  };
  const relabel = async (page: Page, id: string, label: string) => {
    await row(page, id).getByLabel('label').fill(label);
    await row(page, id).getByRole('button', { name: 'Save' }).click();
  };

  it('converges two devices through offline edits, a reload, a conflict resolved from the page and an upload resumed after a reload', async () => {
    console.log(`example built against the packed @tidemark/client ${built.version}: app.js ${built.bytes} bytes, ${built.sdkInputs} SDK modules, ${built.ms} ms (type-checked)`);
    const contextA = await browser!.newContext();
    const contextB = await browser!.newContext();
    let a = await open(contextA);
    const b = await open(contextB);
    const deviceA = await until(async () => {
      const device = await text(a, 'device');
      assert.match(device, /^device web-[0-9a-f]{8}$/);
      return device;
    }, 'page A enrols its device');
    const deviceB = await until(async () => {
      const device = await text(b, 'device');
      assert.match(device, /^device web-[0-9a-f]{8}$/);
      return device;
    }, 'page B enrols its device');
    assert.notEqual(deviceA, deviceB, 'two contexts, two devices');

    // 1. A adds an image; B sees its label and its picture
    const cat = randomBytes(600 * 1024 + 11);
    const catId = await addImage(a, 'cat', cat);
    await until(async () => assert.deepEqual(await shown(a, catId), { label: 'cat', status: 'applied', conflicts: 0, picture: true }), 'A: the image is applied, its picture shown from the cache');
    await until(async () => assert.deepEqual(await shown(b, catId), { label: 'cat', status: 'applied', conflicts: 0, picture: true }), 'B: the image arrives with its picture');
    assert.equal(await pictureSha(b, catId), createHash('sha256').update(cat).digest('hex'), 'B shows the bytes A attached');

    // 2. A goes offline and relabels; B relabels too (online)
    await contextA.setOffline(true);
    await until(async () => assert.equal(await text(a, 'link'), 'offline'), 'A shows it is offline');
    await relabel(a, catId, 'tabby');
    await until(async () => assert.deepEqual(await shown(a, catId), { label: 'tabby', status: 'pending', conflicts: 0, picture: true }), 'A reads its own write at once, pending');
    assert.equal(await text(a, 'outbox'), '1 to sync');
    await relabel(b, catId, 'siamese');
    await until(async () => assert.deepEqual(await shown(b, catId), { label: 'siamese', status: 'applied', conflicts: 0, picture: true }), 'B: its relabel is applied');

    // A reloads with its edit in the outbox: the page loads, the gateway and the asset-service stay out of reach
    const sync = (url: URL) => url.origin === new URL(stack.url('gateway')).origin || url.origin === new URL(stack.url('asset-service')).origin;
    await contextA.route(sync, (route) => route.abort('internetdisconnected'));
    await contextA.setOffline(false);
    await a.reload();
    await until(
      async () => assert.deepEqual(await shown(a, catId), { label: 'tabby', status: 'pending', conflicts: 0, picture: true }),
      'after the reload A still shows its edit, pending, and the picture from its IndexedDB cache',
    );
    assert.equal(await text(a, 'device'), deviceA, 'the same device after the reload');
    assert.equal(await text(a, 'outbox'), '1 to sync');
    await until(async () => assert.equal(await text(a, 'link'), 'offline'), 'A cannot reach the gateway');

    // 3. back online: the label conflict shows on both pages, and is resolved from A's
    await contextA.unroute(sync);
    for (const [page, name] of [
      [a, 'A'],
      [b, 'B'],
    ] as const) {
      await until(
        async () => assert.deepEqual(await shown(page, catId), { label: 'siamese', status: 'conflicted', conflicts: 1, picture: true }),
        `${name} shows the conflict (the server keeps the label until someone decides)`,
        45_000,
      );
    }
    assert.equal(await text(a, 'outbox'), 'all synced');
    await until(async () => assert.equal(await a.getByTestId('notice').count(), 1), "A is told the server settled its edit otherwise than it showed (the SDK's diverged event)");
    assert.match(await text(a, 'notice'), new RegExp(`^${catId}: the server settled label otherwise`));
    await row(a, catId)
      .getByRole('button', { name: /Keep “tabby”/ })
      .click();
    for (const [page, name] of [
      [a, 'A'],
      [b, 'B'],
    ] as const) {
      await until(async () => assert.deepEqual(await shown(page, catId), { label: 'tabby', status: 'applied', conflicts: 0, picture: true }), `${name} converges on the resolution`);
    }

    // 4. an upload cut mid-way, the page reloaded, the upload resumed from the server's offset
    const assetsOrigin = new URL(stack.url('asset-service')).origin;
    /** PATCHes that reached the asset-service and were answered, before and after the reload. */
    const answered: { before: { offset: number; bytes: number }[]; after: { offset: number; bytes: number }[] } = { before: [], after: [] };
    let phase: 'before' | 'after' = 'before';
    a.on('requestfinished', (request: Request) => {
      if (request.method() === 'PATCH' && request.url().startsWith(assetsOrigin))
        answered[phase].push({ offset: Number(request.headers()['upload-offset']), bytes: request.postDataBuffer()?.length ?? 0 });
    });
    // the network lets two PATCHes through, then refuses every other one until it is lifted (after the reload)
    let allowed = 2;
    const cutPatches = (url: URL) => url.origin === assetsOrigin && url.pathname.startsWith('/v1/uploads/');
    await contextA.route(cutPatches, (route) => (route.request().method() === 'PATCH' && allowed-- <= 0 ? route.abort('connectionreset') : route.continue()));
    const dog = randomBytes(3 * 1024 * 1024 + 5);
    const dogId = await addImage(a, 'dog', dog);
    await until(async () => assert.match((await row(a, dogId).getByTestId('thumb').textContent()) ?? '', /waiting for upload (1[0-9]|[2-9][0-9])%/), 'A shows the upload stuck part-way', 45_000);
    phase = 'after';
    await a.reload();
    await until(async () => {
      assert.equal((await shown(a, dogId))?.label, 'dog');
      assert.match((await row(a, dogId).getByTestId('thumb').getAttribute('data-upload')) ?? '', /^(waiting|uploading)$/);
    }, 'after the reload A lists the image, its upload known and not finished (the network still refuses PATCHes)');
    await contextA.unroute(cutPatches);
    await until(async () => assert.deepEqual(await shown(a, dogId), { label: 'dog', status: 'applied', conflicts: 0, picture: true }), 'A: the image is applied with its picture after the reload');
    await until(async () => assert.equal(await row(a, dogId).getByTestId('thumb').getAttribute('data-upload'), 'verified'), 'A: the upload is verified', 60_000);
    assert.deepEqual(
      answered.before.map((p) => p.offset),
      [0, CHUNK],
      'before the reload the server took two chunks',
    );
    assert.ok(answered.after.length > 0, 'PATCHes after the reload');
    assert.equal(answered.after[0]!.offset, 2 * CHUNK, `the upload resumed where the server stood (two chunks in), not from 0: ${JSON.stringify(answered.after.slice(0, 3))}`);
    assert.equal(
      answered.after.reduce((sum, p) => sum + p.bytes, 0),
      dog.length - 2 * CHUNK,
      'only the missing bytes were sent after the reload',
    );
    const sha = createHash('sha256').update(dog).digest('hex');
    const head = await fetch(`${stack.url('asset-service')}/v1/assets/${sha}`, { method: 'HEAD', headers: await stack.headersFor('annotator-viewer') });
    assert.equal(head.status, 200, 'the asset-service holds the bytes, verified');
    await until(async () => assert.deepEqual(await shown(b, dogId), { label: 'dog', status: 'applied', conflicts: 0, picture: true }), 'B shows the new image with its picture', 45_000);
    assert.equal(await pictureSha(b, dogId), sha);

    // both pages and the server agree
    const list = async (page: Page) =>
      page
        .locator('li.image')
        .evaluateAll((rows) => rows.map((r) => `${r.getAttribute('data-id')}=${r.querySelector('[data-testid=label]')?.textContent}:${r.querySelector('[data-testid=status]')?.textContent}`));
    const expected = [`${catId}=tabby:applied`, `${dogId}=dog:applied`].sort();
    assert.deepEqual(await list(a), expected);
    assert.deepEqual(await list(b), expected);
    for (const page of [a, b]) assert.equal(await text(page, 'outbox'), 'all synced');
    type Change = { entity: { type: string; id: string }; state: Record<string, unknown> };
    const changes = ((await stack.get('/v1/changes?after=0&limit=500', 'annotator-viewer')) as { changes: Change[] }).changes;
    const latest = new Map(changes.map((c) => [c.entity.id, c.state.label]));
    assert.deepEqual(Object.fromEntries(latest), { [catId]: 'tabby', [dogId]: 'dog' }, 'the server holds what both pages show');
    const conflicts = (await stack.get('/v1/conflicts?status=open', 'annotator-viewer')) as { conflicts: unknown[] };
    assert.deepEqual(conflicts.conflicts, [], 'no conflict left open');
    assert.deepEqual(pageErrors, []);
    a = undefined as unknown as Page;
    await contextA.close();
    await contextB.close();
  });
});
