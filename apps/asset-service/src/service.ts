import { httpTimeouts } from '@tidemark/config';
import { hostname } from 'node:os';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { TUS_CONTENT_TYPE, type AssetLimits } from '@tidemark/assets';
import { STREAMS, applyTopology, connectJetStream, journalTopology, natsCheck, OutboxRelay } from '@tidemark/messaging';
import { OutboxRepository, createDataSource, migrateWithLock, postgresCheck } from '@tidemark/persistence';
import { authFromConfig } from '@tidemark/auth';
import { openApiController, parseCorsOrigins, runService, type ReadinessCheck, type RunningService } from '@tidemark/platform';
import { createLogger } from '@tidemark/telemetry';
import type { AssetServiceConfig } from './config';
import { AssetsController, ASSETS } from './assets/assets.controller';
import { AssetsService } from './assets/assets.service';
import { Ledger } from './ledger/ledger';
import { Collector } from './lifecycle/collector';
import { S3BlobStore } from './storage/s3-blob-store';
import { createS3Client, ensureBucket } from './storage/s3';
import { LOGGER, TusController, UPLOADS } from './uploads/tus.controller';
import { UploadService } from './uploads/upload.service';
import { ASSET_OPENAPI } from './openapi';

export function assetLimits(config: AssetServiceConfig): AssetLimits {
  return {
    maxBytes: {
      image: config.ASSET_MAX_BYTES_IMAGE,
      audio: config.ASSET_MAX_BYTES_AUDIO,
      video: config.ASSET_MAX_BYTES_VIDEO,
      text: config.ASSET_MAX_BYTES_TEXT,
      application: config.ASSET_MAX_BYTES_APPLICATION,
      other: config.ASSET_MAX_BYTES_OTHER,
    },
    workspaceQuotaBytes: config.ASSET_WORKSPACE_QUOTA_BYTES,
  };
}

/**
 * tus uploads (and any body that is not JSON) reach their handlers unread: the handler streams them.
 * Fastify's own parsers, body limit included, never see an upload body.
 */
function rawBodies(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const unread = (_request: unknown, _payload: unknown, done: (error: Error | null, body?: unknown) => void) => done(null);
  fastify.addContentTypeParser(TUS_CONTENT_TYPE, unread);
  fastify.addContentTypeParser('*', unread);
}

/** Wires asset-service: tus uploads into S3 multipart, its ledger in Postgres, lifecycle events on NATS. */
export async function startAssetService(config: AssetServiceConfig): Promise<RunningService> {
  const logger = createLogger('asset-service', config.LOG_LEVEL, config.TIDEMARK_INSTANCE);
  const instance = config.TIDEMARK_INSTANCE ?? `${hostname()}:${process.pid}`;
  const s3 = createS3Client(config);
  await ensureBucket(s3, config.S3_BUCKET, config.S3_REGION);
  const store = new S3BlobStore(s3, config.S3_BUCKET, config.S3_PUBLIC_ENDPOINT ? createS3Client(config, config.S3_PUBLIC_ENDPOINT) : s3);
  const connection = await connectJetStream({ servers: config.NATS_URL, name: 'asset-service', credsFile: config.NATS_CREDS_FILE });
  // The ASSETS stream is declared with the journal topology; declaring it here too lets asset-service start first.
  const topology = journalTopology({ partitions: config.JOURNAL_PARTITIONS, duplicateWindowMs: config.JOURNAL_DUPLICATE_WINDOW_MS, replicas: config.JOURNAL_REPLICAS });
  await applyTopology(connection.jsm, { streams: topology.streams.filter((s) => s.name === STREAMS.assets), consumers: [] });
  const ds = createDataSource({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS, applicationName: 'tidemark-asset-service' });
  await ds.initialize();
  await migrateWithLock(ds);

  const ledger = new Ledger(ds);
  const relay = new OutboxRelay(new OutboxRepository(ds, 'asset_outbox'), () => connection.js, { name: 'asset_outbox', intervalMs: config.OUTBOX_INTERVAL_MS, batch: 200, ordered: true, logger });
  const now = () => new Date();
  const published = () => relay.poke();
  const uploads = new UploadService({
    ledger,
    store,
    logger,
    now,
    published,
    settings: {
      expiryMs: config.UPLOAD_EXPIRY_MS,
      partSize: config.UPLOAD_PART_SIZE_BYTES,
      maxActivePatches: config.UPLOAD_MAX_ACTIVE_PATCHES,
      maxPatchesPerWorkspace: config.UPLOAD_MAX_PATCHES_PER_WORKSPACE,
      maxPatchesPerDevice: config.UPLOAD_MAX_PATCHES_PER_DEVICE,
      minBytesPerSecond: config.UPLOAD_MIN_BYTES_PER_SECOND,
      slowWindowMs: config.UPLOAD_SLOW_WINDOW_MS,
      lockTtlMs: config.UPLOAD_LOCK_TTL_MS,
      limits: assetLimits(config),
      instance,
    },
  });
  const assets = new AssetsService({ ledger, store, presignTtlSeconds: config.ASSET_PRESIGNED_URL_TTL_S, now, published });
  const collector = new Collector({
    ledger,
    store,
    intervalMs: config.ASSET_COLLECTOR_INTERVAL_MS,
    orphanUnreferencedMs: config.ASSET_ORPHAN_UNREFERENCED_MS,
    orphanGraceMs: config.ASSET_ORPHAN_GRACE_MS,
    expiryMs: config.UPLOAD_EXPIRY_MS,
    lockTtlMs: config.UPLOAD_LOCK_TTL_MS,
    strayMultipartAgeMs: config.ASSET_STRAY_MULTIPART_AGE_MS,
    instance,
    logger,
    now,
    published,
    discard: (upload) => uploads.discardBytes(upload),
  });

  const checks: ReadinessCheck[] = [natsCheck(() => connection), postgresCheck(ds), { name: 's3', check: () => store.check() }];
  const service = await runService({
    name: 'asset-service',
    controllers: [TusController, AssetsController, openApiController(ASSET_OPENAPI)],
    providers: [authFromConfig(config, ds), { provide: UPLOADS, useValue: uploads }, { provide: ASSETS, useValue: assets }, { provide: LOGGER, useValue: logger }],
    checks,
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    logger,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    timeouts: httpTimeouts(config),
    cors: { origins: parseCorsOrigins(config.CORS_ORIGINS), variable: 'CORS_ORIGINS' },
    configure: rawBodies,
  });
  relay.start();
  collector.start();
  return {
    ...service,
    close: async () => {
      // Streaming uploads stop reading, keep what arrived and answer with their offset; then HTTP drains.
      uploads.stop();
      await collector.stop();
      await service.close();
      await relay.drain().catch(() => undefined);
      await relay.stop();
      await connection.close();
      await ds.destroy();
    },
  };
}
