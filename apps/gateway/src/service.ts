import { httpTimeouts } from '@tidemark/config';
import type { JournalRecord } from '@tidemark/contracts';
import { STREAMS, connectJetStream, natsCheck } from '@tidemark/messaging';
import {
  ChangeLogRepository,
  DeviceActivityRepository,
  ConflictResolver,
  ConflictsRepository,
  DeviceProgressRepository,
  EntityAssetsRepository,
  ReadScopesRepository,
  recordInReadScope,
  ReceiptsRepository,
  RepairsRepository,
  SnapshotRepository,
  createDataSource,
  migrateWithLock,
  postgresCheck,
  transactionalSql,
} from '@tidemark/persistence';
import { parseCorsOrigins, registerCompression, runService, type RunningService } from '@tidemark/platform';
import { createLogger } from '@tidemark/telemetry';
import type { GatewayConfig } from './config';
import { PUSH_DEPS, PushController } from './push/push.controller';
import { IDENTITY_DEPS, IdentityController, type IdentityDeps } from './identity/identity.controller';
import { AccessRulesStore, AuditRepository, IdentityStore, StandingCache, TokenService, authGuardProvider, sqlStanding, type IdentityDb, type StandingPort } from '@tidemark/auth';
import { AccessRulesController } from './access/access-rules.controller';
import { PULL_DEPS, PullController, type PullDeps } from './pull/pull.controller';
import { ReadScopeStore } from './subscriptions/read-scope-store';
import { SubscriptionsController } from './subscriptions/subscriptions.controller';
import { StreamController } from './pull/stream.controller';
import { SnapshotController } from './pull/snapshot.controller';
import { PushProgress } from './push/push-progress';
import { DeviceActivityLog } from './activity/device-activity';
import { StandingNotices } from './access/standing-notices';
import { ChangeNotifier } from './pull/change-notifier';
import { OpenApiController } from './openapi/openapi.controller';
import { pushBatch, type PushDeps } from './push/push.service';
import { ConflictsController } from './conflicts/conflicts.controller';
import { RepairsController } from './conflicts/repairs.controller';
import { PushAdmission, registerPushAdmission } from './push/admission';
import { LEDGER_DEPS, type LedgerDeps } from './conflicts/ledger-http';
import { ReceiptsController } from './receipts/receipts.controller';
import { SequenceController } from './receipts/sequence.controller';

/** Wires the gateway: push journals to JetStream, pull reads the change log in Postgres. */
export async function startGateway(config: GatewayConfig): Promise<RunningService> {
  const logger = createLogger('gateway', config.LOG_LEVEL, config.TIDEMARK_INSTANCE);
  const connection = await connectJetStream({ servers: config.NATS_URL, name: 'gateway', credsFile: config.NATS_CREDS_FILE, timeoutMs: config.PUBLISH_TIMEOUT_MS });
  const ds = createDataSource({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS, applicationName: 'tidemark-gateway' });
  await ds.initialize();
  await migrateWithLock(ds);
  const now = (): Date => new Date();
  // Controllers receive these repositories, never the data source.
  const receipts = new ReceiptsRepository(ds);
  const conflicts = new ConflictsRepository(ds);
  const deviceProgress = new DeviceProgressRepository(ds);
  const progress = new PushProgress((marks) => deviceProgress.recordPushes(marks), config.PUSH_PROGRESS_INTERVAL_MS, logger);
  const activity = new DeviceActivityLog(new DeviceActivityRepository(ds), config.DEVICE_ACTIVITY_INTERVAL_MS, logger);
  const notifier = new ChangeNotifier(config.LIVE_RECHECK_MS, logger);
  notifier.start(connection.nc);
  const tokens = new TokenService(config.AUTH_SIGNING_KEYS);
  const identityDb: IdentityDb = transactionalSql(ds);
  const accessRules = new AccessRulesStore(identityDb);
  // Every device request checks its device's standing (and a push its access) here; see StandingNotices.
  const authorities = new StandingCache((workspace, deviceId) => accessRules.authority(workspace, deviceId), {
    maxAgeMs: config.STANDING_CACHE_MAX_AGE_MS,
    maxEntries: config.STANDING_CACHE_MAX_DEVICES,
  });
  const readScopes = new ReadScopeStore(new ReadScopesRepository(ds));
  // What each device reads, for every page of its pulls and streams: forgotten on the same notices.
  const readFilters = new StandingCache((workspace, deviceId) => readScopes.filter(workspace, deviceId), { maxAgeMs: config.STANDING_CACHE_MAX_AGE_MS, maxEntries: config.STANDING_CACHE_MAX_DEVICES });
  const notices = new StandingNotices(connection.nc, [authorities, readFilters], config.PUBLISH_TIMEOUT_MS, logger);
  await notices.start();
  const sqlChecks = sqlStanding(ds);
  const standing: StandingPort = {
    deviceStanding: async (workspace, deviceId) => (await authorities.get(workspace, deviceId)).standing,
    operatorTokenRevoked: (tokenId) => sqlChecks.operatorTokenRevoked(tokenId),
  };
  const store = new IdentityStore(identityDb, tokens, {
    accessTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
    refreshGraceSeconds: config.REFRESH_REUSE_GRACE_SECONDS,
  });
  const identity: IdentityDeps = {
    store,
    accessRules,
    tokens,
    audit: new AuditRepository(ds),
    now,
    operatorTokenMaxTtlSeconds: config.OPERATOR_TOKEN_MAX_TTL_SECONDS,
    announce: (change) => notices.announce(change),
  };
  const deps: PushDeps = {
    js: () => connection.js,
    partitions: config.JOURNAL_PARTITIONS,
    publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
    logger,
    now,
    authority: (workspace, deviceId) => authorities.get(workspace, deviceId),
    receipts: (workspace, eventIds) => receipts.receipted(workspace, eventIds),
    recordPush: (pusher, maxSeq, at) => progress.note({ workspace: pusher.workspace, deviceId: pusher.deviceId, maxSeq, at }),
    recordRefusal: (pusher, events, at, detail) => activity.refused(pusher.workspace, pusher.deviceId, events, at, detail),
  };
  const resolver = new ConflictResolver({
    ds,
    now,
    readJournal: async (seq) => (await connection.jsm.streams.getMessage(STREAMS.journal, { seq }))?.json<JournalRecord>(),
    journal: async (workspace, deviceId, event) => (await pushBatch(deps, { workspace, deviceId, site: null }, { events: [event] })).results[0]!,
  });
  const ledger: LedgerDeps = {
    receipts,
    conflicts,
    repairs: new RepairsRepository(ds),
    progress: deviceProgress,
    resolver,
    access: (workspace, deviceId) => accessRules.access(workspace, deviceId),
    readScope: async (workspace, deviceId) => {
      const filter = await readFilters.get(workspace, deviceId);
      return filter.kind === 'all' ? undefined : { keys: filter.keys, types: filter.types };
    },
    inScope: (workspace, entityType, entityId, scope) => recordInReadScope(ds, workspace, entityType, entityId, scope),
  };
  const reads = { changeLog: new ChangeLogRepository(ds), conflicts, receipts, assets: new EntityAssetsRepository(ds) };
  const pull: PullDeps = {
    reads,
    snapshots: new SnapshotRepository(ds),
    scopes: readScopes,
    readFilter: (workspace, deviceId) => readFilters.get(workspace, deviceId),
    announce: (change) => notices.announce(change),
    notifier,
    standing,
    now,
    logger,
    activity,
  };
  const admission = new PushAdmission({
    perDevice: config.PUSH_MAX_IN_FLIGHT_PER_DEVICE,
    bytes: config.PUSH_IN_FLIGHT_BYTES,
    events: config.PUSH_IN_FLIGHT_EVENTS,
    bodyLimit: config.PUSH_BODY_LIMIT_BYTES,
    retryAfterSeconds: config.PUSH_RETRY_AFTER_SECONDS,
    deviceBytesPerSecond: config.PUSH_DEVICE_BYTES_PER_SECOND,
    deviceBurstBytes: config.PUSH_DEVICE_BURST_BYTES,
  });
  return runService({
    name: 'gateway',
    controllers: [
      IdentityController,
      AccessRulesController,
      PushController,
      PullController,
      StreamController,
      SnapshotController,
      SubscriptionsController,
      OpenApiController,
      ConflictsController,
      ReceiptsController,
      SequenceController,
      RepairsController,
    ],
    providers: [
      { provide: PUSH_DEPS, useValue: deps },
      { provide: PULL_DEPS, useValue: pull },
      { provide: LEDGER_DEPS, useValue: ledger },
      { provide: IDENTITY_DEPS, useValue: identity },
      authGuardProvider({ tokens, standing, now }),
    ],
    checks: [natsCheck(() => connection), postgresCheck(ds)],
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    bodyLimit: config.PUSH_BODY_LIMIT_BYTES,
    cors: { origins: parseCorsOrigins(config.CORS_ORIGINS), variable: 'CORS_ORIGINS' },
    logger,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    timeouts: httpTimeouts(config),
    afterClose: [() => progress.flush(), () => activity.flush(), async () => notices.stop(), () => connection.close(), () => ds.destroy()],
    configure: (app) => {
      registerPushAdmission(app.getHttpAdapter().getInstance(), admission, tokens);
      registerCompression(app.getHttpAdapter().getInstance(), { routes: ['/v1/changes', '/v1/snapshot'], minBytes: config.SYNC_COMPRESS_MIN_BYTES });
    },
  });
}
