import { Type, type TSchema } from '@sinclair/typebox';
import { DeviceEvent, LIMITS, PushRequest } from '../events/device-event';
import { PushResponse } from './push';
import { PROBLEM_BASE, PROBLEM_CONTENT_TYPE, ProblemType } from './problem';

/** RFC 9457 problem details as tidemark sends them. */
export const ProblemSchema = Type.Object({
  type: Type.String({ format: 'uri' }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.Optional(Type.String()),
  instance: Type.Optional(Type.String()),
  errors: Type.Optional(
    Type.Array(
      Type.Object({
        pointer: Type.String({ description: 'JSON pointer into the body, or query:/header:/path: and a name' }),
        detail: Type.String(),
        code: Type.Optional(Type.String({ description: 'why, where a problem type has several reasons (e.g. field-not-writable)' })),
      }),
    ),
  ),
});

/** A response or request header. */
export interface HeaderDoc {
  description: string;
  /** JSON Schema of the value (default: a string). */
  schema?: TSchema;
  required?: boolean;
  example?: string;
}

export interface ResponseDoc {
  description: string;
  /** The body's schema: problem+json for 4xx/5xx, `contentType` (default application/json) otherwise; a HEAD answer has none. */
  schema?: TSchema;
  /** The body's media type when not JSON (a download, an event stream). */
  contentType?: string;
  headers?: Record<string, HeaderDoc>;
  example?: unknown;
}

export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'delete' | 'head' | 'patch' | 'options';
  /** OpenAPI path template (`{name}` for a path parameter). */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  /** Unique within the document; derived from the method and path when not given. */
  operationId?: string;
  /** Query parameters: one per property (required as the schema says). */
  query?: TSchema;
  /** Path parameters' schemas, by name (default: a string). */
  params?: Record<string, TSchema>;
  /** Request headers the route reads. */
  headers?: Record<string, HeaderDoc>;
  body?: TSchema;
  /** The request body's media type (default application/json). */
  bodyContentType?: string;
  /** Whether a body must be sent (default: true when `body` is given). */
  bodyRequired?: boolean;
  /** An example request body. */
  example?: unknown;
  responses: Record<number, ResponseDoc>;
  /** The token the route needs (default: a device token). */
  auth?: 'device' | 'operator' | 'admin' | 'any' | 'none';
}

export interface OpenApiOptions {
  /** Where the service is reached; the document is served by the service it describes, so `/` comes first. */
  servers?: { url: string; description?: string }[];
  description?: string;
}

/** `Retry-After` on every 423, 429 and 503 tidemark sends. */
export const RetryAfterHeader: HeaderDoc = { description: 'seconds to wait before retrying', schema: Type.Integer({ minimum: 0 }), example: '1' };
const RETRY_STATUSES = new Set([423, 429, 503]);

const PROBLEM_TYPES: Record<number, string> = {
  400: ProblemType.validation,
  401: ProblemType.unauthorized,
  403: ProblemType.forbidden,
  404: ProblemType.notFound,
  409: ProblemType.conflict,
  413: ProblemType.bodyTooLarge,
  415: ProblemType.unsupportedMediaType,
  429: ProblemType.tooManyRequests,
  503: ProblemType.unavailable,
};

/** TypeBox schemas are JSON Schema plus symbol keys; a JSON round trip leaves the JSON Schema. */
function strip(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema));
}

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };
const DEVICE_EVENT_REF = { $ref: '#/components/schemas/DeviceEvent' };

function schemaOf(schema: TSchema): unknown {
  if (schema === ProblemSchema) return PROBLEM_REF;
  if (schema === DeviceEvent) return DEVICE_EVENT_REF;
  return strip(schema);
}

/** `getV1ConflictsByIdResolve` from `post /v1/conflicts/{id}/resolve`. */
export function operationIdOf(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      const word = (param ? `by-${param[1]}` : segment).replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase());
      return word.charAt(0).toUpperCase() + word.slice(1);
    });
  return `${method}${words.join('')}`;
}

function headerObject(header: HeaderDoc): Record<string, unknown> {
  return {
    description: header.description,
    ...(header.required ? { required: true } : {}),
    schema: header.schema ? strip(header.schema) : { type: 'string' },
    ...(header.example !== undefined ? { example: header.example } : {}),
  };
}

function problemExample(status: number, description: string): Record<string, unknown> {
  const type = PROBLEM_TYPES[status] ?? ProblemType.badRequest;
  return { type: `${PROBLEM_BASE}${type}`, title: type.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase()), status, detail: description };
}

function responseObject(status: number, r: ResponseDoc, head: boolean): Record<string, unknown> {
  const problem = status >= 400;
  const headers: Record<string, HeaderDoc> = { ...(RETRY_STATUSES.has(status) ? { 'Retry-After': RetryAfterHeader } : {}), ...r.headers };
  const media = r.schema ? (problem ? PROBLEM_CONTENT_TYPE : (r.contentType ?? 'application/json')) : r.contentType;
  const example = r.example ?? (problem && r.schema ? problemExample(status, r.description) : undefined);
  return {
    description: r.description,
    ...(Object.keys(headers).length > 0 ? { headers: Object.fromEntries(Object.entries(headers).map(([name, h]) => [name, headerObject(h)])) } : {}),
    ...(media && !head ? { content: { [media]: { schema: r.schema ? schemaOf(r.schema) : {}, ...(example !== undefined ? { example } : {}) } } } : {}),
  };
}

/** Answers every route of every service can give: the guard's, and an instance shutting down or a dependency down. */
function commonResponses(auth: NonNullable<RouteDoc['auth']>): Record<number, ResponseDoc> {
  const common: Record<number, ResponseDoc> = {};
  if (auth !== 'none')
    common[401] = {
      description: 'no token, or an expired, revoked, malformed or wrongly signed one',
      schema: ProblemSchema,
      headers: { 'WWW-Authenticate': { description: 'Bearer realm="tidemark" (with error="invalid_token" when a token was sent)' } },
    };
  if (auth !== 'none' && auth !== 'any')
    common[403] = {
      description: auth === 'device' ? 'an operator token where a device token is needed' : `a device token, or an operator token without the ${auth === 'admin' ? 'admin' : 'ops'} role`,
      schema: ProblemSchema,
    };
  common[503] = { description: 'this instance is shutting down, or a dependency (Postgres, NATS, the object store) is unavailable; retry', schema: ProblemSchema };
  return common;
}

/** Answers to any JSON body, before the route sees it: malformed, too large, not JSON. */
const jsonBodyResponses: Record<number, ResponseDoc> = {
  400: { description: 'the body is not well-formed JSON (or not valid UTF-8)', schema: ProblemSchema },
  413: { description: 'the body is larger than the service’s limit; nothing of it was read or applied', schema: ProblemSchema },
  415: { description: 'not application/json', schema: ProblemSchema },
};

/** Builds an OpenAPI 3.1 document from route descriptions whose schemas are the ones the services validate with. */
export function openApiDocument(title: string, version: string, routes: RouteDoc[], options: OpenApiOptions = {}): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const tags = new Set<string>();
  for (const route of routes) {
    const query = route.query as { properties?: Record<string, TSchema>; required?: string[] } | undefined;
    const parameters = [
      ...[...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1]!, in: 'path', required: true, schema: route.params?.[m[1]!] ? strip(route.params[m[1]!]!) : { type: 'string' } })),
      ...Object.entries(query?.properties ?? {}).map(([name, schema]) => ({
        name,
        in: 'query',
        required: query?.required?.includes(name) ?? false,
        schema: strip(schema),
        ...(schema.description ? { description: schema.description } : {}),
      })),
      ...Object.entries(route.headers ?? {}).map(([name, h]) => ({ name, in: 'header', ...headerObject(h) })),
    ];
    const auth = route.auth ?? 'device';
    const common = commonResponses(auth);
    if (route.body && (route.bodyContentType ?? 'application/json') === 'application/json') Object.assign(common, jsonBodyResponses);
    const all: Record<number, ResponseDoc> = { ...common };
    for (const [status, r] of Object.entries(route.responses)) all[Number(status)] = { ...r, headers: { ...common[Number(status)]?.headers, ...r.headers } };
    const responses = Object.fromEntries(Object.entries(all).map(([status, r]) => [status, responseObject(Number(status), r, route.method === 'head')]));
    for (const tag of route.tags) tags.add(tag);
    (paths[route.path] ??= {})[route.method] = {
      operationId: route.operationId ?? operationIdOf(route.method, route.path),
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: route.tags,
      security: auth === 'none' ? [] : [{ bearer: [] }],
      'x-tidemark-token': auth,
      parameters,
      ...(route.body
        ? {
            requestBody: {
              required: route.bodyRequired ?? true,
              content: { [route.bodyContentType ?? 'application/json']: { schema: schemaOf(route.body), ...(route.example !== undefined ? { example: route.example } : {}) } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title, version, ...(options.description ? { description: options.description } : {}) },
    servers: options.servers ?? [{ url: '/', description: 'the instance serving this document' }],
    tags: [...tags].map((name) => ({ name })),
    paths,
    components: {
      schemas: { DeviceEvent: strip(DeviceEvent), Problem: strip(ProblemSchema) },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: "a device access token (the workspace is the token's), or an operator token on operator and admin routes" },
      },
    },
  };
}

/** The OpenAPI document's own route, on every service. */
export const OPENAPI_ROUTE: RouteDoc = {
  method: 'get',
  path: '/v1/openapi.json',
  summary: 'This OpenAPI 3.1 document, built from the schemas the service validates with',
  tags: ['meta'],
  auth: 'none',
  responses: { 200: { description: 'the document', schema: Type.Object({ openapi: Type.String() }, { additionalProperties: true }) } },
};

const SAMPLE_EVENT = {
  eventId: '0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69',
  deviceId: 'laptop-1',
  deviceSeq: 1,
  hlc: { wall: 1764062153123, counter: 0 },
  entity: { type: 'annotation', id: 'img-42' },
  op: 'upsert',
  baseVersion: 0,
  fields: { label: { op: 'set', value: 'cat' } },
  schemaVersion: 1,
};

/** The gateway's device routes. */
export const GATEWAY_ROUTES: RouteDoc[] = [
  {
    method: 'post',
    path: '/v1/events',
    summary: `Journal a batch of device events (at most ${LIMITS.maxEventsPerBatch} events, ${LIMITS.maxBodyBytes} bytes of body, ${LIMITS.maxEventBytes} bytes per event); each is answered after JetStream acknowledged it`,
    tags: ['sync'],
    body: PushRequest,
    example: { events: [SAMPLE_EVENT] },
    responses: {
      200: {
        description: 'every event journaled: accepted (with its journal sequence) or duplicate (the original sequence)',
        schema: PushResponse,
        example: { results: [{ eventId: SAMPLE_EVENT.eventId, status: 'accepted', seq: 42 }] },
      },
      400: { description: 'the batch is refused whole; nothing of it was journaled', schema: ProblemSchema },
      401: { description: 'no token, or an expired, revoked, malformed or wrongly signed one', schema: ProblemSchema },
      403: {
        description:
          "an event names another device than the token's (`foreign-device`), or the device's role may not write an event (`write-not-allowed`, each denial named by pointer: docs/protocol.md, Roles); nothing was journaled",
        schema: ProblemSchema,
      },
      413: { description: 'body larger than the limit', schema: ProblemSchema },
      415: { description: 'not application/json', schema: ProblemSchema },
      429: { description: 'the device has too many pushes in flight, or pushed more bytes than its allowance; nothing was read or journaled (retry after Retry-After seconds)', schema: ProblemSchema },
      503: { description: 'the journal did not acknowledge every event, or this gateway holds too many pushes; retry with the same eventIds', schema: ProblemSchema },
    },
  },
  OPENAPI_ROUTE,
];
