import { connectJetStream, natsCheck } from '@tidemark/messaging';
import { createDataSource, migrateWithLock, postgresCheck } from '@tidemark/persistence';
import { runService, type RunningService } from '@tidemark/platform';
import { createLogger } from '@tidemark/telemetry';
import type { GatewayConfig } from './config';
import { DEFAULT_WORKSPACE, PUSH_DEPS, PushController } from './push/push.controller';
import { PULL_DB, PullController } from './pull/pull.controller';
import { OpenApiController } from './openapi/openapi.controller';
import type { PushDeps } from './push/push.service';
import { ConflictsController } from './conflicts/conflicts.controller';
import { RepairsController } from './conflicts/repairs.controller';
import { LEDGER_DEPS, type LedgerDeps } from './conflicts/ledger-http';
import { ReceiptsController } from './receipts/receipts.controller';


/** Wires the gateway: push journals to JetStream, pull reads the change log in Postgres. */
export async function startGateway(config: GatewayConfig): Promise<RunningService> {
  const logger = createLogger('gateway', config.LOG_LEVEL, config.TIDEMARK_INSTANCE);
  const connection = await connectJetStream({ servers: config.NATS_URL, name: 'gateway', credsFile: config.NATS_CREDS_FILE, timeoutMs: config.PUBLISH_TIMEOUT_MS });
  const ds = createDataSource({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, applicationName: 'tidemark-gateway' });
  await ds.initialize();
  await migrateWithLock(ds);
  const deps: PushDeps = { js: () => connection.js, partitions: config.JOURNAL_PARTITIONS, publishTimeoutMs: config.PUBLISH_TIMEOUT_MS, logger, now: () => new Date() };
  const ledger: LedgerDeps = { ds, push: deps, journal: () => connection.jsm };
  return runService({
    name: 'gateway',
    controllers: [PushController, PullController, OpenApiController, ConflictsController, ReceiptsController, RepairsController],
    providers: [
      { provide: PUSH_DEPS, useValue: deps },
      { provide: PULL_DB, useValue: ds },
      { provide: LEDGER_DEPS, useValue: ledger },
      { provide: DEFAULT_WORKSPACE, useValue: config.DEFAULT_WORKSPACE },
    ],
    checks: [natsCheck(() => connection), postgresCheck(ds)],
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    bodyLimit: config.PUSH_BODY_LIMIT_BYTES,
    logger,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    afterClose: [() => connection.close(), () => ds.destroy()],
  });
}
