// attach in a real browser: headless Chromium runs the SDK's browser entry (bundled by esbuild for
// `platform: 'browser'`, so tus-js-client's browser build) from a page on another origin, against the real gateway
// and asset-service (CORS_ORIGINS naming the page's origin): a File made in the page is hashed with @noble/hashes,
// uploaded over tus in several PATCHes through the SDK's fetch transport, verified, and read back through the cache.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { findFreePort } from '@tidemark/local-stack';
import { bucketEnv, startSlice, testBucket, type SliceStack } from '@tidemark/testing';

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

describe('attach in headless Chromium', () => {
  let stack: SliceStack;
  let pages: Server;
  let origin: string;
  let browser: Browser | undefined;

  before(async () => {
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
    assert.doesNotMatch(sdk, /["'`]node:/, 'the browser bundle loads no Node built-in');
    pages = createServer((request, response) => {
      const body = request.url === '/sdk.js' ? sdk : request.url === '/' ? '<!doctype html><meta charset="utf-8"><title>attach</title><script src="/sdk.js"></script>' : undefined;
      if (body === undefined) return void response.writeHead(404).end();
      response.writeHead(200, { 'content-type': request.url === '/' ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8' }).end(body);
    });
    await new Promise<void>((resolve) => pages.listen(port, '127.0.0.1', resolve));
    stack = await startSlice(['journal-service', 'merge-service']);
    const bucket = await testBucket('browser-attach');
    await Promise.all([stack.start('gateway', { CORS_ORIGINS: origin }), stack.start('asset-service', { CORS_ORIGINS: origin, ...bucketEnv(bucket) })]);
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
    await new Promise((resolve) => pages?.close(resolve));
  });

  it('hashes, uploads over tus in chunks, verifies and reads back a File made in the page', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`this test needs Chromium at ${CHROMIUM}`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
    const page = await (await browser.newContext()).newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${origin}/`);
    const { headers: _headers, ...credentials } = await stack.device('default', 'browser-cam');
    const result = await page.evaluate(
      async ({ gateway, assets, credentials }) => {
        type Progress = { sha256: string; status: string; bytesSent: number; bytesTotal: number; bytesTransferred: number };
        type Client = {
          attach(e: { type: string; id: string }, f: string, file: Blob): Promise<{ sha256: string; size: number }>;
          uploads(): Progress[];
          on(name: 'upload', l: (p: Progress) => void): () => void;
          push(): Promise<unknown>;
          assets: { flush(): Promise<void>; get(sha: string): Promise<Blob>; stats(): { hits: number } };
          close(): Promise<void>;
        };
        const sdk = (
          globalThis as unknown as { Tidemark: { TidemarkClient: { open(o: Record<string, unknown>): Promise<Client> }; MemoryStorage: new () => unknown; MemoryBlobCache: new () => unknown } }
        ).Tidemark;
        const bytes = new Uint8Array(1536 * 1024 + 7);
        for (let at = 0; at < bytes.length; at += 65536) crypto.getRandomValues(bytes.subarray(at, Math.min(at + 65536, bytes.length)));
        const file = new File([bytes], 'scan.png', { type: 'image/png' });
        const client = await sdk.TidemarkClient.open({
          baseUrl: gateway,
          storage: new sdk.MemoryStorage(),
          credentials,
          assets: { baseUrl: assets, cache: new sdk.MemoryBlobCache(), chunkSize: 512 * 1024 },
        });
        const seen: Progress[] = [];
        client.on('upload', (p) => void seen.push(p));
        const attached = await client.attach({ type: 'photo', id: 'from-the-page' }, 'original', file);
        await client.push();
        await client.assets.flush();
        const back = new Uint8Array(await (await client.assets.get(attached.sha256)).arrayBuffer());
        const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
        const same = back.length === bytes.length && back.every((b, i) => b === bytes[i]);
        const result = {
          sha256: attached.sha256,
          webCryptoSha256: digest,
          size: attached.size,
          final: client.uploads(),
          statuses: [...new Set(seen.map((p) => p.status))],
          progress: seen.filter((p) => p.status === 'uploading').map((p) => p.bytesSent),
          same,
          hits: client.assets.stats().hits,
        };
        await client.close();
        return result;
      },
      { gateway: stack.url('gateway'), assets: stack.url('asset-service'), credentials },
    );
    assert.deepEqual(errors, []);
    assert.equal(result.sha256, result.webCryptoSha256, 'the streaming hash is the sha256 of the bytes');
    assert.deepEqual(
      result.final.map((u) => [u.status, u.bytesSent, u.bytesTransferred]),
      [['verified', result.size, result.size]],
    );
    assert.deepEqual(result.statuses, ['waiting', 'uploading', 'verified']);
    assert.ok(new Set(result.progress).size >= 3, `progress chunk by chunk: ${result.progress.join(', ')}`);
    assert.equal(result.same, true, 'read back byte-equal');
    assert.equal(result.hits, 2, 'the upload and the get both read the bytes the attach put in the cache: nothing was downloaded');
    const head = await fetch(`${stack.url('asset-service')}/v1/assets/${result.sha256}`, { method: 'HEAD', headers: { authorization: `Bearer ${credentials.accessToken}` } });
    assert.equal(head.status, 200, 'the asset-service holds the bytes verified');
    assert.equal(head.headers.get('content-type'), 'image/png');
  });
});
