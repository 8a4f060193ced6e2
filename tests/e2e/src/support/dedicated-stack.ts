import { findFreePort, startNats, startPostgres, type NatsServerHandle, type PostgresHandle } from '@tidemark/local-stack';
import { STREAMS, connectJetStream, type JetStreamConnection } from '@tidemark/messaging';
import { startServiceProcess, tempDir, testIdentity, type ServiceName, type ServiceProcess, type TestIdentity } from '@tidemark/testing';
import { Client } from 'pg';

/**
 * The pipeline on servers of its own — a nats-server and a Postgres that a test may kill and start again on
 * their data — and the services as processes, each restartable on the same port.
 */
export interface DedicatedStack {
  readonly dir: string;
  readonly nats: NatsServerHandle;
  /** The Postgres server now (a new handle after each restart). */
  postgres(): PostgresHandle;
  readonly databaseUrl: string;
  readonly identity: TestIdentity;
  /** The environment every service is started with. */
  readonly env: Record<string, string>;
  readonly js: JetStreamConnection;
  /** The service process running now, by name. */
  service(name: ServiceName): ServiceProcess;
  /** Every process started, restarts included: their logs explain a failure. */
  readonly started: ServiceProcess[];
  /** Starts (or starts again) a service on its port. */
  start(name: ServiceName, extra?: Record<string, string>): Promise<ServiceProcess>;
  /** SIGKILLs Postgres (the postmaster and every backend). */
  killPostgres(): Promise<void>;
  /** Starts Postgres again on its data and port. */
  restartPostgres(): Promise<void>;
  /** A count from the live database (`SELECT count(*) AS n …`); the connection is made again after an outage. */
  n(sql: string): Promise<number>;
  /** Messages the journal holds. */
  journaled(): Promise<number>;
  /** The last lines of structured log of every process started. */
  logs(lines?: number): string;
  close(): Promise<void>;
}

export async function startDedicatedStack(name: string, services: readonly ServiceName[], extraEnv: Record<string, string> = {}): Promise<DedicatedStack> {
  const dir = await tempDir(name);
  const nats = await startNats({ dataDir: `${dir}/nats` });
  let postgres = await startPostgres({ dataDir: `${dir}/postgres` });
  const pgPort = postgres.port;
  const databaseUrl = await postgres.createDatabase('tidemark');
  const identity = testIdentity(databaseUrl);
  const env = { NATS_URL: nats.url, DATABASE_URL: databaseUrl, JOURNAL_PARTITIONS: '4', AUTH_SIGNING_KEYS: identity.signingKeys, LOG_LEVEL: 'warn', ...extraEnv };
  const running = new Map<ServiceName, ServiceProcess>();
  const started: ServiceProcess[] = [];
  const ports = new Map<ServiceName, string>();
  let db: Client | undefined;

  const start = async (service: ServiceName, extra: Record<string, string> = {}) => {
    if (!ports.has(service)) ports.set(service, String(await findFreePort()));
    const proc = await startServiceProcess(service, { ...env, HTTP_PORT: ports.get(service)!, ...extra });
    running.set(service, proc);
    started.push(proc);
    return proc;
  };
  const dropConnection = async () => {
    await db?.end().catch(() => undefined);
    db = undefined;
  };
  for (const service of services) await start(service);
  const js = await connectJetStream({ servers: nats.url, name: `${name}-test` });

  return {
    dir,
    nats,
    postgres: () => postgres,
    databaseUrl,
    identity,
    env,
    js,
    service: (service) => running.get(service)!,
    started,
    start,
    async killPostgres() {
      await postgres.kill();
      await dropConnection();
    },
    async restartPostgres() {
      postgres = await startPostgres({ dataDir: `${dir}/postgres`, port: pgPort });
    },
    async n(sql) {
      db ??= await (async () => {
        const c = new Client({ connectionString: databaseUrl });
        c.on('error', () => undefined);
        await c.connect();
        return c;
      })();
      try {
        return Number((await db.query<{ n: string }>(sql)).rows[0]!.n);
      } catch (error) {
        await dropConnection();
        throw error;
      }
    },
    journaled: async () => (await js.jsm.streams.info(STREAMS.journal)).state.messages,
    // A process that ended shows its last lines whatever they are (a crash writes a plain stack trace).
    logs: (lines = 8) =>
      started
        .map(
          (p) =>
            `--- ${p.name} (${p.pid}, ${p.state()}) ---\n${p
              .output()
              .split('\n')
              .filter((l) => (p.state() !== 'running' ? l.trim() !== '' : l.includes('"level"')))
              .slice(-lines)
              .join('\n')}`,
        )
        .join('\n'),
    async close() {
      await identity.close();
      await Promise.all([...running.values()].map((s) => s.kill()));
      await js.close();
      await dropConnection();
      await nats.stop();
      await postgres.stop();
    },
  };
}
