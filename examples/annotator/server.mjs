#!/usr/bin/env node
// The annotator's own server, as a real app has one: it serves the built page (dist/, see build.mjs) and enrols each
// new browser as a tidemark device (`POST /api/devices`), holding the admin token the page must never see. The page
// then talks to the gateway and the asset-service directly (their CORS_ORIGINS must name this server's origin).
//
//   node examples/annotator/server.mjs   with TIDEMARK_GATEWAY_URL, TIDEMARK_ASSETS_URL, TIDEMARK_ADMIN_TOKEN
//                                        (default: .tidemark/admin-token, as `npm start` writes it) and PORT (3006)
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const FILES = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/app.js.map': ['app.js.map', 'application/json'],
  '/app.css': ['app.css', 'text/css; charset=utf-8'],
};
/** The enrolment request's body is small JSON (`{ "label": … }`); anything longer is refused. */
const MAX_BODY_BYTES = 4096;

/**
 * Starts the server. `adminToken`: an operator token with the `admin` role (it registers devices in `workspace`,
 * which it creates when missing). `chunkSize`: bytes per tus PATCH handed to the page (the SDK's default otherwise).
 */
export async function startExampleServer({ gateway, assets, adminToken, workspace = 'default', port = 3006, host = '127.0.0.1', chunkSize, dir = join(here, 'dist') }) {
  const admin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  const created = await fetch(`${gateway}/v1/admin/workspaces`, { method: 'POST', headers: admin, body: JSON.stringify({ workspace, reason: 'the annotator example' }) });
  if (!created.ok && created.status !== 409) throw new Error(`could not create workspace ${workspace}: ${created.status} ${await created.text()}`);
  const config = JSON.stringify({ gateway, assets, ...(chunkSize ? { chunkSize } : {}) });

  const problem = (response, status, title, detail) => response.writeHead(status, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'about:blank', status, title, detail }));
  const enrol = async (request, response) => {
    let size = 0;
    const chunks = [];
    for await (const chunk of request) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) return problem(response, 413, 'Payload Too Large', `the enrolment body is at most ${MAX_BODY_BYTES} bytes`);
      chunks.push(chunk);
    }
    let label = null;
    try {
      const body = size === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (typeof body.label === 'string') label = body.label.slice(0, 100);
    } catch {
      return problem(response, 400, 'Bad Request', 'the body is not JSON');
    }
    const deviceId = `web-${randomBytes(4).toString('hex')}`;
    const answer = await fetch(`${gateway}/v1/admin/workspaces/${encodeURIComponent(workspace)}/devices`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ deviceId, ...(label ? { label } : {}), reason: 'a browser opened the annotator' }),
    });
    response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json', 'cache-control': 'no-store' }).end(await answer.text());
  };

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    if (request.method === 'POST' && path === '/api/devices') {
      enrol(request, response).catch((error) => problem(response, 502, 'Bad Gateway', `the gateway could not be asked: ${error.message}`));
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') return problem(response, 405, 'Method Not Allowed', `${request.method} ${path}`);
    if (path === '/config.json') return response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(config);
    const file = FILES[path];
    if (!file) return problem(response, 404, 'Not Found', path);
    readFile(join(dir, file[0])).then(
      (body) => response.writeHead(200, { 'content-type': file[1], 'cache-control': 'no-cache' }).end(request.method === 'HEAD' ? undefined : body),
      () => problem(response, 500, 'Internal Server Error', `${file[0]} is not built: run node examples/annotator/build.mjs`),
    );
  });
  await new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolveListen);
  });
  const { port: bound } = server.address();
  return {
    url: `http://${host}:${bound}`,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(here, '..', '..');
  const adminToken = process.env.TIDEMARK_ADMIN_TOKEN ?? (await readFile(join(root, '.tidemark', 'admin-token'), 'utf8')).trim();
  const server = await startExampleServer({
    gateway: process.env.TIDEMARK_GATEWAY_URL ?? 'http://127.0.0.1:3001',
    assets: process.env.TIDEMARK_ASSETS_URL ?? 'http://127.0.0.1:3004',
    adminToken,
    port: Number(process.env.PORT ?? 3006),
  });
  console.log(`the annotator: ${server.url}`);
}
