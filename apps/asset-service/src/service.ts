import { Module, type DynamicModule } from '@nestjs/common';
import { connectJetStream, natsCheck } from '@tidemark/messaging';
import { createDataSource, migrateWithLock, postgresCheck } from '@tidemark/persistence';
import { HealthController, READINESS_CHECKS, SHUTTING_DOWN, runService, type ReadinessCheck, type RunningService, type ShutdownState } from '@tidemark/platform';
import { createLogger } from '@tidemark/telemetry';
import type { AssetServiceConfig } from './config';
import { createS3Client, ensureBucket, s3Check } from './storage';

@Module({})
class AssetServiceModule {
  static register(checks: ReadinessCheck[], state: ShutdownState): DynamicModule {
    return {
      module: AssetServiceModule,
      controllers: [HealthController],
      providers: [
        { provide: READINESS_CHECKS, useValue: checks },
        { provide: SHUTTING_DOWN, useValue: state },
      ],
    };
  }
}

/** Wires asset-service: the asset bucket in S3, its ledger in Postgres, lifecycle events on NATS. */
export async function startAssetService(config: AssetServiceConfig): Promise<RunningService> {
  const logger = createLogger('asset-service', config.LOG_LEVEL, config.TIDEMARK_INSTANCE);
  const s3 = createS3Client(config);
  await ensureBucket(s3, config.S3_BUCKET, config.S3_REGION);
  const connection = await connectJetStream({ servers: config.NATS_URL, name: 'asset-service', credsFile: config.NATS_CREDS_FILE });
  const ds = createDataSource({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, applicationName: 'tidemark-asset-service' });
  await ds.initialize();
  await migrateWithLock(ds);
  const state: ShutdownState = { shuttingDown: false };
  const service = await runService({
    name: 'asset-service',
    module: AssetServiceModule.register([natsCheck(() => connection), postgresCheck(ds), s3Check(s3, config.S3_BUCKET)], state) as never,
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    logger,
    shutdownState: state,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  });
  return {
    ...service,
    close: async () => {
      await service.close();
      await connection.close();
      await ds.destroy();
    },
  };
}
