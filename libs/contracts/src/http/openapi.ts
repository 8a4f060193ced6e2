import { Type, type TSchema } from '@sinclair/typebox';
import { DeviceEvent, LIMITS, PushRequest } from '../events/device-event';
import { PushResponse } from './push';
import { PROBLEM_CONTENT_TYPE } from './problem';

/** RFC 9457 problem details as tidemark sends them. */
export const ProblemSchema = Type.Object({
  type: Type.String({ format: 'uri' }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.Optional(Type.String()),
  instance: Type.Optional(Type.String()),
  errors: Type.Optional(Type.Array(Type.Object({ pointer: Type.String({ description: 'JSON pointer into the body, or query:/header:/path: and a name' }), detail: Type.String(), code: Type.Optional(Type.String({ description: 'why, where a problem type has several reasons (e.g. field-not-writable)' })) }))),
});

export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'delete' | 'head' | 'patch';
  path: string;
  summary: string;
  tags: string[];
  query?: TSchema;
  body?: TSchema;
  responses: Record<number, { description: string; schema?: TSchema }>;
  /** The token the route needs (default: a device token). */
  auth?: 'device' | 'operator' | 'admin' | 'any' | 'none';
}

const json = (schema: TSchema) => ({ 'application/json': { schema: strip(schema) } });

/** TypeBox schemas are JSON Schema plus symbol keys; a JSON round trip leaves the JSON Schema. */
function strip(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema));
}

/** Builds an OpenAPI 3.1 document from route descriptions whose schemas are the ones the services validate with. */
export function openApiDocument(title: string, version: string, routes: RouteDoc[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const parameters = [
      ...Object.entries((route.query as { properties?: Record<string, TSchema> } | undefined)?.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: false, schema: strip(schema) })),
      ...[...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
    ];
    const responses = Object.fromEntries(
      Object.entries(route.responses).map(([status, r]) => [
        status,
        { description: r.description, ...(r.schema ? { content: Number(status) >= 400 ? { [PROBLEM_CONTENT_TYPE]: { schema: strip(r.schema) } } : json(r.schema) } : {}) },
      ]),
    );
    const auth = route.auth ?? 'device';
    (paths[route.path] ??= {})[route.method] = {
      summary: route.summary,
      tags: route.tags,
      security: auth === 'none' ? [] : [{ bearer: [] }],
      'x-tidemark-token': auth,
      parameters,
      ...(route.body ? { requestBody: { required: true, content: json(route.body) } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title, version },
    paths,
    components: {
      schemas: { DeviceEvent: strip(DeviceEvent), Problem: strip(ProblemSchema) },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'a device access token (the workspace is the token\'s), or an operator token on admin routes' } },
    },
  };
}

/** The gateway's device routes. */
export const GATEWAY_ROUTES: RouteDoc[] = [
  {
    method: 'post',
    path: '/v1/events',
    summary: `Journal a batch of device events (at most ${LIMITS.maxEventsPerBatch} events, ${LIMITS.maxBodyBytes} bytes of body, ${LIMITS.maxEventBytes} bytes per event); each is answered after JetStream acknowledged it`,
    tags: ['sync'],
    body: PushRequest,
    responses: {
      200: { description: 'every event journaled: accepted (with its journal sequence) or duplicate (the original sequence)', schema: PushResponse },
      400: { description: 'the batch is refused whole; nothing of it was journaled', schema: ProblemSchema },
      401: { description: 'no token, or an expired, revoked, malformed or wrongly signed one', schema: ProblemSchema },
      403: {
        description: 'an event names another device than the token\'s (`foreign-device`), or the device\'s role may not write an event (`write-not-allowed`, each denial named by pointer: docs/protocol.md, Roles); nothing was journaled',
        schema: ProblemSchema,
      },
      413: { description: 'body larger than the limit', schema: ProblemSchema },
      415: { description: 'not application/json', schema: ProblemSchema },
      503: { description: 'the journal did not acknowledge every event; retry with the same eventIds', schema: ProblemSchema },
    },
  },
];
