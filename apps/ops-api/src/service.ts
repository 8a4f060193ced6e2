import { connectJetStream, natsCheck } from '@tidemark/messaging';
import { createDataSource, migrateWithLock, postgresCheck } from '@tidemark/persistence';
import { runService, type RunningService } from '@tidemark/platform';
import { createLogger } from '@tidemark/telemetry';
import type { OpsApiConfig } from './config';
import { OPS_DEPS, StreamsController } from './streams/streams.controller';
import { DevicesController } from './devices/devices.controller';


/** Wires ops-api: read-only views over JetStream and the projection for operators. */
export async function startOpsApi(config: OpsApiConfig): Promise<RunningService> {
  const logger = createLogger('ops-api', config.LOG_LEVEL, config.TIDEMARK_INSTANCE);
  const connection = await connectJetStream({ servers: config.NATS_URL, name: 'ops-api', credsFile: config.NATS_CREDS_FILE });
  const ds = createDataSource({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, applicationName: 'tidemark-ops-api' });
  await ds.initialize();
  await migrateWithLock(ds);
  return runService({
    name: 'ops-api',
    controllers: [StreamsController, DevicesController],
    providers: [{ provide: OPS_DEPS, useValue: { connection: () => connection, ds } }],
    checks: [natsCheck(() => connection), postgresCheck(ds)],
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    logger,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    afterClose: [() => connection.close(), () => ds.destroy()],
  });
}
