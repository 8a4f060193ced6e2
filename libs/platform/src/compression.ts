import { promisify } from 'node:util';
import { brotliCompress, constants, createBrotliCompress, createGzip, gzip, type BrotliCompress, type Gzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** A content coding tidemark answers in (RFC 9110 §8.4.1): Brotli (RFC 7932) or gzip (RFC 1952). */
export type AnswerEncoding = 'br' | 'gzip';

/**
 * Brotli quality 4 and gzip level 6: on change-log JSON both shrink an answer 6–10 times, and quality 4 costs
 * about what gzip does (Brotli's default, 11, is meant for static files and is many times slower).
 */
export const BROTLI_QUALITY = 4;
export const GZIP_LEVEL = 6;

/**
 * The coding to answer in, from `Accept-Encoding` (RFC 9110 §12.5.3): `br` when accepted, else `gzip`
 * (`x-gzip` and `*` count as gzip), else none. A coding with `q=0` is refused; otherwise q-values only say
 * "accepted" here, since both codings decode to the same bytes and Brotli is the smaller.
 */
export function negotiateEncoding(acceptEncoding: string | string[] | undefined): AnswerEncoding | undefined {
  const header = Array.isArray(acceptEncoding) ? acceptEncoding.join(',') : acceptEncoding;
  if (!header) return undefined;
  const accepted = new Map<string, boolean>();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    accepted.set(name, q === undefined || Number(q.slice(2)) > 0);
  }
  const wildcard = accepted.get('*');
  const takes = (name: string): boolean => accepted.get(name) ?? wildcard ?? false;
  if (takes('br')) return 'br';
  if (takes('gzip') || accepted.get('x-gzip') === true) return 'gzip';
  return undefined;
}

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/** Compresses a whole answer off the event loop. */
export function compress(body: Buffer, encoding: AnswerEncoding): Promise<Buffer> {
  return encoding === 'br' ? brotli(body, { params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }) : gzipAsync(body, { level: GZIP_LEVEL });
}

/**
 * A compressing stream for an answer written over time (a live event stream): `flush()` pushes out everything
 * written so far as decodable bytes (gzip `Z_SYNC_FLUSH`, Brotli `BROTLI_OPERATION_FLUSH`), so a frame reaches
 * the client at once while the compression context carries over between frames.
 */
export function compressingStream(encoding: AnswerEncoding): { stream: Gzip | BrotliCompress; flush(): void } {
  if (encoding === 'br') {
    const stream = createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } });
    return { stream, flush: () => stream.flush(constants.BROTLI_OPERATION_FLUSH) };
  }
  const stream = createGzip({ level: GZIP_LEVEL });
  return { stream, flush: () => stream.flush(constants.Z_SYNC_FLUSH) };
}

/** Adds a name to `Vary`, keeping what other hooks put there (CORS adds `Origin`). */
function addVary(reply: FastifyReply, name: string): void {
  const current = reply.getHeader('vary');
  const names = (Array.isArray(current) ? current.join(',') : String(current ?? ''))
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  if (names.some((n) => n === '*' || n.toLowerCase() === name.toLowerCase())) return;
  void reply.header('vary', [...names, name].join(', '));
}

export interface CompressionOptions {
  /** Routes (as declared, e.g. `/v1/changes`) whose GET answers are compressed. */
  routes: readonly string[];
  /** Answers shorter than this many bytes go uncompressed (the framing would cost more than it saves). */
  minBytes: number;
}

/**
 * Compresses the answers of the listed GET routes for clients that accept `br` or `gzip`, from `minBytes` on,
 * with `Vary: Accept-Encoding`. Request bodies are never decoded here, and other routes are untouched (push keeps
 * its byte accounting by `Content-Length`). Hand-written over Node's zlib rather than `@fastify/compress` because
 * it is limited to named routes without per-route options (routes are declared by Nest), and the live stream
 * needs a flushing encoder of its own anyway ({@link compressingStream}).
 */
export function registerCompression(fastify: FastifyInstance, options: CompressionOptions): void {
  const routes = new Set(options.routes);
  const applies = (request: FastifyRequest): boolean => request.method === 'GET' && routes.has(request.routeOptions.url ?? '');
  fastify.addHook('onSend', async (request, reply, payload) => {
    if (!applies(request)) return payload;
    addVary(reply, 'Accept-Encoding');
    if (reply.hasHeader('content-encoding') || reply.statusCode === 204 || reply.statusCode === 304) return payload;
    const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.isBuffer(payload) ? payload : undefined;
    if (!body || body.length < options.minBytes) return payload;
    const encoding = negotiateEncoding(request.headers['accept-encoding']);
    if (!encoding) return payload;
    const compressed = await compress(body, encoding);
    void reply.header('content-encoding', encoding);
    reply.removeHeader('content-length');
    return compressed;
  });
}
