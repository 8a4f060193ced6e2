import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';
import { MESSAGE_PAYLOADS, SCHEMA_VERSION_HEADER, validateMessage, type PublishedMessage } from '@tidemark/contracts';
import { ASYNCAPI_EXAMPLES, STREAMS } from '@tidemark/messaging';
import { journalAsyncApi } from './asyncapi';

type Doc = {
  asyncapi: string;
  channels: Record<string, { address: string; parameters?: Record<string, unknown>; messages: Record<string, { $ref: string }>; 'x-tidemark-delivery': Record<string, unknown> }>;
  operations: Record<string, { action: string; channel: { $ref: string } }>;
  components: {
    messages: Record<string, { headers: { properties: Record<string, unknown>; required: string[] }; payload: { $ref: string }; examples: { headers: Record<string, string>; payload: unknown }[] }>;
    schemas: Record<string, unknown>;
  };
};

const repoRoot = join(__dirname, '..', '..', '..');
const doc = journalAsyncApi({ partitions: 4, duplicateWindowMs: 120_000, replicas: 3 }) as Doc;

describe('the AsyncAPI document of the published messages', () => {
  it('is a valid AsyncAPI 3.0 document by @asyncapi/parser (schema and semantic rules), with no error or warning', async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
    // The parser only suggests moving to the newest minor version (3.1); everything else is a finding.
    const findings = diagnostics.filter((d) => d.severity <= DiagnosticSeverity.Warning && d.code !== 'asyncapi-latest-version');
    assert.deepEqual(
      findings.map((d) => `${d.code} ${d.message} at ${d.path.join('/')}`),
      [],
    );
    assert.ok(document, 'the parser built a document');
    assert.equal(document.version(), '3.0.0');
    assert.deepEqual(
      document
        .channels()
        .all()
        .map((c) => c.address())
        .sort(),
      [
        'tm.assets.{workspace}.{status}.{sha256}',
        'tm.merged.{workspace}.{entityType}.{entityId}',
        'tm.notice.committed.{workspace}',
        'tm.review.{workspace}.opened.{entityType}.{entityId}',
        'tm.review.{workspace}.resolved.{entityType}.{entityId}',
      ],
    );
    assert.equal(document.operations().all().length, 5);
    assert.deepEqual(
      document
        .channels()
        .all()
        .find((c) => c.address()?.includes('.resolved.'))
        ?.messages()
        .all()
        .map((m) => m.name()),
      ['ConflictResolved', 'ConflictWithdrawn'],
      'REVIEW’s resolved subject carries resolutions and withdrawals',
    );
    assert.ok(
      document
        .operations()
        .all()
        .every((o) => o.action() === 'receive'),
    );
  });

  it('a document the parser refuses is reported (the validation can fail)', async () => {
    const broken = { ...doc, channels: { ...doc.channels, mergedChange: { ...doc.channels.mergedChange, address: 'tm.merged.{workspace}.{entityType}.{entityId}', parameters: {} } } };
    const { diagnostics } = await new Parser().parse(JSON.stringify(broken));
    assert.ok(
      diagnostics.some((d) => d.severity === DiagnosticSeverity.Error),
      'parameters missing from the address are an error',
    );
  });

  it('names the stream, retention and dedupe window of each channel from the topology it is given', () => {
    const delivery = (id: string) => doc.channels[id]!['x-tidemark-delivery'];
    assert.equal(delivery('mergedChange').stream, STREAMS.merged);
    assert.equal(delivery('mergedChange').maxAgeSeconds, 30 * 86_400);
    assert.equal(delivery('conflictOpened').stream, STREAMS.review);
    assert.equal(delivery('conflictResolved').maxAgeSeconds, null, 'REVIEW keeps its messages');
    assert.equal(delivery('assetTransition').stream, STREAMS.assets);
    for (const id of ['mergedChange', 'conflictOpened', 'conflictResolved', 'assetTransition']) {
      assert.equal(delivery(id).duplicateWindowSeconds, 120);
      assert.equal(delivery(id).replicas, 3);
      assert.equal(delivery(id).dedupeHeader, 'Nats-Msg-Id');
    }
    assert.equal(delivery('committedNotice').stream, null);
  });

  it('carries each message’s payload schema as published, a schema-version header, and examples that validate', () => {
    for (const [name, message] of Object.entries(doc.components.messages)) {
      const schemaName = message.payload.$ref.split('/').at(-1)!;
      assert.deepEqual(doc.components.schemas[schemaName], JSON.parse(JSON.stringify(MESSAGE_PAYLOADS[name as PublishedMessage])));
      assert.ok(message.headers.required.includes(SCHEMA_VERSION_HEADER), name);
      for (const example of message.examples) {
        assert.equal(example.headers[SCHEMA_VERSION_HEADER], message.headers.properties[SCHEMA_VERSION_HEADER] && (message.headers.properties[SCHEMA_VERSION_HEADER] as { const: string }).const);
        const checked = validateMessage(name as PublishedMessage, example.payload);
        assert.ok(checked.ok, `${name} example: ${JSON.stringify(checked)}`);
      }
    }
    assert.deepEqual(Object.keys(doc.components.messages).sort(), Object.keys(MESSAGE_PAYLOADS).sort(), 'every published message is documented');
    assert.deepEqual(new Set(ASYNCAPI_EXAMPLES.map((e) => e.message)), new Set(Object.keys(MESSAGE_PAYLOADS)), 'every message has an example');
  });

  it('is committed up to date as docs/asyncapi.json (node tools/asyncapi.mjs --check)', () => {
    execFileSync(process.execPath, ['tools/asyncapi.mjs', '--check'], { cwd: repoRoot, stdio: 'pipe' });
  });
});
