import { httpTimeouts } from '@tidemark/config';
import { STREAMS, buildHeaders, connectJetStream, mergeConsumerName, natsCheck, JetStreamPullTransport, OutboxRelay, type PullBinding } from '@tidemark/messaging';
import { OutboxRepository, createDataSource, migrateWithLock, postgresCheck } from '@tidemark/persistence';
import { runService, type RunningService } from '@tidemark/platform';
import { createLogger } from '@tidemark/telemetry';
import { COMMITTED_NOTICE_MAX_KEYS, committedNoticeSubject, schemaVersionHeaders, type CommittedNotice } from '@tidemark/contracts';
import type { MergeServiceConfig } from './config';
import { JOURNAL_BATCH, JournalController, PROJECTOR } from './journal.controller';
import { Projector, type MergeFn, type ProjectorOptions } from './projection/projector';
import { PartitionClaims } from './projection/partition-claims';
import { SchemaRegistryCache } from './projection/schema-registry-cache';
import { assetFieldsOf, mergeWithRevision, partitionOf as typePartitionOf, queueFieldOf, type SchemaRegistry } from '@tidemark/merge';
import { JetStreamJournalReader } from './replay/journal-reader';
import { PolicyRevisionCache } from './projection/policy-revisions';
import { ReplayWorker } from './replay/worker';

/** `after-commit:N`: SIGKILL this process right after the Nth committed batch, before it is acked. */
function failpoint(spec: string | undefined, logger: { warn(o: object, m: string): void }): (() => void) | undefined {
  if (!spec) return undefined;
  const target = Number(spec.split(':')[1]);
  let commits = 0;
  logger.warn({ failpoint: spec }, 'fault injection armed');
  return () => {
    if (++commits === target) process.kill(process.pid, 'SIGKILL');
  };
}

/** The asset fields of a type in the current registry, computed once per loaded registry. */
function assetFieldsFrom(current: () => SchemaRegistry): (type: string) => readonly string[] {
  const cache = new WeakMap<SchemaRegistry, Map<string, string[]>>();
  return (type) => {
    const registry = current();
    let byType = cache.get(registry);
    if (!byType) cache.set(registry, (byType = new Map()));
    let fields = byType.get(type);
    if (!fields) byType.set(type, (fields = assetFieldsOf(registry, type)));
    return fields;
  };
}

/**
 * Readiness fails while any partition waits out a dependency outage, naming them: the batch in hand is
 * kept, nothing is parked, and the partition resumes by itself when the dependency is back.
 */
function waitingPartitionsCheck(transport: JetStreamPullTransport): { name: string; check(): Promise<void> } {
  return {
    name: 'partitions',
    check: async () => {
      const waiting = transport.waiting();
      if (waiting.length === 0) return;
      const now = Date.now();
      throw new Error(
        `${waiting.length} partition(s) waiting for a dependency: ${waiting.map((w) => `${w.durable} (${w.dependency}, ${Math.round((now - w.since) / 1000)} s: ${w.reason})`).join('; ')}`,
      );
    },
  };
}

export interface MergeService extends RunningService {
  transport: JetStreamPullTransport;
  outbox: OutboxRelay;
  /** The schema registry loaded from Postgres; the projector calls `ensure` for the schemas a batch names. */
  schemas: SchemaRegistryCache;
  /** Runs operator-requested replays (`replay_jobs`) into shadow schemas. */
  replays: ReplayWorker;
}

/**
 * Wires merge-service: NATS, Postgres, the schema registry, the projector behind the JetStream transport,
 * and the outbox relay. `merge` defaults to the merge engine over the registry published in Postgres.
 */
export async function startMergeService(config: MergeServiceConfig, merge?: MergeFn): Promise<MergeService> {
  const logger = createLogger('merge-service', config.LOG_LEVEL, config.TIDEMARK_INSTANCE);
  const connection = await connectJetStream({ servers: config.NATS_URL, name: 'merge-service', credsFile: config.NATS_CREDS_FILE });
  const ds = createDataSource({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS, applicationName: 'tidemark-merge-service' });
  await ds.initialize();
  const migrated = await migrateWithLock(ds);
  if (migrated.length > 0) logger.info({ migrated }, 'migrations applied');
  const schemas = new SchemaRegistryCache(ds, { refreshMs: config.SCHEMA_REFRESH_MS, logger });
  await schemas.start();

  const outbox = new OutboxRelay(new OutboxRepository(ds, 'outbox'), () => connection.js, { name: 'outbox', intervalMs: config.OUTBOX_INTERVAL_MS, batch: 500, ordered: false, logger });
  // Each workspace merges each type with its active policy revision; checked before every batch (see PolicyRevisionCache).
  const policies = new PolicyRevisionCache(ds, logger);
  await policies.ensureCurrent();
  const claims = new PartitionClaims(
    { url: config.DATABASE_URL, connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS },
    ds,
    () => connection.jsm,
    STREAMS.journal,
    logger,
    config.MERGE_CONSUMER_PREFIX,
    config.TIDEMARK_INSTANCE,
  );
  const partitionOf = new Map<string, number>();
  const projectorOptions: ProjectorOptions = {
    isolateAfter: config.MERGE_ISOLATE_AFTER,
    parkAfter: config.MERGE_PARK_AFTER,
    logger,
    merge: merge ?? ((state, input) => mergeWithRevision(state, input, schemas.current(), policies.revisionFor(input.workspace, input.event.entity.type))),
    onOutbox: config.OUTBOX_ENABLED ? () => outbox.poke() : undefined,
    // Live delivery is woken by the commit itself, not by the relay's MERGED publish that follows it.
    // It names the scope keys the commit touched, so a gateway wakes only the readers whose scopes they meet.
    onCommitted: (keysByWorkspace) => {
      for (const [workspace, keys] of keysByWorkspace) {
        try {
          const notice: CommittedNotice = keys.size <= COMMITTED_NOTICE_MAX_KEYS ? { keys: [...keys].sort() } : {};
          connection.nc.publish(committedNoticeSubject(workspace), JSON.stringify(notice), { headers: buildHeaders(schemaVersionHeaders('committedNotice')) });
        } catch (error) {
          logger.debug({ err: error, workspace }, 'commit notice not sent (the MERGED message still wakes readers)');
        }
      }
    },
    ensureSchemas: async (pairs) => void (await Promise.all(pairs.map((p) => schemas.ensure(p.type, p.version)))),
    ensurePolicies: (q) => policies.ensureCurrent(q),
    assetFields: assetFieldsFrom(() => schemas.current()),
    partition: (type) => typePartitionOf(schemas.current(), type),
    queueField: (type) => queueFieldOf(schemas.current(), type),
    afterCommit: failpoint(config.MERGE_FAILPOINT, logger),
    // Parking is the partition owner's decision: checked in the parking transaction against pg_locks.
    holdsPartition: (consumer, q) => claims.holds(partitionOf.get(consumer)!, q),
  };
  const projector = new Projector(ds, projectorOptions);
  const replays = new ReplayWorker({
    ds,
    databaseUrl: config.DATABASE_URL,
    connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
    reader: new JetStreamJournalReader(
      () => connection.js,
      () => connection.jsm,
    ),
    schemas,
    policies,
    logger,
    livePrefix: config.MERGE_CONSUMER_PREFIX,
    partitions: config.JOURNAL_PARTITIONS,
    shadowProjector: ({ searchPath, merge: shadowMerge }) =>
      new Projector(ds, {
        ...projectorOptions,
        searchPath,
        merge: shadowMerge,
        liveFeeds: false,
        ensurePolicies: undefined,
        onOutbox: undefined,
        onCommitted: undefined,
        afterCommit: undefined,
        holdsPartition: undefined,
      }),
  });
  const bindings: PullBinding[] = Array.from({ length: config.JOURNAL_PARTITIONS }, (_, p) => {
    const durable = mergeConsumerName(p, config.MERGE_CONSUMER_PREFIX);
    partitionOf.set(durable, p);
    return { pattern: JOURNAL_BATCH, stream: STREAMS.journal, durable, maxMessages: config.MERGE_BATCH_SIZE, expiresMs: config.MERGE_FETCH_EXPIRES_MS };
  });
  const transport = new JetStreamPullTransport({
    js: () => connection.js,
    bindings: () => bindings,
    claim: (b) => claims.claim(partitionOf.get(b.durable)!, b),
    release: (b) => claims.release(partitionOf.get(b.durable)!),
    realign: (b) => claims.realign(partitionOf.get(b.durable)!, b.durable),
    stillOwned: (b) => claims.owns(partitionOf.get(b.durable)!),
    share: (total) => claims.share(total),
    // A partition nobody holds for three passes (a live replica that cannot take it) is taken beyond the share.
    heldByAnyone: async () => new Set([...(await claims.heldPartitions())].map((p) => mergeConsumerName(p, config.MERGE_CONSUMER_PREFIX))),
    claimIntervalMs: 2000,
    logger,
  });
  const service = await runService({
    name: 'merge-service',
    controllers: [JournalController],
    providers: [{ provide: PROJECTOR, useValue: projector }],
    checks: [natsCheck(() => connection), postgresCheck(ds), waitingPartitionsCheck(transport)],
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    logger,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    timeouts: httpTimeouts(config),
    transports: [transport],
    afterClose: [() => replays.stop(), () => outbox.stop(), () => schemas.stop(), () => claims.close(), () => connection.close(), () => ds.destroy()],
  });
  if (config.OUTBOX_ENABLED) {
    outbox.start();
    outbox.poke();
  }
  replays.start();
  return {
    ...service,
    transport,
    outbox,
    schemas,
    replays,
  };
}
