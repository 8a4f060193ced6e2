import { httpTimeouts } from '@tidemark/config';
import { applyTopology, connectJetStream, journalTopology, natsCheck } from '@tidemark/messaging';
import { SchemaRepository, createDataSource, migrateWithLock, postgresCheck } from '@tidemark/persistence';
import { authFromConfig } from '@tidemark/auth';
import { asyncApiController, openApiController, runService, type ReadinessCheck, type RunningService } from '@tidemark/platform';
import { createLogger } from '@tidemark/telemetry';
import type { JournalServiceConfig } from './config';
import { CONNECTION, TOPOLOGY, TopologyController, type TopologyState } from './topology/topology.controller';
import { HISTORY_OPTIONS, HistoryController, type HistoryOptions } from './history/history.controller';
import { SCHEMA_STORE, SchemasController } from './schemas/schemas.controller';
import { SchemaStore } from './schemas/schema-store';
import { JOURNAL_OPENAPI } from './openapi';
import { journalAsyncApi } from './asyncapi';

/** Wires journal-service: applies the declared topology at start, then serves topology, history, the schema registry and the AsyncAPI document of the published messages. */
export async function startJournalService(config: JournalServiceConfig): Promise<RunningService> {
  const logger = createLogger('journal-service', config.LOG_LEVEL, config.TIDEMARK_INSTANCE);
  const connection = await connectJetStream({ servers: config.NATS_URL, name: 'journal-service', credsFile: config.NATS_CREDS_FILE });
  const ds = createDataSource({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS, applicationName: 'tidemark-journal-service' });
  await ds.initialize();
  const migrated = await migrateWithLock(ds);
  if (migrated.length > 0) logger.info({ migrated }, 'migrations applied');
  const topologyOptions = { partitions: config.JOURNAL_PARTITIONS, duplicateWindowMs: config.JOURNAL_DUPLICATE_WINDOW_MS, replicas: config.JOURNAL_REPLICAS };
  const topology: TopologyState = { declared: journalTopology(topologyOptions) };
  topology.lastApplied = await applyTopology(connection.jsm, topology.declared);
  logger.info(topology.lastApplied, 'journal topology applied');
  const topologyCheck: ReadinessCheck = {
    name: 'journal-topology',
    check: async () => {
      for (const s of topology.declared.streams) await connection.jsm.streams.info(s.name);
    },
  };
  const history: HistoryOptions = { partitions: config.JOURNAL_PARTITIONS, maxEvents: config.HISTORY_MAX_EVENTS, defaultWorkspace: 'default' };
  return runService({
    name: 'journal-service',
    controllers: [TopologyController, HistoryController, SchemasController, openApiController(JOURNAL_OPENAPI), asyncApiController(journalAsyncApi(topologyOptions))],
    providers: [
      authFromConfig(config, ds),
      { provide: CONNECTION, useValue: () => connection },
      { provide: TOPOLOGY, useValue: topology },
      { provide: HISTORY_OPTIONS, useValue: history },
      { provide: SCHEMA_STORE, useValue: new SchemaStore(SchemaRepository.of(ds)) },
    ],
    checks: [natsCheck(() => connection), topologyCheck, postgresCheck(ds)],
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    logger,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    timeouts: httpTimeouts(config),
    afterClose: [() => connection.close(), () => ds.destroy()],
  });
}
