import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ProblemType, findUnstorableText, problem, vouchStorableText, type InvalidParam, type Problem } from '@tidemark/contracts';
import { ProblemError, sendProblem } from './problem-filter';

/** Longest path parameter the router matches (Fastify's `maxParamLength`); a longer one is answered 414. */
export const MAX_PATH_PARAM_CHARS = 256;

/**
 * Byte offset of the first byte that does not begin a well-formed UTF-8 sequence (RFC 3629: no overlong
 * forms, no encoded surrogates, nothing above U+10FFFF, no truncated sequence), or undefined when the
 * whole buffer is well-formed.
 */
export function utf8ErrorOffset(bytes: Uint8Array): number | undefined {
  if (isUtf8(bytes)) return undefined;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    let cp: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min, cp] = [1, 0x80, b & 0x1f];
    else if (b >= 0xe0 && b <= 0xef) [need, min, cp] = [2, 0x800, b & 0x0f];
    else if (b >= 0xf0 && b <= 0xf4) [need, min, cp] = [3, 0x10000, b & 0x07];
    else return i;
    if (i + need >= bytes.length) return i; // truncated at the end
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return undefined;
}

/** 400 for a body that is not UTF-8, naming the offset of the first bad byte. */
export function invalidUtf8(offset: number): ProblemError {
  return new ProblemError(
    problem(ProblemType.malformedJson, 400, 'Malformed JSON', {
      detail: `the body is not valid UTF-8: the byte at offset ${offset} does not begin a well-formed UTF-8 sequence; JSON must be UTF-8 (RFC 8259), and nothing of this request was read further or applied`,
      errors: [{ pointer: 'body', detail: `invalid UTF-8 at byte offset ${offset}` }],
      offset,
    }),
  );
}

/** 400 naming every string of a request that cannot be stored (NUL, a lone surrogate). */
export function unstorableTextProblem(errors: InvalidParam[]): ProblemError {
  return ProblemError.validation(errors, 'the request holds text tidemark cannot store (U+0000 or a lone surrogate); nothing of it was applied or journaled');
}

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

/**
 * The JSON body parser of every service: the body is read as bytes (up to the body limit), must be
 * well-formed UTF-8 (else 400 `malformed-json` with the offset of the first bad byte, instead of the silent
 * U+FFFD a string decode would put in its place), is parsed with Fastify's own parser (prototype poisoning
 * refused), and every string in it, member names too, must be storable text (else 400 naming each pointer).
 * A charset other than UTF-8 is 415. Only JSON is parsed: form and plain-text bodies are 415.
 */
export function registerJsonBody(fastify: FastifyInstance, bodyLimit: number): void {
  fastify.removeAllContentTypeParsers();
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (request: FastifyRequest, body: Buffer | string, done: (error: Error | null, value?: unknown) => void) => {
    const charset = CHARSET.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      done(ProblemError.unsupportedMediaType(request.headers['content-type'], 'application/json (UTF-8)'));
      return;
    }
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const offset = utf8ErrorOffset(bytes);
    if (offset !== undefined) {
      done(invalidUtf8(offset));
      return;
    }
    void parseJson(request, bytes.toString('utf8'), (error: Error | null, value?: unknown) => {
      if (error) {
        done(error);
        return;
      }
      const unstorable = findUnstorableText(value);
      if (unstorable.length > 0) {
        done(unstorableTextProblem(unstorable));
        return;
      }
      // Walked once: the route's validator (compileValidator) does not walk it again.
      vouchStorableText(value);
      done(null, value);
    });
  });
}

/**
 * Query parameters and path segments hold storable text only, whatever route they reach (`%00` decodes to
 * NUL): refused with 400 naming `query:<name>` or `path:<name>` before any handler runs.
 */
export function refuseUnstorableUrlText(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', async (request) => {
    const errors: InvalidParam[] = [];
    for (const [where, values] of [
      ['query', request.query],
      ['path', request.params],
    ] as const) {
      if (values === null || typeof values !== 'object') continue;
      for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
        for (const e of findUnstorableText({ [name]: value })) errors.push({ pointer: `${where}:${e.pointer.slice(1)}`, detail: e.detail });
      }
    }
    if (errors.length > 0) throw unstorableTextProblem(errors);
  });
}

/**
 * Fastify answers a path parameter longer than `maxParamLength` (414) and a URL it cannot decode (400)
 * itself, with its own JSON; this answers them as problems naming the limit.
 */
export function frameworkErrorProblem(error: { code?: string; message?: string }, request: Pick<FastifyRequest, 'url'>): Problem {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return problem(ProblemType.uriTooLong, 414, 'URI too long', {
      detail: `a path segment is longer than ${MAX_PATH_PARAM_CHARS} characters, the limit of one path parameter`,
      limit: { name: 'pathParamChars', value: MAX_PATH_PARAM_CHARS },
      instance: request.url.slice(0, MAX_PATH_PARAM_CHARS),
    });
  }
  if (error.code === 'FST_ERR_BAD_URL')
    return problem(ProblemType.badRequest, 400, 'Bad request', {
      detail: 'the URL is not valid: a path segment is not a valid percent-encoding',
      errors: [{ pointer: 'path', detail: 'invalid percent-encoding' }],
    });
  return problem(ProblemType.badRequest, 400, 'Bad request', { detail: 'the request could not be routed' });
}

export function sendFrameworkError(error: { code?: string; message?: string }, request: FastifyRequest, reply: FastifyReply): void {
  sendProblem(reply, frameworkErrorProblem(error, request));
}
