import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STREAMS } from '@tidemark/messaging';
import { FakeDevice, count, startSlice, type SliceStack } from '@tidemark/testing';

/** What no answer may carry: Postgres's or Fastify's own words. */
const INTERNAL = /unicode escape|invalid input syntax|out of range for type|bigint|QueryFailed|FST_ERR|invalid byte sequence/i;

async function problemOf(response: Response, status: number): Promise<{ type: string; status: number; detail?: string; errors?: { pointer: string; detail: string }[]; [k: string]: unknown }> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/, text);
  assert.doesNotMatch(text, INTERNAL, 'no internal message leaks');
  const body = JSON.parse(text);
  assert.equal(body.status, status);
  assert.match(body.type, /^https:\/\/tidemark\.dev\/problems\//);
  return body;
}

const pointers = (body: { errors?: { pointer: string }[] }) => (body.errors ?? []).map((e) => e.pointer);

describe('hostile input: every answer a 4xx problem naming the pointer or limit, nothing journaled or stored', () => {
  let stack: SliceStack;
  let gateway: string;
  const journalled = async () => (await stack.js.jsm.streams.info(STREAMS.journal)).state.messages;

  before(async () => {
    stack = await startSlice(['journal-service', 'gateway']);
    gateway = stack.url('gateway');
  });
  after(async () => {
    await stack?.stop();
  });

  const pushRaw = async (body: string | Buffer, deviceId = 'hostile') =>
    fetch(`${gateway}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...(await stack.headersFor(deviceId)) }, body });
  const admin = (path: string, body: string, contentType = 'application/json') =>
    fetch(`${gateway}${path}`, { method: 'POST', headers: { 'content-type': contentType, ...stack.operatorHeaders }, body });

  it('push: NUL, lone surrogates (values nested anywhere, member names, ids) are 400 naming each pointer; nothing journaled', async () => {
    const device = new FakeDevice('hostile');
    await stack.headersFor('hostile');
    const before = await journalled();
    const good = device.upsert('annotation', 'ok', { label: 'fine' });
    const nul = device.upsert('annotation', 'n1', { label: 'a\u0000b' });
    const deep = device.upsert('annotation', 'n2', { label: { a: [1, { b: ['x', '\ud800'] }] } });
    const key = device.upsert('annotation', 'n3', { label: { 'k\udfff': 1 } });
    const response = await pushRaw(JSON.stringify({ events: [good, nul, deep, key] }));
    const body = await problemOf(response, 400);
    assert.match(body.type, /validation-failed$/);
    assert.deepEqual(pointers(body), ['/events/1/fields/label/value', '/events/2/fields/label/value/a/1/b/1', '/events/3/fields/label/value/k\udfff']);
    // The same text written as JSON escapes, as a hostile client would send it.
    const escaped = await pushRaw(
      `{"events":[${JSON.stringify({ ...device.upsert('annotation', 'n4', { label: 'x' }), eventId: undefined }).slice(0, -1)},"eventId":"1b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69","jobx":"\\u0000"}]}`,
    );
    assert.deepEqual(pointers(await problemOf(escaped, 400)), ['/events/0/jobx']);
    assert.equal(await journalled(), before, 'nothing of a refused push is journaled');
  });

  it('push: invalid UTF-8 bytes in the body are 400 malformed-json naming the byte offset; nothing journaled', async () => {
    const before = await journalled();
    const event = JSON.stringify({ events: [new FakeDevice('hostile').upsert('annotation', 'u1', { label: 'MARK' })] });
    const at = Buffer.byteLength(event.slice(0, event.indexOf('MARK')));
    const bytes = Buffer.from(event);
    bytes[at] = 0xff;
    const body = await problemOf(await pushRaw(bytes), 400);
    assert.match(body.type, /malformed-json$/);
    assert.equal(body.offset, at);
    assert.equal(await journalled(), before);
  });

  it('conflict resolution with an unstorable value is 400 naming /value; nothing journaled', async () => {
    const before = await journalled();
    const response = await fetch(`${gateway}/v1/conflicts/c1/resolve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await stack.headersFor('hostile')) },
      body: '{"pick":"value","value":"a\\u0000b"}',
    });
    assert.deepEqual(pointers(await problemOf(response, 400)), ['/value']);
    assert.equal(await journalled(), before);
  });

  it('admin: NUL or a lone surrogate in a device label or reason, a workspace name, an operator token reason is 400; nothing stored', async () => {
    const devices = () => count(stack.db, 'SELECT count(*) AS n FROM devices');
    const before = await devices();
    assert.deepEqual(pointers(await problemOf(await admin('/v1/admin/workspaces/default/devices', JSON.stringify({ deviceId: 'evil-1', label: 'a\u0000b' })), 400)), ['/label']);
    assert.deepEqual(pointers(await problemOf(await admin('/v1/admin/workspaces/default/devices', JSON.stringify({ deviceId: 'evil-2', reason: 'why\u0000' })), 400)), ['/reason']);
    assert.deepEqual(pointers(await problemOf(await admin('/v1/admin/workspaces', JSON.stringify({ workspace: 'evil', name: 'n\u0000' })), 400)), ['/name']);
    assert.deepEqual(pointers(await problemOf(await admin('/v1/admin/operator-tokens', JSON.stringify({ name: 'evil', roles: ['ops'], reason: '\ud800' })), 400)), ['/reason']);
    await stack.headersFor('victim');
    assert.deepEqual(pointers(await problemOf(await admin('/v1/admin/workspaces/default/devices/victim/revoke', JSON.stringify({ reason: 'x\u0000' })), 400)), ['/reason']);
    assert.equal(await devices(), before + 1, 'only the victim was registered');
    assert.equal(await count(stack.db, "SELECT count(*) AS n FROM workspaces WHERE workspace = 'evil'"), 0);
  });

  it('admin routes refuse form and plain-text bodies with 415', async () => {
    const before = await count(stack.db, 'SELECT count(*) AS n FROM devices');
    const body = await problemOf(await admin('/v1/admin/workspaces/default/devices', 'deviceId=form-1', 'application/x-www-form-urlencoded'), 415);
    assert.match(body.type, /unsupported-media-type$/);
    await problemOf(await admin('/v1/admin/workspaces', 'workspace=plain', 'text/plain'), 415);
    assert.equal(await count(stack.db, 'SELECT count(*) AS n FROM devices'), before, 'nothing registered');
  });

  it('a cursor beyond bigint is 400 on a pull and on a live stream, never 500 or an error event', async () => {
    const headers = await stack.headersFor('hostile');
    const pull = await problemOf(await fetch(`${gateway}/v1/changes?after=9999999999999999999`, { headers }), 400);
    assert.deepEqual(pointers(pull), ['query:after']);
    const stream = await problemOf(await fetch(`${gateway}/v1/changes/stream`, { headers: { ...headers, 'last-event-id': '9999999999999999999' } }), 400);
    assert.deepEqual(pointers(stream), ['header:last-event-id']);
    assert.deepEqual(pointers(await problemOf(await fetch(`${gateway}/v1/changes/stream?after=9999999999999999999`, { headers }), 400)), ['query:after']);
  });

  it('NUL in a query parameter or path segment is 400 naming it', async () => {
    const headers = await stack.headersFor('hostile');
    assert.deepEqual(pointers(await problemOf(await fetch(`${gateway}/v1/conflicts?entityId=a%00b`, { headers }), 400)), ['query:entityId']);
    assert.deepEqual(pointers(await problemOf(await fetch(`${gateway}/v1/conflicts/a%00b`, { headers }), 400)), ['path:id']);
  });

  it('a path parameter over 256 characters is 414 problem+json naming the limit', async () => {
    const body = await problemOf(await fetch(`${gateway}/v1/conflicts/${'x'.repeat(300)}`, { headers: await stack.headersFor('hostile') }), 414);
    assert.deepEqual(body.limit, { name: 'pathParamChars', value: 256 });
    await problemOf(await fetch(`${gateway}/v1/admin/workspaces/${'w'.repeat(300)}/devices`, { headers: stack.operatorHeaders }), 414);
  });
});
