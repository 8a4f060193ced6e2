// IndexedDbStorage in real headless Chromium. The storage contract (contract.ts) and IndexedDbStorage are bundled
// with esbuild, loaded into a page served over HTTP (IndexedDB needs an origin), and every contract case runs there
// and is reported back as a node:test test of the same name, so a failing case fails a named test. Then what only a
// browser can show: resolved puts survive a reload of the page and a tab closed without closing the database, and
// tabs of one origin sharing one device (`tabs: 'auto'`) append to the outbox concurrently without ever sharing a
// sequence number, while exactly one of them leads and another takes over when it closes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { eventually } from '@tidemark/testing';
import { STORAGE_CONTRACT } from './contract';
import { BLOB_CACHE_CONTRACT } from '../assets/blob-cache-contract';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/** The contract, IndexedDbStorage, the client and the tab coordinator as one page script (`window.T`). */
async function pageBundle(): Promise<string> {
  const contents = `
import { STORAGE_CONTRACT } from './contract';
import { BLOB_CACHE_CONTRACT } from '../assets/blob-cache-contract';
import { IndexedDbBlobCache } from '../assets/indexeddb-blob-cache';
import { IndexedDbStorage } from './indexeddb-storage';
import { TabCoordinator } from '../tabs/tab-coordinator';
import { TidemarkClient } from '../client';
const driver = { create: () => IndexedDbStorage.open('contract-' + crypto.randomUUID()), reopen: (previous) => IndexedDbStorage.open(previous.name) };
async function runCase(name) {
  const found = STORAGE_CONTRACT.find((c) => c.name === name);
  if (!found) return { ok: false, error: 'no contract case named ' + name };
  try { await found.run(driver); return { ok: true }; } catch (error) { return { ok: false, error: String(error && error.stack || error) }; }
}
const blobDriver = { create: () => IndexedDbBlobCache.open('contract-' + crypto.randomUUID()), reopen: (previous) => IndexedDbBlobCache.open(previous.name) };
async function runBlobCase(name) {
  const found = BLOB_CACHE_CONTRACT.find((c) => c.name === name);
  if (!found) return { ok: false, error: 'no blob cache contract case named ' + name };
  try { await found.run(blobDriver); return { ok: true }; } catch (error) { return { ok: false, error: String(error && error.stack || error) }; }
}
window.T = { runCase, runBlobCase, IndexedDbStorage, TabCoordinator, TidemarkClient };`;
  const result = await build({ stdin: { contents, resolveDir: __dirname, loader: 'js' }, bundle: true, platform: 'browser', format: 'iife', target: 'es2022', write: false, logLevel: 'silent' });
  return result.outputFiles[0]!.text;
}

/** The pid of the Chromium browser process running on `profile` (found in /proc by its --user-data-dir). */
function browserPid(profile: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    if (args.includes(`--user-data-dir=${profile}`) && !args.some((arg) => arg.startsWith('--type='))) return Number(entry);
  }
  throw new Error(`no Chromium browser process with --user-data-dir=${profile}`);
}

describe('IndexedDbStorage in headless Chromium', () => {
  let server: Server;
  let origin: string;
  let browser: Browser;
  let context: BrowserContext;
  const pageErrors: string[] = [];

  const openPage = async (): Promise<Page> => {
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${origin}/`);
    return page;
  };

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`this test needs Chromium at ${CHROMIUM}, which is missing: install Debian's chromium (apt-get install -y chromium)`);
    const script = await pageBundle();
    server = createServer((request, response) => {
      const body = request.url === '/page.js' ? script : request.url === '/' ? '<!doctype html><meta charset="utf-8"><title>storage</title><script src="/page.js"></script>' : undefined;
      if (body === undefined) response.writeHead(404).end();
      else response.writeHead(200, { 'content-type': request.url === '/' ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
    context = await browser.newContext();
  });

  after(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    assert.deepEqual(pageErrors, [], 'no uncaught error in a page');
  });

  describe('Storage contract: IndexedDbStorage', () => {
    let page: Page;
    before(async () => {
      page = await openPage();
    });
    after(async () => {
      await page?.close();
    });
    for (const contractCase of STORAGE_CONTRACT) {
      it(contractCase.name, async () => {
        const outcome = await page.evaluate(async (name) => (globalThis as unknown as { T: { runCase(n: string): Promise<{ ok: boolean; error?: string }> } }).T.runCase(name), contractCase.name);
        assert.ok(outcome.ok, outcome.error);
      });
    }
  });

  describe('BlobCache contract: IndexedDbBlobCache', () => {
    let page: Page;
    before(async () => {
      page = await openPage();
    });
    after(async () => {
      await page?.close();
    });
    for (const contractCase of BLOB_CACHE_CONTRACT) {
      it(contractCase.name, async () => {
        const outcome = await page.evaluate(
          async (name) => (globalThis as unknown as { T: { runBlobCase(n: string): Promise<{ ok: boolean; error?: string }> } }).T.runBlobCase(name),
          contractCase.name,
        );
        assert.ok(outcome.ok, outcome.error);
      });
    }
  });

  type PageApi = {
    T: {
      IndexedDbStorage: {
        open(name: string): Promise<{ get(k: string): Promise<string | undefined>; put(k: string, v: string): Promise<void>; list(p: string): Promise<string[]>; close(): Promise<void> }>;
      };
    };
  };

  it('resolved puts survive a reload of the page, and a tab closed without closing the database', async () => {
    const name = `durable-${Date.now()}`;
    const page = await openPage();
    await page.evaluate(async (name) => {
      const storage = await (globalThis as unknown as PageApi).T.IndexedDbStorage.open(name);
      for (let seq = 1; seq <= 100; seq++) await storage.put(`outbox/${String(seq).padStart(16, '0')}`, JSON.stringify({ seq }));
      await storage.put('meta', JSON.stringify({ lastSeq: 100 }));
      // not closed: the reload tears the page down with the connection open
    }, name);
    await page.reload();
    const afterReload = await page.evaluate(async (name) => {
      const storage = await (globalThis as unknown as PageApi).T.IndexedDbStorage.open(name);
      const keys = await storage.list('outbox/');
      const out = { meta: await storage.get('meta'), keys: keys.length, last: await storage.get(keys.at(-1)!) };
      await storage.put('after-reload', 'yes');
      return out;
    }, name);
    assert.deepEqual(afterReload, { meta: '{"lastSeq":100}', keys: 100, last: '{"seq":100}' });
    await page.close();
    const other = await openPage();
    assert.equal(
      await other.evaluate(async (name) => (await (globalThis as unknown as PageApi).T.IndexedDbStorage.open(name)).get('after-reload'), name),
      'yes',
      'a put of a tab that was closed is there in the next tab',
    );
    await other.close();
  });

  it('resolved puts survive the browser being killed (SIGKILL) and started again on the same profile', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'tidemark-chromium-profile-'));
    try {
      const first = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
      const page = first.pages()[0] ?? (await first.newPage());
      await page.goto(`${origin}/`);
      const name = `crash-${Date.now()}`;
      await page.evaluate(async (name) => {
        const storage = await (globalThis as unknown as PageApi).T.IndexedDbStorage.open(name);
        for (let seq = 1; seq <= 50; seq++) await storage.put(`outbox/${String(seq).padStart(16, '0')}`, JSON.stringify({ seq }));
        await storage.put('meta', JSON.stringify({ lastSeq: 50 }));
      }, name);
      // the browser process of this profile (not a renderer or helper: those carry --type=)
      const pid = browserPid(profile);
      process.kill(pid, 'SIGKILL');
      await first.close().catch(() => undefined);
      const second = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
      try {
        const again = second.pages()[0] ?? (await second.newPage());
        await again.goto(`${origin}/`);
        const read = await again.evaluate(async (name) => {
          const storage = await (globalThis as unknown as PageApi).T.IndexedDbStorage.open(name);
          return { meta: await storage.get('meta'), keys: (await storage.list('outbox/')).length };
        }, name);
        assert.deepEqual(read, { meta: '{"lastSeq":50}', keys: 50 });
      } finally {
        await second.close();
      }
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  });

  it("tabs sharing one device ('tabs: auto') append concurrently without sharing a sequence number; each sees the others' events", async () => {
    const name = `tabs-${Date.now()}`;
    const tabs = await Promise.all([openPage(), openPage(), openPage()]);
    type TabApi = { T: { IndexedDbStorage: { open(name: string): Promise<unknown> }; TidemarkClient: { open(o: Record<string, unknown>): Promise<TabClient> } }; client: TabClient; news: string[] };
    type TabClient = {
      upsert(t: string, id: string, v: Record<string, unknown>): Promise<{ deviceSeq: number; eventId: string }>;
      pending(): { deviceSeq: number }[];
      query(q: { type: string }): { status: string }[];
      lastSeq: number;
      on(e: 'tabChange', l: (n: string) => void): () => void;
      close(): Promise<void>;
    };
    // one device: the same storage name, no server (nothing syncs here)
    for (const tab of tabs) {
      await tab.evaluate(async (name) => {
        const w = globalThis as unknown as TabApi;
        w.news = [];
        w.client = await w.T.TidemarkClient.open({ baseUrl: 'http://127.0.0.1:9', storage: await w.T.IndexedDbStorage.open(name), workspace: 'default', deviceId: 'shared-device', tabs: 'auto' });
        w.client.on('tabChange', (news) => w.news.push(news));
      }, name);
    }
    const perTab = 40;
    const appended = await Promise.all(
      tabs.map((tab, t) =>
        tab.evaluate(
          async ({ t, perTab }) => {
            const w = globalThis as unknown as TabApi;
            const seqs: number[] = [];
            // two appends in flight at a time per tab, three tabs at once
            await Promise.all(
              [0, 1].map(async (lane) => {
                for (let i = lane; i < perTab; i += 2) seqs.push((await w.client.upsert('note', `tab${t}-${i}`, { i })).deviceSeq);
              }),
            );
            return seqs;
          },
          { t, perTab },
        ),
      ),
    );
    const all = appended.flat().sort((a, b) => a - b);
    assert.deepEqual(
      all,
      Array.from({ length: perTab * tabs.length }, (_, i) => i + 1),
      'sequence numbers 1…120, each handed out once',
    );
    // every tab catches up with what the others appended (BroadcastChannel news, then a re-read of the outbox)
    for (const tab of tabs) {
      await eventually(
        async () => {
          const seen = await tab.evaluate(() => {
            const w = globalThis as unknown as TabApi;
            const notes = w.client.query({ type: 'note' });
            return { pending: w.client.pending().map((e) => e.deviceSeq), lastSeq: w.client.lastSeq, notes: notes.length, statuses: [...new Set(notes.map((n) => n.status))] };
          });
          assert.deepEqual(seen.pending, all);
          assert.equal(seen.lastSeq, all.length);
          assert.deepEqual({ notes: seen.notes, statuses: seen.statuses }, { notes: all.length, statuses: ['pending'] }, "the replica shows the other tabs' writes too");
        },
        { timeoutMs: 10_000, message: 'each tab lists every pending event of the device, and reads every note' },
      );
    }
    const stored = await tabs[0]!.evaluate(async (name) => {
      const storage = await (globalThis as unknown as PageApi).T.IndexedDbStorage.open(name);
      const meta = JSON.parse((await storage.get('meta'))!) as { lastSeq: number };
      const records = await storage.list('outbox/');
      await storage.close();
      return { lastSeq: meta.lastSeq, records: records.length };
    }, name);
    assert.deepEqual(stored, { lastSeq: all.length, records: all.length });
    for (const tab of tabs) await tab.evaluate(() => (globalThis as unknown as TabApi).client.close());
    await Promise.all(tabs.map((tab) => tab.close()));
  });

  it('one tab leads at a time; when it closes, a waiting tab takes over (Web Locks)', async () => {
    const name = `leader-${Date.now()}`;
    type LeadApi = { T: { TabCoordinator: { detect(name: string): { lead(s: { acquired(): void; released(): void }, e: (x: Error) => void): () => Promise<void> } } }; leading: boolean };
    const tabs = await Promise.all([openPage(), openPage(), openPage()]);
    for (const tab of tabs) {
      await tab.evaluate((name) => {
        const w = globalThis as unknown as LeadApi;
        w.leading = false;
        w.T.TabCoordinator.detect(name).lead({ acquired: () => void (w.leading = true), released: () => void (w.leading = false) }, (error) => console.error(error));
      }, name);
    }
    const leaders = async (pages: Page[]) => (await Promise.all(pages.map((tab) => tab.evaluate(() => (globalThis as unknown as LeadApi).leading)))).flatMap((leading, i) => (leading ? [i] : []));
    let open = [...tabs];
    for (let round = 0; round < 2; round++) {
      let leader = -1;
      await eventually(
        async () => {
          const now = await leaders(open);
          assert.equal(now.length, 1, `exactly one leader among ${open.length} tabs: ${JSON.stringify(now)}`);
          leader = now[0]!;
        },
        { timeoutMs: 10_000, message: 'one leader' },
      );
      await open[leader]!.close(); // no release of ours: the browser frees the lock of a closed tab
      open = open.filter((_, i) => i !== leader);
    }
    assert.equal(open.length, 1);
    await eventually(async () => assert.deepEqual(await leaders(open), [0]), { timeoutMs: 10_000, message: 'the last tab leads' });
    await open[0]!.close();
  });
});
