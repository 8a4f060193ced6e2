// Several tabs of one app sharing one device, in headless Chromium against the real gateway, journal-service and
// merge-service. Two pages of one origin (served from another port than the gateway, which allows it in
// CORS_ORIGINS) open the SDK's browser bundle with one IndexedDbStorage and `tabs: 'auto'`, both start the sync loop
// and both write at once. Exactly one tab talks to the gateway; closing it hands syncing to the other, which sends
// what was left. The server ends with every event exactly once: sequence numbers 1…N contiguous, no gap, nothing
// rejected, and each receipt's event id one the tabs were handed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { findFreePort } from '@tidemark/local-stack';
import { eventually, startSlice, type SliceStack } from '@tidemark/testing';

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

type Written = { deviceSeq: number; eventId: string };
type PageClient = {
  upsert(t: string, id: string, v: Record<string, unknown>): Promise<Written>;
  pending(): Written[];
  quarantined(): Promise<unknown[]>;
  start(o: Record<string, unknown>): void;
  pull(): Promise<unknown>;
  on(e: 'error', l: (error: Error) => void): () => void;
  query(q: { type: string; orderBy?: { field: string }[] }): { id: string; values: Record<string, unknown>; status: string }[];
};
type PageScope = {
  Tidemark: { TidemarkClient: { open(o: Record<string, unknown>): Promise<PageClient> }; IndexedDbStorage: { open(name: string): Promise<unknown> } };
  client: PageClient;
  errors: string[];
};

describe('browser tabs sharing one device (IndexedDbStorage, tabs: auto)', () => {
  let stack: SliceStack;
  let pages: Server;
  let origin: string;
  let gateway: string;
  let browser: Browser | undefined;

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`the browser test needs Chromium at ${CHROMIUM}, which is missing: install Debian's chromium (apt-get install -y chromium)`);
    const port = await findFreePort();
    origin = `http://127.0.0.1:${port}`;
    const sdk = (
      await build({
        stdin: { contents: "export * from '@tidemark/client';", resolveDir: __dirname, loader: 'js' },
        bundle: true,
        platform: 'browser',
        format: 'iife',
        globalName: 'Tidemark',
        target: 'es2022',
        write: false,
        logLevel: 'silent',
      })
    ).outputFiles[0]!.text;
    pages = createServer((request, response) => {
      const body = request.url === '/sdk.js' ? sdk : request.url === '/' ? '<!doctype html><meta charset="utf-8"><title>annotator</title><script src="/sdk.js"></script>' : undefined;
      if (body === undefined) response.writeHead(404).end();
      else response.writeHead(200, { 'content-type': request.url === '/' ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(body);
    });
    await new Promise<void>((resolve) => pages.listen(port, '127.0.0.1', resolve));
    stack = await startSlice(['journal-service', 'merge-service']);
    await stack.start('gateway', { CORS_ORIGINS: origin });
    gateway = stack.url('gateway');
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
    await new Promise((resolve) => pages?.close(resolve));
  });

  it('both tabs write at once, one syncs; closing it hands syncing to the other; the server has every event once, sequences contiguous', async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
    const context = await browser.newContext();
    const { headers, ...credentials } = await stack.device('default', 'two-tabs');
    const tabs: Page[] = [];
    /** Requests each tab sent to the gateway (push, pull, refresh), by tab index. */
    const requests: string[][] = [[], []];
    const pageErrors: string[] = [];
    for (let t = 0; t < 2; t++) {
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      page.on('request', (request) => {
        if (request.url().startsWith(gateway) && request.method() !== 'OPTIONS') requests[t]!.push(`${request.method()} ${new URL(request.url()).pathname}`);
      });
      await page.goto(`${origin}/`);
      await page.evaluate(
        async ({ gateway, credentials }) => {
          const w = globalThis as unknown as PageScope;
          w.errors = [];
          w.client = await w.Tidemark.TidemarkClient.open({
            baseUrl: gateway,
            storage: await w.Tidemark.IndexedDbStorage.open('annotator'),
            credentials,
            tabs: 'auto',
            retry: { initialDelayMs: 50, maxDelayMs: 500 },
          });
          w.client.on('error', (error) => w.errors.push(String(error)));
          // a minute between rounds: what gets pushed sooner was woken by an enqueue, in this tab or (news) in the other
          w.client.start({ intervalMs: 60_000 });
        },
        { gateway, credentials },
      );
      tabs.push(page);
    }

    /** Each tab writes `count` edits, two in flight at a time, both tabs at once. */
    const writeFromBoth = (round: string, count: number) =>
      Promise.all(
        tabs.map((tab, t) =>
          tab.isClosed()
            ? Promise.resolve([] as Written[])
            : tab.evaluate(
                async ({ round, t, count }) => {
                  const written: { deviceSeq: number; eventId: string }[] = [];
                  await Promise.all(
                    [0, 1].map(async (lane) => {
                      for (let i = lane; i < count; i += 2) {
                        const event = await (globalThis as unknown as PageScope).client.upsert('annotation', `${round}-tab${t}-${i}`, { label: `tab ${t} edit ${i}` });
                        written.push({ deviceSeq: event.deviceSeq, eventId: event.eventId });
                      }
                    }),
                  );
                  return written;
                },
                { round, t, count },
              ),
        ),
      ).then((lists) => lists.flat());
    const drained = (tab: Page) =>
      eventually(async () => assert.deepEqual(await tab.evaluate(() => (globalThis as unknown as PageScope).client.pending().length), 0), { timeoutMs: 30_000, message: 'the outbox drains' });

    // 1. both tabs write; one of them syncs everything, the other sends nothing
    const written = await writeFromBoth('first', 30);
    for (const tab of tabs) await drained(tab);
    const syncing = requests.flatMap((list, t) => (list.some((r) => r.startsWith('POST /v1/events')) ? [t] : []));
    assert.equal(syncing.length, 1, `exactly one tab pushed: ${JSON.stringify(requests.map((list) => list.length))}`);
    const leader = syncing[0]!;
    const follower = 1 - leader;
    assert.equal(requests[follower]!.length, 0, `the other tab sent no request at all: ${requests[follower]!.join(', ')}`);
    assert.ok(
      requests[leader]!.some((r) => r.startsWith('GET /v1/changes')),
      'the leader pulls too',
    );
    // the tab that does not sync reads what the leader pulled: every edit of both tabs, applied by the server
    await eventually(
      async () => {
        await tabs[leader]!.evaluate(() => (globalThis as unknown as PageScope).client.pull());
        const seen = await tabs[follower]!.evaluate(() =>
          (globalThis as unknown as PageScope).client.query({ type: 'annotation', orderBy: [{ field: '$id' }] }).map((e) => `${e.id}=${String(e.values.label)}:${e.status}`),
        );
        assert.equal(seen.length, 60);
        assert.deepEqual(
          seen.filter((line) => !line.endsWith(':applied')),
          [],
          'every entity applied, as the server merged it',
        );
        assert.ok(seen.includes('first-tab0-7=tab 0 edit 7:applied') && seen.includes('first-tab1-29=tab 1 edit 29:applied'), seen.slice(0, 3).join(', '));
      },
      { timeoutMs: 30_000, message: "the other tab's replica shows the leader's pulls" },
    );

    // 2. both write again and the leader closes at once, with events still pending: the other tab takes over
    written.push(...(await writeFromBoth('second', 20)));
    const before = requests[follower]!.length;
    const pendingAtClose = await tabs[follower]!.evaluate(() => (globalThis as unknown as PageScope).client.pending().length);
    await tabs[leader]!.close();
    written.push(...(await writeFromBoth('third', 10)));
    await drained(tabs[follower]!);
    assert.ok(
      requests[follower]!.slice(before).some((r) => r.startsWith('POST /v1/events')),
      `the remaining tab took over pushing: ${requests[follower]!.join(', ')}`,
    );
    assert.deepEqual(await tabs[follower]!.evaluate(() => (globalThis as unknown as PageScope).client.quarantined()), [], 'nothing was refused');

    // 3. the server: every event exactly once, sequence numbers 1…N without a gap
    const total = 30 * 2 + 20 * 2 + 10;
    assert.equal(written.length, total);
    assert.deepEqual(
      written.map((w) => w.deviceSeq).sort((a, b) => a - b),
      Array.from({ length: total }, (_, i) => i + 1),
      'the tabs handed out each sequence number once',
    );
    const ids = new Map(written.map((w) => [w.deviceSeq, w.eventId]));
    type Receipt = { eventId: string; deviceSeq: number; status: string };
    await eventually(
      async () => {
        const answer = await fetch(`${gateway}/v1/receipts?deviceId=${credentials.deviceId}&limit=500`, { headers });
        assert.equal(answer.status, 200);
        const receipts = ((await answer.json()) as { receipts: Receipt[] }).receipts;
        assert.deepEqual(
          receipts.map((r) => r.deviceSeq),
          Array.from({ length: total }, (_, i) => i + 1),
          'one receipt per sequence number, 1…N',
        );
        for (const r of receipts) {
          assert.equal(r.eventId, ids.get(r.deviceSeq), `seq ${r.deviceSeq} is the event the tab was handed`);
          assert.equal(r.status, 'applied', `seq ${r.deviceSeq}: ${r.status}`);
        }
      },
      { timeoutMs: 30_000, message: 'every event applied once' },
    );
    const sequence = (await (await fetch(`${gateway}/v1/sequence`, { headers })).json()) as { contiguousSeq: number; maxAppliedSeq: number; gaps: unknown[] };
    assert.deepEqual({ contiguous: sequence.contiguousSeq, max: sequence.maxAppliedSeq, gaps: sequence.gaps }, { contiguous: total, max: total, gaps: [] });
    assert.deepEqual(await tabs[follower]!.evaluate(() => (globalThis as unknown as PageScope).errors.filter((e) => !/stopped|closed|abort/i.test(e))), []);
    assert.deepEqual(pageErrors, []);
    console.log(
      `tabs: ${requests[leader]!.length} requests from the first leader, ${requests[follower]!.length} from its successor; ${pendingAtClose} event(s) pending (as the other tab saw them) when the leader closed`,
    );
    await context.close();
  });
});
