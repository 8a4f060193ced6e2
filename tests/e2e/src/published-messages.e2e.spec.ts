import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { SCHEMA_VERSION_HEADER, MESSAGE_SCHEMA_VERSIONS, validateMessage, type PublishedMessage } from '@tidemark/contracts';
import { STREAMS, type Subscription } from '@tidemark/messaging';
import { FakeDevice, bucketEnv, eventually, startSlice, testBucket, type SliceStack } from '@tidemark/testing';

/**
 * The published messages against their published description. A real stack (journal-service, merge-service,
 * gateway, asset-service) is driven to produce an applied change, a conflict opened and resolved, asset lifecycle
 * transitions and commit notices; every message the MERGED, REVIEW and ASSETS streams then hold, and every commit
 * notice seen, is matched to its channel of the AsyncAPI document journal-service serves and checked: its
 * subject against the channel's address and parameters, its headers against the message's headers schema, its
 * payload against the document's schema and against the contract's validator. A stream that produced nothing
 * fails the test.
 */

type Schema = Record<string, unknown>;
type AsyncApi = {
  channels: Record<string, { address: string; parameters?: Record<string, { enum?: string[] }>; messages: Record<string, { $ref: string }>; 'x-tidemark-delivery': { stream: string | null } }>;
  components: { schemas: Record<string, Schema>; messages: Record<string, { headers: Schema; payload: { $ref: string } }> };
};
interface Seen {
  subject: string;
  headers: Record<string, string>;
  body: string;
  /** The stream it was read from; null for core NATS. */
  stream: string | null;
}

const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest();
const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');

/** The channel of the document whose address (parameters as one subject token each, within their enum) matches the subject. */
function channelOf(doc: AsyncApi, subject: string): { id: string; messages: string[] } | undefined {
  for (const [id, channel] of Object.entries(doc.channels)) {
    const names: string[] = [];
    const pattern = channel.address.replace(/\./g, '\\.').replace(/\{(\w+)\}/g, (_m, name: string) => {
      names.push(name);
      return '([^.]+)';
    });
    const match = new RegExp(`^${pattern}$`).exec(subject);
    if (!match) continue;
    const inEnum = names.every((name, i) => channel.parameters?.[name]?.enum?.includes(match[i + 1]!) ?? true);
    if (inEnum) return { id, messages: Object.keys(channel.messages) };
  }
  return undefined;
}

describe('published messages match the AsyncAPI document and the contract schemas', () => {
  let stack: SliceStack;
  let doc: AsyncApi;
  let notices: Subscription;
  const seenNotices: Seen[] = [];
  const seed = new FakeDevice('seed');
  const tablet = new FakeDevice('tablet-a');
  const laptop = new FakeDevice('laptop-b');
  const camera = new FakeDevice('camera');
  const bytes = randomBytes(64 * 1024);
  const sha = digest(bytes).toString('hex');

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway']);
    const bucket = await testBucket('published-messages');
    await stack.start('asset-service', bucketEnv(bucket));
    notices = stack.js.nc.subscribe('tm.notice.committed.>');
    void (async () => {
      for await (const m of notices) {
        const headers: Record<string, string> = {};
        for (const key of m.headers?.keys() ?? []) headers[key] = m.headers!.get(key);
        seenNotices.push({ subject: m.subject, headers, body: m.string(), stream: null });
      }
    })();
    const response = await fetch(`${stack.url('journal-service')}/v1/asyncapi.json`);
    assert.equal(response.status, 200);
    doc = (await response.json()) as AsyncApi;
  });
  after(async () => {
    notices?.unsubscribe();
    await stack?.stop();
  });

  /** Every message a stream holds, oldest first. */
  async function streamMessages(stream: string): Promise<Seen[]> {
    const info = await stack.js.jsm.streams.info(stream);
    const out: Seen[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await stack.js.jsm.streams.getMessage(stream, { seq });
      if (!m) continue;
      const headers: Record<string, string> = {};
      for (const key of m.header?.keys() ?? []) headers[key] = m.header.get(key);
      out.push({ subject: m.subject, headers, body: m.string(), stream });
    }
    return out;
  }

  it('produces an applied change, a conflict opened and resolved, and an asset upload', async () => {
    for (const event of [
      seed.upsert('annotation', 'img-1', { confidence: 0.5 }),
      tablet.upsert('annotation', 'img-1', { label: 'cat' }, 0),
      laptop.upsert('annotation', 'img-1', { label: 'dog' }, 0),
    ]) {
      assert.equal((await stack.push([event])).status, 200);
    }
    const viewer = await stack.headersFor('viewer');
    const { conflicts } = await eventually(
      async () => {
        const page = await stack.get<{ conflicts: { id: string }[] }>('/v1/conflicts', 'viewer');
        assert.equal(page.conflicts.length, 1, 'the concurrent label edit opened a conflict');
        return page;
      },
      { message: 'the conflict to be projected' },
    );
    const resolved = await fetch(`${stack.url('gateway')}/v1/conflicts/${encodeURIComponent(conflicts[0]!.id)}/resolve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...viewer },
      body: JSON.stringify({ pick: 'value', value: 'lynx' }),
    });
    assert.equal(resolved.status, 202, await resolved.text());

    const uploader = await stack.headersFor(camera.deviceId);
    const tus = (url: string, method: string, headers: Record<string, string>, body?: Buffer) =>
      fetch(url, { method, headers: { 'tus-resumable': '1.0.0', ...uploader, ...headers }, body: body ? new Uint8Array(body) : undefined });
    const created = await tus(`${stack.url('asset-service')}/v1/uploads`, 'POST', {
      'upload-length': String(bytes.length),
      'upload-metadata': `sha256 ${b64(digest(bytes).toString('base64'))},contentType ${b64('image/png')},filename ${b64('pier.png')}`,
    });
    assert.equal(created.status, 201);
    const url = new URL(created.headers.get('location')!, stack.url('asset-service')).href;
    assert.equal((await tus(url, 'PATCH', { 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, bytes)).status, 204);
  });

  it('publishes on every stream, each message on a documented channel with the documented headers and payload', async () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    for (const [name, schema] of Object.entries(doc.components.schemas)) ajv.addSchema(schema, `#/components/schemas/${name}`);
    const validators = new Map<string, { headers: ValidateFunction; payload: ValidateFunction }>();
    const validatorsOf = (message: string) => {
      if (!validators.has(message)) {
        const m = doc.components.messages[message]!;
        validators.set(message, { headers: ajv.compile(m.headers), payload: ajv.compile({ $ref: m.payload.$ref }) });
      }
      return validators.get(message)!;
    };

    // Wait until each stream holds what the actions above must produce (the outboxes publish after their commits).
    const held = await eventually(
      async () => {
        const [merged, review, assets] = await Promise.all([streamMessages(STREAMS.merged), streamMessages(STREAMS.review), streamMessages(STREAMS.assets)]);
        assert.equal(merged.length, 4, `MERGED holds the three pushes and the resolution (has ${merged.length})`);
        assert.deepEqual(
          review.map((m) => m.subject.split('.')[3]),
          ['opened', 'resolved'],
          'REVIEW holds the conflict opened, then resolved',
        );
        assert.ok(
          assets.some((m) => m.subject === `tm.assets.default.verified.${sha}`),
          'ASSETS holds the upload verified',
        );
        assert.ok(seenNotices.length > 0, 'a commit notice was seen');
        return { merged, review, assets };
      },
      { message: 'every stream to hold the messages of the actions', timeoutMs: 30_000 },
    );

    const byChannel = new Map<string, number>();
    for (const seen of [...held.merged, ...held.review, ...held.assets, ...seenNotices]) {
      const where = `${seen.stream ?? 'core NATS'} ${seen.subject}`;
      const channel = channelOf(doc, seen.subject);
      assert.ok(channel, `${where}: no channel of the document matches the subject`);
      assert.equal(doc.channels[channel.id]!['x-tidemark-delivery'].stream, seen.stream, `${where}: the document names the stream it lives in`);
      const payload = JSON.parse(seen.body) as unknown;
      // The channel's message this one is (REVIEW's resolved subject carries two): the one whose payload schema it meets.
      const problems: string[] = [];
      const message = channel.messages.find((name) => {
        const check = validatorsOf(name);
        if (check.payload(payload)) return true;
        problems.push(`${name}: ${ajv.errorsText(check.payload.errors)}`);
        return false;
      });
      assert.ok(message, `${where}: payload ${seen.body} is none of the channel's messages: ${problems.join('; ')}`);
      byChannel.set(`${channel.id}/${message}`, (byChannel.get(`${channel.id}/${message}`) ?? 0) + 1);
      // Headers: the documented ones are required as documented (others, such as trace context, may ride along).
      const headers = validatorsOf(message).headers;
      assert.ok(headers(seen.headers), `${where}: headers ${JSON.stringify(seen.headers)}: ${ajv.errorsText(headers.errors)}`);
      const contract = validateMessage(message as PublishedMessage, payload);
      assert.ok(contract.ok, `${where}: contract schema: ${JSON.stringify(contract)}`);
      assert.equal(seen.headers[SCHEMA_VERSION_HEADER], String(MESSAGE_SCHEMA_VERSIONS[message as keyof typeof MESSAGE_SCHEMA_VERSIONS]));
    }
    // Every channel carried a message (a conflict withdrawn needs an operator's replay: the replay test checks those).
    assert.deepEqual([...byChannel.keys()].sort(), [
      'assetTransition/assetTransition',
      'committedNotice/committedNotice',
      'conflictOpened/conflictOpened',
      'conflictResolved/conflictResolved',
      'mergedChange/mergedChange',
    ]);

    // The payloads say what happened (a schema alone would accept a message about something else).
    const last = JSON.parse(held.merged.at(-1)!.body) as { view: { values: Record<string, unknown> }; entity: { id: string } };
    assert.equal(last.entity.id, 'img-1');
    assert.equal(last.view.values.label, 'lynx');
    const statuses = held.assets.map((m) => (JSON.parse(m.body) as { status: string }).status);
    assert.deepEqual(statuses.slice(0, 3), ['pending', 'uploading', 'verified']);
    const noticed = new Set(seenNotices.flatMap((n) => (JSON.parse(n.body) as { keys?: string[] }).keys ?? []));
    assert.ok(noticed.has('annotation'), `the commit notices name the scope keys of the committed changes: ${[...noticed].join(', ')}`);
  });
});
