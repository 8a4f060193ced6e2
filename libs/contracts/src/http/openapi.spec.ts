import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { ProblemSchema, openApiDocument, operationIdOf, type RouteDoc } from '../index';

type Operation = {
  operationId: string;
  security: unknown[];
  parameters: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  requestBody?: { required: boolean; content: Record<string, { example?: unknown }> };
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { schema: unknown; example?: unknown }> }>;
};
const operation = (routes: RouteDoc[], path: string, method: string): Operation => (openApiDocument('t', '1', routes).paths as Record<string, Record<string, Operation>>)[path]![method]!;

describe('openApiDocument', () => {
  it('derives an operationId from the method and path unless one is given', () => {
    assert.equal(operationIdOf('post', '/v1/conflicts/{id}/resolve'), 'postV1ConflictsByIdResolve');
    assert.equal(operationIdOf('get', '/v1/assets/waiting'), 'getV1AssetsWaiting');
    assert.equal(operationIdOf('put', '/v1/schemas/{type}/revisions/{revision}'), 'putV1SchemasByTypeRevisionsByRevision');
    assert.equal(operationIdOf('get', '/'), 'get');
    const named = operation([{ method: 'get', path: '/x', summary: 's', tags: [], operationId: 'readX', responses: { 200: { description: 'ok' } } }], '/x', 'get');
    assert.equal(named.operationId, 'readX');
  });

  it('adds the answers every route can give: the token check’s, 503 with Retry-After, and a JSON body’s', () => {
    const body: RouteDoc = {
      method: 'post',
      path: '/v1/things',
      summary: 's',
      tags: [],
      auth: 'operator',
      body: Type.Object({ a: Type.String() }),
      example: { a: 'b' },
      responses: { 201: { description: 'made' } },
    };
    const op = operation([body], '/v1/things', 'post');
    assert.deepEqual(Object.keys(op.responses).sort(), ['201', '400', '401', '403', '413', '415', '503']);
    assert.ok(op.responses['401']!.headers?.['WWW-Authenticate']);
    assert.ok(op.responses['503']!.headers?.['Retry-After']);
    assert.deepEqual(op.responses['503']!.content?.['application/problem+json']?.schema, { $ref: '#/components/schemas/Problem' });
    assert.deepEqual(op.requestBody?.content['application/json']?.example, { a: 'b' });
    assert.deepEqual(op.security, [{ bearer: [] }]);

    const open = operation([{ method: 'get', path: '/open', summary: 's', tags: [], auth: 'none', responses: { 200: { description: 'ok' } } }], '/open', 'get');
    assert.deepEqual(Object.keys(open.responses).sort(), ['200', '503']);
    assert.deepEqual(open.security, []);
    const any = operation([{ method: 'get', path: '/any', summary: 's', tags: [], auth: 'any', responses: { 200: { description: 'ok' } } }], '/any', 'get');
    assert.deepEqual(Object.keys(any.responses).sort(), ['200', '401', '503'], 'any token: no 403');
  });

  it('puts Retry-After on every 423, 429 and 503, keeps a route’s own headers, and gives problems an example', () => {
    const op = operation(
      [
        {
          method: 'patch',
          path: '/u/{id}',
          summary: 's',
          tags: [],
          responses: { 423: { description: 'locked', schema: ProblemSchema, headers: { Connection: { description: 'close' } } }, 429: { description: 'slow down', schema: ProblemSchema } },
        },
      ],
      '/u/{id}',
      'patch',
    );
    for (const status of ['423', '429', '503']) assert.ok(op.responses[status]!.headers?.['Retry-After'], status);
    assert.ok(op.responses['423']!.headers?.['Connection']);
    assert.deepEqual(op.responses['429']!.content?.['application/problem+json']?.example, {
      type: 'https://tidemark.dev/problems/too-many-requests',
      title: 'Too many requests',
      status: 429,
      detail: 'slow down',
    });
  });

  it('types path, query and header parameters from their schemas', () => {
    const op = operation(
      [
        {
          method: 'get',
          path: '/v1/items/{id}',
          summary: 's',
          tags: [],
          params: { id: Type.String({ format: 'uuid' }) },
          query: Type.Object({ limit: Type.Optional(Type.Integer()), workspace: Type.String() }),
          headers: { 'If-None-Match': { description: 'an ETag' } },
          responses: { 200: { description: 'ok' } },
        },
      ],
      '/v1/items/{id}',
      'get',
    );
    const byName = Object.fromEntries(op.parameters.map((p) => [p.name, p]));
    assert.deepEqual([byName.id!.in, byName.id!.required, byName.id!.schema.format], ['path', true, 'uuid']);
    assert.deepEqual([byName.limit!.in, byName.limit!.required], ['query', false]);
    assert.deepEqual([byName.workspace!.in, byName.workspace!.required], ['query', true]);
    assert.equal(byName['If-None-Match']!.in, 'header');
  });

  it('describes a HEAD answer without a body, and a non-JSON body by its media type', () => {
    const head = operation(
      [
        {
          method: 'head',
          path: '/u/{id}',
          summary: 's',
          tags: [],
          responses: { 200: { description: 'state', headers: { 'Upload-Offset': { description: 'bytes' } } }, 404: { description: 'gone', schema: ProblemSchema } },
        },
      ],
      '/u/{id}',
      'head',
    );
    assert.equal(head.responses['404']!.content, undefined);
    assert.equal(head.responses['401']!.content, undefined);
    assert.ok(head.responses['200']!.headers?.['Upload-Offset']);
    const patch = operation(
      [
        {
          method: 'patch',
          path: '/u/{id}',
          summary: 's',
          tags: [],
          body: Type.String({ format: 'binary' }),
          bodyContentType: 'application/offset+octet-stream',
          example: 'bytes',
          responses: { 204: { description: 'stored' } },
        },
      ],
      '/u/{id}',
      'patch',
    );
    assert.deepEqual(Object.keys(patch.requestBody!.content), ['application/offset+octet-stream']);
    assert.equal(patch.responses['415'], undefined, 'a non-JSON body gets no JSON body answers');
  });
});
