// The React bindings (`@tidemark/client/react`) in real Chromium with react-dom: components using `useQuery` and
// `useEntity` over a client whose gateway (with the real merge behind it) runs in the page. They render the
// replica's answer, re-render on a local write and on a sync, and not on a change their answer does not show.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';

// The page's globals, for the functions evaluated in it (this project is type-checked without the DOM library).
declare const window: any;
declare const document: any;

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

const APP = `
import { createElement as h } from 'react';
import { createRoot } from 'react-dom/client';
import { TidemarkClient, MemoryStorage } from './index.js';
import { useEntity, useQuery } from './react.js';
import { MergingGateway } from './test-support/merging-gateway.js';

const gateway = new MergingGateway();
const renders = { list: 0, one: 0 };
let client;
// about:blank is not a secure context, where crypto.randomUUID is missing: v4 UUIDs from getRandomValues.
const uuid = () => {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return x.slice(0, 8) + '-' + x.slice(8, 12) + '-' + x.slice(12, 16) + '-' + x.slice(16, 20) + '-' + x.slice(20);
};
function List() {
  renders.list++;
  const reads = useQuery(client, { type: 'annotation', where: { label: 'cat' }, orderBy: '$id' });
  return h('ul', { id: 'list' }, reads.map((r) => h('li', { key: r.id }, r.id + ':' + r.status)));
}
function One() {
  renders.one++;
  const read = useEntity(client, 'annotation', 'img-1');
  return h('p', { id: 'one' }, read ? read.values.label + '/' + read.status : 'none');
}
window.api = {
  renders,
  async start() {
    client = await TidemarkClient.open({ baseUrl: 'http://gateway.test', storage: new MemoryStorage(), workspace: 'default', deviceId: 'tablet', fetch: gateway.fetchFor('tablet'), randomUUID: uuid });
    const root = document.createElement('div');
    document.body.append(root);
    createRoot(root).render(h('main', null, h(List), h(One)));
  },
  upsert: (type, id, values) => client.upsert(type, id, values).then(() => undefined),
  sync: () => client.sync().then(() => undefined),
};
`;

describe('React bindings in Chromium (useQuery, useEntity)', () => {
  let browser: Browser;
  let page: Page;

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`the React test needs Chromium at ${CHROMIUM}: install Debian's chromium`);
    const bundle = await build({
      stdin: { contents: APP, resolveDir: __dirname, loader: 'js' },
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
      define: { 'process.env.NODE_ENV': '"production"' },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
    page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.setContent('<!doctype html><meta charset="utf-8"><title>replica</title>');
    await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
    await page.evaluate(() => window.api.start());
    assert.deepEqual(errors, []);
  });

  after(async () => {
    await browser?.close();
  });

  const text = (selector: string) => page.locator(selector).textContent();
  const renders = () => page.evaluate(() => ({ ...window.api.renders }) as { list: number; one: number });

  it('renders the replica, re-renders on a local write and a sync, and only when the answer changed', async () => {
    await page.waitForSelector('#one');
    assert.equal(await text('#one'), 'none');
    assert.equal(await page.locator('#list li').count(), 0);

    await page.evaluate(() => window.api.upsert('annotation', 'img-1', { label: 'cat' }));
    await page.waitForFunction(() => document.querySelector('#one')?.textContent === 'cat/pending');
    await page.waitForFunction(() => document.querySelector('#list')?.textContent === 'img-1:pending');

    // A write the list does not show, then one it does: the list renders once more, not twice.
    const before = await renders();
    await page.evaluate(() => window.api.upsert('annotation', 'img-2', { label: 'dog' }));
    await page.evaluate(() => window.api.upsert('annotation', 'img-3', { label: 'cat' }));
    await page.waitForFunction(() => document.querySelector('#list')?.textContent === 'img-1:pendingimg-3:pending');
    const afterWrites = await renders();
    assert.equal(afterWrites.list, before.list + 1, `list renders ${before.list} → ${afterWrites.list}`);
    assert.equal(afterWrites.one, before.one, 'img-1 did not change: useEntity did not re-render');

    await page.evaluate(() => window.api.sync());
    await page.waitForFunction(() => document.querySelector('#one')?.textContent === 'cat/applied');
    await page.waitForFunction(() => document.querySelector('#list')?.textContent === 'img-1:appliedimg-3:applied');
  });
});
