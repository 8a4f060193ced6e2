import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { MAX_PATH_PARAM_CHARS, frameworkErrorProblem, refuseUnstorableUrlText, registerJsonBody, utf8ErrorOffset } from './request-text';
import { sendProblem, toProblem } from './problem-filter';
import { isVouchedStorable } from '@tidemark/contracts';

describe('utf8ErrorOffset', () => {
  it('is undefined for well-formed UTF-8 and names the first bad byte otherwise', () => {
    assert.equal(utf8ErrorOffset(Buffer.from('{"a":"émoji 🐈"}')), undefined);
    assert.equal(utf8ErrorOffset(Buffer.from([0x7b, 0x22, 0xff, 0x22])), 2);
    assert.equal(utf8ErrorOffset(Buffer.from([0x61, 0xc0, 0x80])), 1, 'overlong NUL');
    assert.equal(utf8ErrorOffset(Buffer.from([0x61, 0xed, 0xa0, 0x80])), 1, 'an encoded surrogate');
    assert.equal(utf8ErrorOffset(Buffer.from([0x61, 0x62, 0xe2, 0x82])), 2, 'truncated at the end');
    assert.equal(utf8ErrorOffset(Buffer.from([0xf4, 0x90, 0x80, 0x80])), 0, 'above U+10FFFF');
    assert.equal(utf8ErrorOffset(Buffer.from([0x61, 0x80])), 1, 'a lone continuation byte');
  });
});

async function app() {
  const fastify = Fastify({ maxParamLength: MAX_PATH_PARAM_CHARS, frameworkErrors: (error, request, reply) => sendProblem(reply, frameworkErrorProblem(error, request)) });
  fastify.setErrorHandler((error, request, reply) => sendProblem(reply, toProblem(error, request.url)));
  registerJsonBody(fastify, 1024);
  refuseUnstorableUrlText(fastify);
  fastify.post('/things/:id', async (request) => ({ got: request.body, vouched: isVouchedStorable(request.body) }));
  await fastify.ready();
  return fastify;
}

describe('the JSON body and URL of every request', () => {
  it('accepts well-formed JSON with storable text', async () => {
    const fastify = await app();
    const response = await fastify.inject({ method: 'POST', url: '/things/a', headers: { 'content-type': 'application/json; charset=utf-8' }, payload: '{"label":"chat 🐈"}' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { got: { label: 'chat 🐈' }, vouched: true }, 'a walked body is vouched for, so validators do not walk it again');
  });

  it('answers invalid UTF-8 with 400 malformed-json and the byte offset', async () => {
    const fastify = await app();
    const payload = Buffer.concat([Buffer.from('{"label":"a'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const response = await fastify.inject({ method: 'POST', url: '/things/a', headers: { 'content-type': 'application/json' }, payload });
    assert.equal(response.statusCode, 400);
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    assert.match(response.json().type, /malformed-json$/);
    assert.equal(response.json().offset, 11);
  });

  it('answers NUL and lone surrogates anywhere in the body with 400 naming each pointer', async () => {
    const fastify = await app();
    const response = await fastify.inject({ method: 'POST', url: '/things/a', headers: { 'content-type': 'application/json' }, payload: '{"a":{"b":["x\\u0000"]},"c\\ud800":1}' });
    assert.equal(response.statusCode, 400);
    assert.match(response.json().type, /validation-failed$/);
    assert.deepEqual(
      response.json().errors.map((e: { pointer: string }) => e.pointer),
      ['/a/b/0', '/c\ud800'],
    );
  });

  it('answers form, plain-text and non-UTF-8 JSON bodies 415', async () => {
    const fastify = await app();
    for (const contentType of ['application/x-www-form-urlencoded', 'text/plain', 'application/json; charset=latin1']) {
      const response = await fastify.inject({ method: 'POST', url: '/things/a', headers: { 'content-type': contentType }, payload: 'label=x' });
      assert.equal(response.statusCode, 415, contentType);
      assert.match(response.json().type, /unsupported-media-type$/);
    }
  });

  it('answers NUL in a query parameter or path segment with 400 naming it', async () => {
    const fastify = await app();
    const query = await fastify.inject({ method: 'POST', url: '/things/a?label=a%00b', headers: { 'content-type': 'application/json' }, payload: '{}' });
    assert.equal(query.statusCode, 400);
    assert.deepEqual(
      query.json().errors.map((e: { pointer: string }) => e.pointer),
      ['query:label'],
    );
    const path = await fastify.inject({ method: 'POST', url: '/things/a%00', headers: { 'content-type': 'application/json' }, payload: '{}' });
    assert.equal(path.statusCode, 400);
    assert.deepEqual(
      path.json().errors.map((e: { pointer: string }) => e.pointer),
      ['path:id'],
    );
  });

  it('answers an overlong path parameter 414 as a problem naming the limit', async () => {
    const fastify = await app();
    const response = await fastify.inject({ method: 'POST', url: `/things/${'x'.repeat(300)}`, headers: { 'content-type': 'application/json' }, payload: '{}' });
    assert.equal(response.statusCode, 414);
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    assert.deepEqual(response.json().limit, { name: 'pathParamChars', value: MAX_PATH_PARAM_CHARS });
  });
});
