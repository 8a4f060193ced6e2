// One trace follows an event from the HTTP push through the journal into the Postgres transaction.
// Telemetry starts before anything loads http or pg (as each app's instrument.ts does), so the apps
// run in this process with an in-memory span exporter.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SpanKind } from '@opentelemetry/api';
import { startTelemetry } from '@tidemark/telemetry';

const exporter = new InMemorySpanExporter();
startTelemetry({ serviceName: 'tidemark-e2e', spanProcessors: [new SimpleSpanProcessor(exporter)] });

describe('OpenTelemetry across HTTP → NATS → Postgres', () => {
  const closers: (() => Promise<void>)[] = [];
  let gatewayUrl = '';
  let deviceHeaders: Record<string, string> = {};

  before(async () => {
    const { testNats, testDatabase, testIdentity } = await import('@tidemark/testing');
    const { findFreePort } = await import('@tidemark/local-stack');
    const { startJournalService, loadJournalServiceConfig } = await import('@tidemark/journal-service');
    const { startMergeService, loadMergeServiceConfig } = await import('@tidemark/merge-service');
    const { startGateway, loadGatewayConfig } = await import('@tidemark/gateway');
    const nats = await testNats();
    const db = await testDatabase('tracing');
    const identity = testIdentity(db.url);
    closers.push(
      () => identity.close(),
      () => db.drop(),
      () => nats.stop(),
    );
    const env = { NATS_URL: nats.url, DATABASE_URL: db.url, LOG_LEVEL: 'warn', JOURNAL_PARTITIONS: '2', AUTH_SIGNING_KEYS: identity.signingKeys };
    const journal = await startJournalService(loadJournalServiceConfig({ ...env, HTTP_PORT: String(await findFreePort()) }));
    const merge = await startMergeService(loadMergeServiceConfig({ ...env, HTTP_PORT: String(await findFreePort()) }));
    const gateway = await startGateway(loadGatewayConfig({ ...env, HTTP_PORT: String(await findFreePort()) }));
    closers.unshift(
      () => gateway.close(),
      () => merge.close(),
      () => journal.close(),
    );
    gatewayUrl = gateway.url;
    // Registered once the services have migrated the database, before the spans the test looks at.
    deviceHeaders = await identity.headersFor('trace-dev');
  });

  after(async () => {
    for (const close of closers) await close().catch(() => undefined);
  });

  it('puts the push, the publish, the projection batch and its SQL in one trace', async () => {
    const { FakeDevice, push, eventually } = await import('@tidemark/testing');
    exporter.reset();
    const device = new FakeDevice('trace-dev');
    const result = await push(
      gatewayUrl,
      [device.upsert('annotation', 'traced', { label: 'owl' }), device.upsert('annotation', 'traced-2', { label: 'fox' }), device.upsert('annotation', 'traced-3', { label: 'elk' })],
      deviceHeaders,
    );
    assert.equal(result.status, 200);

    const found = await eventually(
      () => {
        const spans = exporter.getFinishedSpans();
        const server = spans.find((s) => s.kind === SpanKind.SERVER && JSON.stringify(s.attributes).includes('/v1/events'));
        assert.ok(server, 'an HTTP server span for the push');
        const inTrace = spans.filter((s) => s.spanContext().traceId === server.spanContext().traceId);
        const publish = inTrace.find((s) => s.kind === SpanKind.PRODUCER && s.name.startsWith('publish tm.journal'));
        const consume = inTrace.find((s) => s.kind === SpanKind.CONSUMER && s.name.startsWith('process merge-'));
        assert.ok(publish, 'a producer span for the journal publish in the same trace');
        assert.ok(consume, 'a consumer span for the projection batch in the same trace');
        const sql = inTrace.filter((s) => s.attributes['db.system'] === 'postgresql' || s.attributes['db.system.name'] === 'postgresql');
        const underConsume = sql.filter((s) => descendsFrom(s, consume, inTrace));
        assert.ok(
          underConsume.some((s) => /INSERT/i.test(String(s.attributes['db.statement'] ?? s.attributes['db.query.text'] ?? s.name))),
          'the projection SQL ran inside the consumer span',
        );
        return { server, publish, consume };
      },
      { timeoutMs: 15_000 },
    );
    assert.ok(descendsFrom(found.publish, found.server, exporter.getFinishedSpans()), 'the publish happened inside the HTTP request');
    // One span per push, not per event: the batch's publishes are one PRODUCER span counting them.
    const publishes = exporter
      .getFinishedSpans()
      .filter((s) => s.spanContext().traceId === found.server.spanContext().traceId && s.kind === SpanKind.PRODUCER && s.name.startsWith('publish tm.journal'));
    assert.equal(publishes.length, 1, publishes.map((s) => s.name).join(', '));
    assert.equal(publishes[0]!.attributes['messaging.batch.message_count'], 3);
  });
});

function parentId(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

function descendsFrom(span: ReadableSpan, ancestor: ReadableSpan, all: ReadableSpan[]): boolean {
  const byId = new Map(all.map((s) => [s.spanContext().spanId, s]));
  let current: ReadableSpan | undefined = span;
  for (let hops = 0; current && hops < 50; hops++) {
    const parent = parentId(current);
    if (!parent) return false;
    if (parent === ancestor.spanContext().spanId) return true;
    current = byId.get(parent);
  }
  return false;
}
