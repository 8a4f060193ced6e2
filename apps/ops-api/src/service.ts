import { httpTimeouts } from '@tidemark/config';
import { connectJetStream, natsCheck } from '@tidemark/messaging';
import { createDataSource, migrateWithLock, postgresCheck } from '@tidemark/persistence';
import { authFromConfig } from '@tidemark/auth';
import { openApiController, runService, type RunningService } from '@tidemark/platform';
import { createLogger } from '@tidemark/telemetry';
import type { OpsApiConfig } from './config';
import { OPS_DEPS, StreamsController } from './streams/streams.controller';
import { DevicesController } from './devices/devices.controller';
import { ScopesController } from './scopes/scopes.controller';
import { OPS_VIEWS, createOpsViews } from './streams/views';
import { AssetBacklogController, AssetsController } from './assets/assets.controller';
import { QueuesController } from './queues/queues.controller';
import { ConflictsController } from './conflicts/conflicts.controller';
import { InspectController } from './inspect/inspect.controller';
import { OverviewController } from './overview/overview.controller';
import { ParkedController } from './parked/parked.controller';
import { AssetRefsController } from './asset-refs/asset-refs.controller';
import { RedeliveriesController, ReplaysController } from './replay/replay.controller';
import { DashboardController } from './dashboard/dashboard.controller';
import { AuditController } from './audit/audit.controller';
import { OPS_OPENAPI } from './openapi';

/** Wires ops-api: read-only views over JetStream and the projection for operators. */
export async function startOpsApi(config: OpsApiConfig): Promise<RunningService> {
  const logger = createLogger('ops-api', config.LOG_LEVEL, config.TIDEMARK_INSTANCE);
  const connection = await connectJetStream({ servers: config.NATS_URL, name: 'ops-api', credsFile: config.NATS_CREDS_FILE });
  const ds = createDataSource({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS, applicationName: 'tidemark-ops-api' });
  await ds.initialize();
  await migrateWithLock(ds);
  return runService({
    name: 'ops-api',
    controllers: [
      StreamsController,
      DevicesController,
      ScopesController,
      AssetBacklogController,
      AssetsController,
      QueuesController,
      ConflictsController,
      InspectController,
      OverviewController,
      ParkedController,
      AssetRefsController,
      ReplaysController,
      RedeliveriesController,
      AuditController,
      DashboardController,
      openApiController(OPS_OPENAPI),
    ],
    providers: [
      authFromConfig(config, ds),
      { provide: OPS_DEPS, useValue: { connection: () => connection, ds } },
      { provide: OPS_VIEWS, useValue: createOpsViews(config, { connection: () => connection, ds }) },
    ],
    checks: [natsCheck(() => connection), postgresCheck(ds)],
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    logger,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    timeouts: httpTimeouts(config),
    afterClose: [() => connection.close(), () => ds.destroy()],
  });
}
