import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

/**
 * Every service's OpenAPI document against the service itself. Each of the four HTTP services runs in this
 * process (so the routes its Fastify instance registered can be read back), serves `GET /v1/openapi.json`
 * without a token, and the document:
 * - is valid OpenAPI 3.1 by @apidevtools/swagger-parser;
 * - describes exactly the routes the service registered, method by method, and nothing else;
 * - gives every operation a unique operationId, and every 423, 429 and 503 a Retry-After header;
 * - has examples that validate against the schemas they illustrate;
 * - tells the truth about tokens (a route documented as needing one answers 401 without, and 403 to a token
 *   of the wrong kind) and about the shape of what the parameterless operator reads answer.
 */

type Method = 'get' | 'post' | 'put' | 'delete' | 'patch' | 'head' | 'options';
const METHODS: Method[] = ['get', 'post', 'put', 'delete', 'patch', 'head', 'options'];
type Operation = {
  operationId?: string;
  security?: unknown[];
  'x-tidemark-token'?: string;
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, MediaType> }>;
};
type MediaType = { schema?: unknown; example?: unknown };
type Document = { openapi: string; servers?: { url: string }[]; paths: Record<string, Partial<Record<Method, Operation>>> };
interface Running {
  url: string;
  routes: readonly { method: string; url: string }[];
  close(): Promise<void>;
}

/**
 * Routes left out of the comparison, and why:
 * - `/healthz`, `/readyz`, `/metrics`: the orchestrator's and Prometheus's endpoints, added to every service
 *   by @tidemark/platform; the README documents them, not the API documents;
 * - `/dashboard/*` (ops-api): the dashboard's static files (HTML, CSS, ES modules) under one wildcard route,
 *   which OpenAPI cannot express (a path parameter holds no `/`); its document says so, and documents `/` and
 *   `/dashboard`, the page itself;
 * - a HEAD route beside a GET route of the same path: Fastify adds one to every GET (`exposeHeadRoutes`);
 *   a HEAD route of its own (tus HEAD) is compared like any other;
 * - `OPTIONS *`: the CORS preflight route @fastify/cors adds on services that answer browsers (gateway,
 *   asset-service); it answers preflights for every route, and tus's own OPTIONS routes are documented.
 */
const OPERATIONAL = new Set(['/healthz', '/readyz', '/metrics']);
const STATIC_FILES = new Set(['/dashboard/*']);
const CORS_PREFLIGHT = 'OPTIONS *';

/** `method path` of every route the service registered, in OpenAPI's path form. */
function registeredOperations(routes: Running['routes']): Set<string> {
  const gets = new Set(routes.filter((r) => r.method === 'GET').map((r) => r.url));
  const out = new Set<string>();
  for (const route of routes) {
    if (OPERATIONAL.has(route.url) || STATIC_FILES.has(route.url)) continue;
    if (route.method === 'HEAD' && gets.has(route.url)) continue;
    if (`${route.method} ${route.url}` === CORS_PREFLIGHT) continue;
    out.add(`${route.method.toLowerCase()} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
  }
  return out;
}

function documentedOperations(doc: Document): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) for (const method of METHODS) if (item[method]) out.add(`${method} ${path}`);
  return out;
}

function operations(doc: Document): { key: string; path: string; method: Method; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((method) => ({ key: `${method} ${path}`, path, method, op: item[method]! })));
}

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addFormat('binary', true);
const isJson = (media: string) => /^application\/(.+\+)?json$/.test(media);

/** A value for a path parameter that the parameter's pattern accepts (so the route is reached, not refused by the router). */
const SAMPLE_PARAMS: Record<string, string> = {
  sha256: 'a'.repeat(64),
  id: '0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69',
  eventId: '0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69',
  seq: '1',
  version: '1',
  revision: '2',
};
const fill = (path: string) => path.replace(/\{(\w+)\}/g, (_m, name: string) => SAMPLE_PARAMS[name] ?? 'sample');

describe('OpenAPI documents of every service', () => {
  const services = new Map<string, Running>();
  const closers: (() => Promise<unknown>)[] = [];
  let operatorHeaders: Record<string, string> = {};
  /** A token of the wrong kind for each documented token: a route needing it answers 403 to this one. */
  const wrongToken: Record<string, Record<string, string>> = {};

  before(async () => {
    const { testNats, testDatabase, testBucket, bucketEnv, testIdentity } = await import('@tidemark/testing');
    const { findFreePort } = await import('@tidemark/local-stack');
    const { startGateway, loadGatewayConfig } = await import('@tidemark/gateway');
    const { startJournalService, loadJournalServiceConfig } = await import('@tidemark/journal-service');
    const { startAssetService, loadAssetServiceConfig } = await import('@tidemark/asset-service');
    const { startOpsApi, loadOpsApiConfig } = await import('@tidemark/ops-api');
    const [nats, db, bucket] = await Promise.all([testNats(), testDatabase('openapi'), testBucket('openapi')]);
    const identity = testIdentity(db.url);
    closers.push(
      () => identity.close(),
      () => db.drop(),
      () => nats.stop(),
    );
    const env = { NATS_URL: nats.url, DATABASE_URL: db.url, LOG_LEVEL: 'warn', JOURNAL_PARTITIONS: '2', AUTH_SIGNING_KEYS: identity.signingKeys };
    const port = async () => String(await findFreePort());
    // journal-service first: it declares the streams the others use.
    const started: [string, Running][] = [];
    started.push(['journal-service', await startJournalService(loadJournalServiceConfig({ ...env, HTTP_PORT: await port() }))]);
    started.push(['gateway', await startGateway(loadGatewayConfig({ ...env, HTTP_PORT: await port() }))]);
    started.push(['asset-service', await startAssetService(loadAssetServiceConfig({ ...env, ...bucketEnv(bucket), HTTP_PORT: await port() }))]);
    started.push(['ops-api', await startOpsApi(loadOpsApiConfig({ ...env, HTTP_PORT: await port() }))]);
    for (const [name, service] of started) {
      services.set(name, service);
      closers.unshift(() => service.close());
    }
    operatorHeaders = { authorization: `Bearer ${await identity.operatorToken('openapi-test', ['ops', 'admin'])}` };
    wrongToken.device = operatorHeaders;
    wrongToken.operator = await identity.headersFor('openapi-device');
    wrongToken.admin = { authorization: `Bearer ${await identity.operatorToken('openapi-ops-only', ['ops'])}` };
  });

  after(async () => {
    for (const close of closers) await close().catch(() => undefined);
  });

  for (const name of ['gateway', 'journal-service', 'asset-service', 'ops-api']) {
    describe(name, () => {
      let doc: Document;
      let dereferenced: Document;

      before(async () => {
        const response = await fetch(`${services.get(name)!.url}/v1/openapi.json`);
        assert.equal(response.status, 200, 'served without a token');
        assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
        doc = (await response.json()) as Document;
      });

      it('is a valid OpenAPI 3.1 document', async () => {
        assert.equal(doc.openapi, '3.1.0');
        dereferenced = (await SwaggerParser.validate(structuredClone(doc) as never)) as unknown as Document;
        assert.ok(doc.servers && doc.servers.length > 0, 'servers');
      });

      it('describes every route the service registered, and no other', () => {
        const registered = registeredOperations(services.get(name)!.routes);
        const documented = documentedOperations(doc);
        assert.ok(registered.size > 3, `routes were read from the running service: ${[...registered].join(', ')}`);
        assert.deepEqual([...registered].filter((r) => !documented.has(r)).sort(), [], 'registered but not documented');
        assert.deepEqual([...documented].filter((d) => !registered.has(d)).sort(), [], 'documented but not registered');
      });

      it('gives each operation a unique operationId, its problems as problem+json, and Retry-After where a retry is asked for', () => {
        const ids = operations(doc).map(({ op }) => op.operationId);
        assert.ok(
          ids.every((id) => typeof id === 'string' && /^[A-Za-z][A-Za-z0-9]*$/.test(id)),
          JSON.stringify(ids),
        );
        assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
        for (const { key, method, op } of operations(doc)) {
          for (const [status, response] of Object.entries(op.responses)) {
            if (['423', '429', '503'].includes(status)) assert.ok(response.headers?.['Retry-After'], `${key} ${status} has Retry-After`);
            if (Number(status) >= 400 && method !== 'head') assert.ok(response.content?.['application/problem+json'], `${key} ${status} is problem+json`);
          }
          if (op['x-tidemark-token'] !== 'none') assert.ok(op.responses['401'], `${key} documents 401`);
        }
      });

      it('has examples, and each validates against the schema it illustrates', () => {
        for (const { key, op } of operations(dereferenced)) {
          const media = [...Object.entries(op.requestBody?.content ?? {}), ...Object.values(op.responses).flatMap((r) => Object.entries(r.content ?? {}))];
          if (media.length > 0)
            assert.ok(
              media.some(([, m]) => m.example !== undefined),
              `${key} has an example`,
            );
          for (const [type, m] of Object.entries(op.requestBody?.content ?? {})) assert.ok(m.example !== undefined, `${key} has an example ${type} request`);
          for (const [type, m] of media) {
            if (m.example === undefined || !isJson(type) || m.schema === undefined) continue;
            const validate = ajv.compile(m.schema as object);
            assert.ok(validate(m.example), `${key} ${type} example: ${ajv.errorsText(validate.errors)}`);
          }
        }
      });

      it('answers 401 without a token wherever a token is documented as needed', async () => {
        const base = services.get(name)!.url;
        const guarded = operations(doc).filter(({ op }) => op['x-tidemark-token'] !== 'none');
        assert.ok(guarded.length > 0);
        for (const { key, path, method, op } of guarded) {
          assert.deepEqual(op.security, [{ bearer: [] }], `${key} names the bearer scheme`);
          const headers: Record<string, string> = method === 'head' || method === 'patch' || (method === 'post' && path === '/v1/uploads') ? { 'tus-resumable': '1.0.0' } : {};
          const response = await fetch(`${base}${fill(path)}`, { method: method.toUpperCase(), headers });
          await response.arrayBuffer();
          assert.equal(response.status, 401, `${key} without a token`);
        }
        for (const { key, path, method } of operations(doc).filter(({ op }) => op['x-tidemark-token'] === 'none' && op.security?.length === 0)) {
          if (method !== 'get' && method !== 'options') continue;
          const response = await fetch(`${base}${fill(path)}`, { method: method.toUpperCase() });
          await response.arrayBuffer();
          assert.notEqual(response.status, 401, `${key} is open`);
        }
      });

      it('answers 403 to the wrong kind of token wherever it documents one kind (device, operator, admin)', async () => {
        const base = services.get(name)!.url;
        for (const { key, path, method, op } of operations(doc).filter(({ op }) => ['device', 'operator', 'admin'].includes(op['x-tidemark-token'] ?? ''))) {
          assert.ok(op.responses['403'], `${key} documents 403`);
          const response = await fetch(`${base}${fill(path)}`, { method: method.toUpperCase(), headers: { ...wrongToken[op['x-tidemark-token']!], 'tus-resumable': '1.0.0' } });
          await response.arrayBuffer();
          assert.equal(response.status, 403, `${key} with a token of another kind than ${op['x-tidemark-token']}`);
        }
      });

      it('documents the shape of what its parameterless operator reads answer', async () => {
        const base = services.get(name)!.url;
        const needsQuery = (op: Operation) => ((op as { parameters?: { in: string; required?: boolean }[] }).parameters ?? []).some((p) => p.in === 'query' && p.required === true);
        const reads = operations(dereferenced).filter(
          ({ path, method, op }) => method === 'get' && !path.includes('{') && !needsQuery(op) && ['operator', 'any'].includes(op['x-tidemark-token'] ?? ''),
        );
        for (const { key, path, op } of reads) {
          const response = await fetch(`${base}${path}`, { headers: operatorHeaders });
          assert.equal(response.status, 200, `${key}: ${await response.clone().text()}`);
          const schema = op.responses['200']?.content?.['application/json']?.schema;
          assert.ok(schema, `${key} documents its 200 body`);
          const validate = ajv.compile(schema as object);
          assert.ok(validate(await response.json()), `${key} answer: ${ajv.errorsText(validate.errors)}`);
        }
      });
    });
  }
});
