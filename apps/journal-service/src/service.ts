import { Module, type DynamicModule } from '@nestjs/common';
import { applyTopology, connectJetStream, journalTopology, natsCheck, type JetStreamConnection } from '@tidemark/messaging';
import { HealthController, READINESS_CHECKS, SHUTTING_DOWN, runService, type ReadinessCheck, type RunningService, type ShutdownState } from '@tidemark/platform';
import { createLogger } from '@tidemark/telemetry';
import type { JournalServiceConfig } from './config';
import { CONNECTION, TOPOLOGY, TopologyController, type TopologyState } from './topology/topology.controller';
import { HISTORY_OPTIONS, HistoryController, type HistoryOptions } from './history/history.controller';

@Module({})
class JournalServiceModule {
  static register(connection: () => JetStreamConnection, topology: TopologyState, history: HistoryOptions, checks: ReadinessCheck[], state: ShutdownState): DynamicModule {
    return {
      module: JournalServiceModule,
      controllers: [HealthController, TopologyController, HistoryController],
      providers: [
        { provide: CONNECTION, useValue: connection },
        { provide: TOPOLOGY, useValue: topology },
        { provide: HISTORY_OPTIONS, useValue: history },
        { provide: READINESS_CHECKS, useValue: checks },
        { provide: SHUTTING_DOWN, useValue: state },
      ],
    };
  }
}

/** Wires journal-service: applies the declared topology at start, then serves topology and history. */
export async function startJournalService(config: JournalServiceConfig): Promise<RunningService> {
  const logger = createLogger('journal-service', config.LOG_LEVEL, config.TIDEMARK_INSTANCE);
  const connection = await connectJetStream({ servers: config.NATS_URL, name: 'journal-service', credsFile: config.NATS_CREDS_FILE });
  const topology: TopologyState = { declared: journalTopology({ partitions: config.JOURNAL_PARTITIONS, duplicateWindowMs: config.JOURNAL_DUPLICATE_WINDOW_MS, replicas: config.JOURNAL_REPLICAS }) };
  topology.lastApplied = await applyTopology(connection.jsm, topology.declared);
  logger.info(topology.lastApplied, 'journal topology applied');
  const state: ShutdownState = { shuttingDown: false };
  const topologyCheck: ReadinessCheck = {
    name: 'journal-topology',
    check: async () => {
      for (const s of topology.declared.streams) await connection.jsm.streams.info(s.name);
    },
  };
  const service = await runService({
    name: 'journal-service',
    module: JournalServiceModule.register(() => connection, topology, { partitions: config.JOURNAL_PARTITIONS, maxEvents: config.HISTORY_MAX_EVENTS, defaultWorkspace: 'default' }, [natsCheck(() => connection), topologyCheck], state) as never,
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
    },
  };
}
