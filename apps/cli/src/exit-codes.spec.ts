import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommanderError } from 'commander';
import { ApiError, OpsClient, UnreachableError, asProblem } from './client';
import { EXIT, EXIT_CODES_HELP, failureOf } from './exit-codes';

const problem = (status: number, extra: Record<string, unknown> = {}) => ({ type: 'https://tidemark.dev/problems/validation-failed', title: 'Validation failed', status, ...extra });

/** A fetch answering one fixed response (or failing). */
const answering =
  (status: number, body: string, contentType = 'application/json'): typeof fetch =>
  async () =>
    new Response(body, { status, headers: { 'content-type': contentType } });

describe('exit codes', () => {
  it('a 4xx refusal is 1 with title, detail and every pointer: detail', () => {
    const error = new ApiError(
      400,
      problem(400, {
        detail: 'nothing of this request was journaled',
        errors: [
          { pointer: '/reason', detail: 'is required' },
          { pointer: 'query:limit', detail: 'must be ≤ 500' },
        ],
      }),
      {},
    );
    assert.deepEqual(failureOf(error), { code: EXIT.refused, lines: ['Validation failed (400)', '  nothing of this request was journaled', '  /reason: is required', '  query:limit: must be ≤ 500'] });
    assert.equal(failureOf(new ApiError(401, { type: 't', title: 'Unauthorized', status: 401, detail: 'no bearer token' }, {})).code, EXIT.refused);
    assert.equal(failureOf(new ApiError(409, { type: 't', title: 'Not parked', status: 409 }, {})).code, EXIT.refused);
  });

  it('a 5xx answer or no answer is 3', () => {
    assert.equal(failureOf(new ApiError(503, { type: 't', title: 'Streams unavailable', status: 503 }, {})).code, EXIT.unavailable);
    assert.deepEqual(failureOf(new UnreachableError('http://127.0.0.1:3005', 'connect ECONNREFUSED 127.0.0.1:3005')), {
      code: EXIT.unavailable,
      lines: ['cannot reach ops-api at http://127.0.0.1:3005: connect ECONNREFUSED 127.0.0.1:3005'],
    });
  });

  it('commander’s own errors are usage errors (2); help and --version are not failures', () => {
    assert.deepEqual(failureOf(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--bogus'")), { code: EXIT.usage, lines: [] });
    assert.equal(failureOf(new CommanderError(1, 'commander.help', '(outputHelp)')).code, EXIT.usage, 'help shown because no command was given');
    assert.equal(failureOf(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)')).code, EXIT.ok);
    assert.equal(failureOf(new CommanderError(0, 'commander.version', '0.1.0')).code, EXIT.ok);
  });

  it('anything else is a bug of the CLI (70), with its stack', () => {
    const failure = failureOf(new TypeError('x is undefined'));
    assert.equal(failure.code, EXIT.internal);
    assert.match(failure.lines[0]!, /^internal error: TypeError: x is undefined/);
  });

  it('the help text states every code', () => {
    for (const code of Object.values(EXIT)) assert.match(EXIT_CODES_HELP, new RegExp(`^ {2}${code} +\\S`, 'm'), String(code));
  });
});

describe('client', () => {
  const client = (f: typeof fetch, token?: string) => new OpsClient({ baseUrl: 'http://ops:3005', timeoutMs: 1000, fetch: f, ...(token ? { token } : {}) });

  it('sends the token, a JSON body, and answers the parsed document', async () => {
    let seen: { url: string; init: RequestInit } | undefined;
    const ok = await client(async (url, init) => {
      seen = { url: String(url), init: init! };
      return new Response('{"journalSeq":9}', { status: 202 });
    }, 'tok').send({ method: 'POST', path: '/v1/parked/merge-p01/3/redrive', body: { reason: 'r' } });
    assert.deepEqual(ok, { journalSeq: 9 });
    assert.equal(seen!.url, 'http://ops:3005/v1/parked/merge-p01/3/redrive');
    assert.equal(seen!.init.method, 'POST');
    assert.equal(seen!.init.body, '{"reason":"r"}');
    assert.deepEqual([(seen!.init.headers as Record<string, string>).authorization, (seen!.init.headers as Record<string, string>)['content-type']], ['Bearer tok', 'application/json']);
  });

  it('without a token sends no authorization header', async () => {
    let headers: Record<string, string> = {};
    await client(async (_url, init) => {
      headers = init!.headers as Record<string, string>;
      return new Response('{}');
    }).send({ method: 'GET', path: '/v1/overview' });
    assert.equal(headers.authorization, undefined);
    assert.equal(headers['content-type'], undefined);
  });

  it('an error status throws ApiError with the problem and the document', async () => {
    const body = JSON.stringify(problem(400, { errors: [{ pointer: '/reason', detail: 'is required' }] }));
    await assert.rejects(
      client(answering(400, body, 'application/problem+json')).send({ method: 'GET', path: '/x' }),
      (e: unknown) => e instanceof ApiError && e.status === 400 && e.problem.errors?.[0]?.pointer === '/reason' && (e.document as { status: number }).status === 400,
    );
  });

  it('a non-problem error answer becomes a problem with its status text and body', () => {
    assert.deepEqual(asProblem(502, 'Bad Gateway', undefined, '<html>upstream down</html>'), { type: 'about:blank', title: 'Bad Gateway', status: 502, detail: '<html>upstream down</html>' });
    assert.deepEqual(asProblem(404, '', { message: 'Cannot GET /v2', statusCode: 404 }, ''), { type: 'about:blank', title: 'HTTP 404', status: 404, detail: 'Cannot GET /v2' });
  });

  it('a refused connection, a timeout and a 200 without JSON are UnreachableError', async () => {
    const refused: typeof fetch = async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3005'), { code: 'ECONNREFUSED' }) });
    };
    await assert.rejects(client(refused).send({ method: 'GET', path: '/v1/overview' }), (e: unknown) => e instanceof UnreachableError && e.reason === 'connect ECONNREFUSED 127.0.0.1:3005');
    const slow: typeof fetch = async () => {
      throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    };
    await assert.rejects(client(slow).send({ method: 'GET', path: '/v1/overview' }), (e: unknown) => e instanceof UnreachableError && e.reason === 'no answer within 1000 ms');
    await assert.rejects(
      client(answering(200, '<html>', 'text/html')).send({ method: 'GET', path: '/v1/overview' }),
      (e: unknown) => e instanceof UnreachableError && /answered 200 without JSON \(is this ops-api\?\)/.test(e.reason),
    );
  });
});
