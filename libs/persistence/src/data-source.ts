import 'reflect-metadata';
import { DataSource, type QueryRunner } from 'typeorm';
import { ENTITIES } from './entities';
import { Foundation1764000000000 } from './migrations/1764000000000-foundation';
import { MergeLedger1764100000000 } from './migrations/1764100000000-merge-ledger';
import { DeviceSequences1764400000000 } from './migrations/1764400000000-device-sequences';
import { EntitySchemas1764500000000 } from './migrations/1764500000000-entity-schemas';
import { Assets1764300000000 } from './migrations/1764300000000-assets';
import { Identity1764600000000 } from './migrations/1764600000000-identity';
import { ParkingAndAssetRefs1764700000000 } from './migrations/1764700000000-parking-and-asset-refs';
import { Replay1764800000000 } from './migrations/1764800000000-replay';
import { InspectionIndexes1764900000000 } from './migrations/1764900000000-inspection-indexes';
import { ReceiptsByEntity1765000000000 } from './migrations/1765000000000-receipts-by-entity';
import { ReplayPlanOnly1765100000000 } from './migrations/1765100000000-replay-plan-only';
import { EventIdsPerWorkspace1765200000000 } from './migrations/1765200000000-event-ids-per-workspace';
import { AbandonedSequences1765230000000 } from './migrations/1765230000000-abandoned-sequences';
import { SnapshotIndex1765245000000 } from './migrations/1765245000000-snapshot-index';
import { AccessRules1765260000000 } from './migrations/1765260000000-access-rules';
import { DecisionsPerEvent1765280000000 } from './migrations/1765280000000-decisions-per-event';
import { ReadScopes1765300000000 } from './migrations/1765300000000-read-scopes';
import { DeviceActivity1765320000000 } from './migrations/1765320000000-device-activity';
import { ConflictListing1765330000000 } from './migrations/1765330000000-conflict-listing';
import { JobQueuesAndUploadSites1765340000000 } from './migrations/1765340000000-job-queues-and-upload-sites';

export const MIGRATIONS = [
  Foundation1764000000000,
  MergeLedger1764100000000,
  DeviceSequences1764400000000,
  EntitySchemas1764500000000,
  Assets1764300000000,
  Identity1764600000000,
  ParkingAndAssetRefs1764700000000,
  Replay1764800000000,
  InspectionIndexes1764900000000,
  ReceiptsByEntity1765000000000,
  ReplayPlanOnly1765100000000,
  EventIdsPerWorkspace1765200000000,
  AbandonedSequences1765230000000,
  SnapshotIndex1765245000000,
  AccessRules1765260000000,
  DecisionsPerEvent1765280000000,
  ReadScopes1765300000000,
  DeviceActivity1765320000000,
  ConflictListing1765330000000,
  JobQueuesAndUploadSites1765340000000,
];

export interface DatabaseOptions {
  url: string;
  poolSize?: number;
  /** The longest wait for a connection, new or from the pool (`DATABASE_CONNECT_TIMEOUT_MS`). Default 10 s. */
  connectTimeoutMs?: number;
  applicationName?: string;
  /** Schema to use (replay shadows use their own); default `public`. */
  schema?: string;
}

/** Default of {@link DatabaseOptions.connectTimeoutMs}. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Connection settings every tidemark Postgres connection uses, pooled or not: a bounded wait for a connection
 * (an outage, or a pool whose connections all hang, surfaces as "timeout exceeded when trying to connect", a
 * dependency-unavailable error the caller retries, instead of a wait that never ends) and TCP keepalive (a
 * peer that vanished without closing the socket is noticed).
 */
export function connectionSettings(options: Pick<DatabaseOptions, 'connectTimeoutMs' | 'applicationName'>): {
  connectionTimeoutMillis: number;
  keepAlive: true;
  keepAliveInitialDelayMillis: number;
  application_name: string;
} {
  return {
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: options.applicationName ?? 'tidemark',
  };
}

/** The TypeORM data source: entities and real migrations, never `synchronize`. */
export function createDataSource(options: DatabaseOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    ...(options.schema ? { schema: options.schema } : {}),
    extra: { max: options.poolSize ?? 10, ...connectionSettings(options) },
  });
}

/** Runs pending migrations inside one transaction; returns the names applied. */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const applied = await dataSource.runMigrations({ transaction: 'all' });
  return applied.map((m) => m.name);
}

/**
 * SQL the entities would need beyond what the migrations created: empty when the migrations and the
 * entities agree. CI fails on a non-empty answer (migration drift).
 */
export async function migrationDrift(dataSource: DataSource): Promise<string[]> {
  const log = await dataSource.driver.createSchemaBuilder().log();
  return log.upQueries.map((q) => q.query);
}

/** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(dataSource: DataSource, fn: (q: QueryRunner) => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  try {
    // Inside the try: when Postgres went away, the pool hands out an idle connection whose socket is dead,
    // and BEGIN is what fails. Outside it, that connection was never released: a few outages leaked the
    // whole pool, and every later transaction waited for a connection forever.
    await runner.connect();
    await runner.startTransaction();
    const result = await fn(runner);
    await runner.commitTransaction();
    return result;
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
    throw error;
  } finally {
    await runner.release().catch(() => undefined);
  }
}

/** Runs pending migrations under a Postgres advisory lock, so replicas starting together migrate once. */
export async function migrateWithLock(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query("SELECT pg_advisory_lock(hashtext('tidemark.migrations'))");
    try {
      return await runMigrations(dataSource);
    } finally {
      await runner.query("SELECT pg_advisory_unlock(hashtext('tidemark.migrations'))");
    }
  } finally {
    await runner.release();
  }
}

/** Readiness: Postgres answers a query. */
export function postgresCheck(dataSource: DataSource): { name: string; check(): Promise<void> } {
  return { name: 'postgres', check: async () => void (await dataSource.query('SELECT 1')) };
}
