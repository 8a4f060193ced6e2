import { Module, type DynamicModule } from '@nestjs/common';
import { connectJetStream, natsCheck } from '@tidemark/messaging';
import { createDataSource, migrateWithLock, postgresCheck } from '@tidemark/persistence';
import { HealthController, READINESS_CHECKS, SHUTTING_DOWN, runService, type ReadinessCheck, type RunningService, type ShutdownState } from '@tidemark/platform';
import { createLogger } from '@tidemark/telemetry';
import type { OpsApiConfig } from './config';
import { OPS_DEPS, StreamsController, type OpsDeps } from './streams/streams.controller';
import { DevicesController } from './devices/devices.controller';

@Module({})
class OpsApiModule {
  static register(deps: OpsDeps, checks: ReadinessCheck[], state: ShutdownState): DynamicModule {
    return {
      module: OpsApiModule,
      controllers: [HealthController, StreamsController, DevicesController],
      providers: [
        { provide: OPS_DEPS, useValue: deps },
        { provide: READINESS_CHECKS, useValue: checks },
        { provide: SHUTTING_DOWN, useValue: state },
      ],
    };
  }
}

/** Wires ops-api: read-only views over JetStream and the projection for operators. */
export async function startOpsApi(config: OpsApiConfig): Promise<RunningService> {
  const logger = createLogger('ops-api', config.LOG_LEVEL, config.TIDEMARK_INSTANCE);
  const connection = await connectJetStream({ servers: config.NATS_URL, name: 'ops-api', credsFile: config.NATS_CREDS_FILE });
  const ds = createDataSource({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, applicationName: 'tidemark-ops-api' });
  await ds.initialize();
  await migrateWithLock(ds);
  const state: ShutdownState = { shuttingDown: false };
  const service = await runService({
    name: 'ops-api',
    module: OpsApiModule.register({ connection: () => connection, ds }, [natsCheck(() => connection), postgresCheck(ds)], state) as never,
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
