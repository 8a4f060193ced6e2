import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fastifyCors, type FastifyCorsOptions } from '@fastify/cors';
import { ProblemType, problem } from '@tidemark/contracts';
import { sendProblem } from './problem-filter';

/**
 * Browser access (CORS, https://fetch.spec.whatwg.org/#http-cors-protocol) to a device-facing service, by
 * `@fastify/cors` with tidemark's policy:
 *
 * - only the configured origins (exact match; `*` for any), answered with the request's origin and `Vary: Origin`;
 * - credentials are bearer headers (`Authorization`), never cookies: `Access-Control-Allow-Credentials` is not sent;
 * - the request headers the device protocol and tus 1.0 use are allowed, and the answer headers a client must read
 *   (tus offsets, `Location`, `ETag`, `Retry-After` …) are exposed;
 * - a preflight from an origin not in the list is answered 403 problem+json naming the origin and the variable
 *   (a browser hides that body from the page, but shows it in its network panel; curl shows it too). An actual
 *   request from such an origin is served without CORS headers, so the browser withholds the answer: with
 *   bearer tokens and no cookies a foreign page has no credentials to use.
 */
export interface CorsOptions {
  /** Allowed origins as browsers send them (`https://app.example.com`); `['*']`: any; empty: none. */
  origins: readonly string[];
  /** The configuration variable that lists them, named in refusals (`CORS_ORIGINS`). */
  variable: string;
}

/** Methods a browser may use: the device protocol's and tus 1.0's (POST, HEAD, PATCH, DELETE, OPTIONS). */
export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Request headers a page may send: the bearer token, content negotiation, live streams and tus 1.0. */
export const CORS_ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Accept',
  'Cache-Control',
  'If-None-Match',
  'Last-Event-ID',
  'Tus-Resumable',
  'Upload-Length',
  'Upload-Offset',
  'Upload-Metadata',
  'Upload-Defer-Length',
  'Upload-Concat',
  'Upload-Checksum',
  'X-HTTP-Method-Override',
  'X-Request-ID',
  'traceparent',
  'tracestate',
] as const;

/** Answer headers a page may read (beyond the CORS-safelisted ones such as Content-Type and Content-Length). */
export const CORS_EXPOSED_HEADERS = [
  'Location',
  'ETag',
  'Content-Range',
  'Retry-After',
  'WWW-Authenticate',
  'Tus-Resumable',
  'Tus-Version',
  'Tus-Extension',
  'Tus-Max-Size',
  'Tus-Checksum-Algorithm',
  'Upload-Offset',
  'Upload-Length',
  'Upload-Expires',
  'Upload-Defer-Length',
  'Upload-Metadata',
] as const;

/** How long a browser may cache a preflight answer (Chromium caps it at 7200 s). */
export const CORS_MAX_AGE_SECONDS = 600;

/** `CORS_ORIGINS` as a list: comma-separated, lower-cased (browsers send scheme and host in lower case). */
export function parseCorsOrigins(value: string): string[] {
  return value
    .split(',')
    .map((origin) => origin.trim().toLowerCase())
    .filter((origin) => origin !== '');
}

/** A CORS preflight: OPTIONS with an Origin and the method the page wants to use (a tus OPTIONS discovery is not one). */
function isPreflight(request: FastifyRequest): boolean {
  return request.method === 'OPTIONS' && request.headers.origin !== undefined && request.headers['access-control-request-method'] !== undefined;
}

/**
 * Registers the policy on a Fastify instance before its routes: the refusal hook first, then `@fastify/cors`
 * (whose hook answers allowed preflights before authentication, and adds the headers to every other answer,
 * errors included).
 */
export async function registerCors(fastify: FastifyInstance, options: CorsOptions): Promise<void> {
  const any = options.origins.includes('*');
  const allowed = new Set(options.origins);
  const isAllowed = (origin: string): boolean => any || allowed.has(origin);

  fastify.addHook('onRequest', async (request, reply) => {
    if (!isPreflight(request)) return;
    const origin = String(request.headers.origin);
    if (isAllowed(origin)) return;
    const listed = options.origins.length === 0 ? `${options.variable} is empty: no browser origin may call this service` : `${options.variable} allows ${options.origins.join(', ')}`;
    sendProblem(
      reply,
      problem(ProblemType.forbidden, 403, 'Origin not allowed', {
        detail: `a browser page on ${origin} may not call this service: ${listed}. Add the origin to ${options.variable} (scheme://host[:port], as the browser sends it) to allow it.`,
        instance: request.url,
        origin,
        variable: options.variable,
        errors: [{ pointer: 'header:origin', detail: `${origin} is not in ${options.variable}` }],
      }),
    );
    return reply;
  });

  const policy: Omit<FastifyCorsOptions, 'delegator'> = {
    origin: (origin, callback) => callback(null, origin !== undefined && isAllowed(origin)),
    methods: [...CORS_METHODS],
    allowedHeaders: [...CORS_ALLOWED_HEADERS],
    exposedHeaders: [...CORS_EXPOSED_HEADERS],
    credentials: false,
    maxAge: CORS_MAX_AGE_SECONDS,
    strictPreflight: true,
  };
  const tusDiscovery = { ...policy, preflight: false };
  // Per request: only a real preflight is answered by the plugin; any other OPTIONS (tus discovery) reaches its route.
  await fastify.register(fastifyCors, { delegator: (request, callback) => callback(null, isPreflight(request) ? policy : tusDiscovery) });
}
