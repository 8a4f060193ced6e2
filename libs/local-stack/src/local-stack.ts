import { join, resolve } from 'node:path';
import { startNats, type NatsServerHandle } from './nats';
import { startPostgres, type PostgresHandle } from './postgres';
import { startS3, type S3Handle } from './s3';

/** Ports of the embedded stack when they are free: the standard ones plus 10 000, so a system server does not clash. */
export const EMBEDDED_PORTS = { nats: 14222, natsMonitor: 18222, postgres: 15432, s3: 19000 } as const;

/** Options for {@link startLocalStack}. */
export interface LocalStackOptions {
  /** Parent folder; each server gets a sub-folder (`nats/`, `postgres/`, `s3/`). */
  dataDir: string;
  /**
   * Throwaway mode for tests: free ports everywhere, Postgres without fsync. Otherwise (embedded mode)
   * the {@link EMBEDDED_PORTS} are used when free and data is kept across restarts.
   */
  ephemeral?: boolean;
  /** Start nats-server. Default `true`. */
  nats?: boolean;
  /** Start PostgreSQL. Default `true`. */
  postgres?: boolean;
  /** Start the S3 store. Default `true`. */
  s3?: boolean;
  /** Bind address of every server. Default `127.0.0.1`. */
  host?: string;
  /** Fixed ports; each overrides the mode's default. */
  ports?: { nats?: number; natsMonitor?: number; postgres?: number; s3?: number };
  /** JetStream `sync_interval: always` when the server supports it. Default: `true` unless ephemeral. */
  natsSyncAlways?: boolean;
}

/** The servers that were started; stop() stops all of them. */
export interface LocalStack {
  nats?: NatsServerHandle;
  postgres?: PostgresHandle;
  s3?: S3Handle;
  /** Stops every server in parallel; resolves once all are gone. */
  stop(): Promise<void>;
}

type Handle = { stop(): Promise<void> };

/**
 * Starts the requested local servers in parallel under `dataDir`. If any fails, the others are stopped and
 * the error lists every failure (with log tails). Prints nothing itself.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = resolve(options.dataDir);
  const host = options.host ?? '127.0.0.1';
  const ephemeral = options.ephemeral ?? false;
  const ports = options.ports ?? {};
  const preferred = (embedded: number): number | undefined => (ephemeral ? undefined : embedded);

  const nats =
    options.nats === false
      ? undefined
      : startNats({
          dataDir: join(dataDir, 'nats'),
          host,
          port: ports.nats,
          preferredPort: preferred(EMBEDDED_PORTS.nats),
          monitorPort: ports.natsMonitor,
          preferredMonitorPort: preferred(EMBEDDED_PORTS.natsMonitor),
          syncAlways: options.natsSyncAlways ?? !ephemeral,
        });
  const postgres =
    options.postgres === false ? undefined : startPostgres({ dataDir: join(dataDir, 'postgres'), host, port: ports.postgres, preferredPort: preferred(EMBEDDED_PORTS.postgres), ephemeral });
  const s3 = options.s3 === false ? undefined : startS3({ dataDir: join(dataDir, 's3'), host, port: ports.s3, preferredPort: preferred(EMBEDDED_PORTS.s3) });

  const [natsResult, postgresResult, s3Result] = await Promise.allSettled([nats, postgres, s3]);
  const started: Handle[] = [];
  const failures: string[] = [];
  for (const [name, result] of [
    ['nats', natsResult],
    ['postgres', postgresResult],
    ['s3', s3Result],
  ] as const) {
    if (result.status === 'fulfilled') {
      if (result.value) started.push(result.value);
    } else {
      failures.push(`${name}: ${result.reason instanceof Error ? result.reason.message : String(result.reason)}`);
    }
  }
  const stop = async (): Promise<void> => {
    const results = await Promise.allSettled(started.map((handle) => handle.stop()));
    const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    if (errors.length > 0) throw new AggregateError(errors, 'stopping the local stack failed');
  };
  if (failures.length > 0) {
    await stop().catch(() => undefined);
    throw new Error(`the local stack did not start:\n${failures.join('\n')}`);
  }
  const value = <T>(result: PromiseSettledResult<T | undefined>): T | undefined => (result.status === 'fulfilled' ? result.value : undefined);
  return { nats: value(natsResult), postgres: value(postgresResult), s3: value(s3Result), stop };
}
