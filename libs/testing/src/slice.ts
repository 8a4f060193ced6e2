import { findFreePort } from '@tidemark/local-stack';
import { testDatabase, testNats } from './fixtures';
import { startServiceProcess, type ServiceName, type ServiceProcess } from './service-process';
import { connectJetStream, type JetStreamConnection } from '@tidemark/messaging';
import { Client } from 'pg';
import type { DeviceEvent } from '@tidemark/contracts';
import { push } from './device';
import { testIdentity, type TestDevice } from './identity';

/** A running slice for end-to-end tests: a fresh nats-server and database, and the apps as processes. */
export interface SliceStack {
  env: Record<string, string>;
  services: Map<ServiceName, ServiceProcess>;
  db: Client;
  js: JetStreamConnection;
  start(name: ServiceName, extraEnv?: Record<string, string>, options?: { waitReady?: boolean }): Promise<ServiceProcess>;
  url(name: ServiceName): string;
  stop(): Promise<void>;
  /** Headers of an operator token with the ops and admin roles, signed with the slice's key. */
  operatorHeaders: Record<string, string>;
  /** Mints an operator token with the given roles (and lifetime). */
  operatorToken(name: string, roles: ('ops' | 'admin')[], ttlSeconds?: number): Promise<string>;
  /** Registers a device (creating its workspace if needed) and returns its credentials. */
  device(workspace: string, deviceId: string, site?: string): Promise<TestDevice>;
  /** The headers of a device, registered on first use (workspace `default` unless named). */
  headersFor(deviceId: string, workspace?: string): Promise<Record<string, string>>;
  /** Pushes events as their device (the first event's), registered on first use in `workspace`. */
  push(events: DeviceEvent[], workspace?: string): ReturnType<typeof push>;
  /** GET a gateway path as a device; parses JSON. */
  get<T = any>(path: string, deviceId: string, workspace?: string): Promise<T>;
  /**
   * What a stalled pipeline looks like, for a failure message: the journal consumers as the server sees
   * them, the checkpoints in Postgres, the database sessions not idle, and the tail of each service's output.
   */
  diagnostics(): Promise<string>;
}

export async function startSlice(names: ServiceName[]): Promise<SliceStack> {
  const nats = await testNats();
  const database = await testDatabase('slice');
  // Devices are registered straight in the slice's database (its services have migrated it).
  const identity = testIdentity(database.url);
  const env: Record<string, string> = { NATS_URL: nats.url, DATABASE_URL: database.url, JOURNAL_PARTITIONS: '4', AUTH_SIGNING_KEYS: identity.signingKeys };
  const operatorToken = await identity.operatorToken('test-operator', ['ops', 'admin']);
  const ports = new Map<ServiceName, string>();
  const services = new Map<ServiceName, ServiceProcess>();
  const stack: SliceStack = {
    env,
    services,
    db: undefined as unknown as Client,
    js: undefined as unknown as JetStreamConnection,
    async start(name, extraEnv = {}, options = {}) {
      if (!ports.has(name)) ports.set(name, String(await findFreePort()));
      const proc = await startServiceProcess(name, { ...env, HTTP_PORT: ports.get(name)!, ...extraEnv }, options);
      services.set(name, proc);
      return proc;
    },
    url: (name) => `http://127.0.0.1:${ports.get(name)}`,
    operatorHeaders: { authorization: `Bearer ${operatorToken}` },
    operatorToken: identity.operatorToken,
    device: identity.device,
    headersFor: identity.headersFor,
    async push(events, workspace) {
      return push(stack.url('gateway'), events, await stack.headersFor(events[0]!.deviceId, workspace));
    },
    async get(path, deviceId, workspace) {
      const response = await fetch(`${stack.url('gateway')}${path}`, { headers: await stack.headersFor(deviceId, workspace) });
      return (await response.json()) as any;
    },
    async diagnostics() {
      const lines: string[] = [];
      try {
        for await (const info of stack.js.jsm.consumers.list('JOURNAL')) {
          lines.push(
            `consumer ${info.name}: delivered ${info.delivered.consumer_seq}/${info.delivered.stream_seq}, ack floor ${info.ack_floor.consumer_seq}/${info.ack_floor.stream_seq}, pending ${info.num_pending}, ack pending ${info.num_ack_pending}, redelivered ${info.num_redelivered}, waiting pulls ${info.num_waiting}, start ${info.config.deliver_policy}${info.config.opt_start_seq ? ` ${info.config.opt_start_seq}` : ''}`,
          );
        }
      } catch (error) {
        lines.push(`consumers: ${(error as Error).message}`);
      }
      try {
        const checkpoints = await stack.db.query<{ consumer: string; stream_seq: string }>('SELECT consumer, stream_seq FROM consumer_checkpoints ORDER BY consumer');
        lines.push(`checkpoints: ${checkpoints.rows.map((r) => `${r.consumer}=${r.stream_seq}`).join(', ')}`);
        const sessions = await stack.db.query<{ application_name: string; state: string; wait: string | null; age: string; query: string }>(
          "SELECT application_name, state, wait_event_type || ':' || wait_event AS wait, (now() - state_change)::text AS age, left(query, 160) AS query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'",
        );
        for (const r of sessions.rows) lines.push(`pg session ${r.application_name} ${r.state} ${r.wait ?? ''} for ${r.age}: ${r.query}`);
      } catch (error) {
        lines.push(`postgres: ${(error as Error).message}`);
      }
      for (const [name, proc] of services) lines.push(`--- ${name} output (tail) ---`, proc.output().slice(-6000));
      return lines.join('\n');
    },
    async stop() {
      await identity.close();
      await Promise.all([...services.values()].map((s) => s.kill()));
      await stack.js?.close();
      await stack.db?.end();
      await database.drop().catch(() => undefined);
      await nats.stop();
    },
  };
  // journal-service first: it declares the streams the others use.
  for (const name of names) await stack.start(name);
  stack.db = new Client({ connectionString: database.url });
  await stack.db.connect();
  stack.js = await connectJetStream({ servers: nats.url, name: 'e2e-test' });
  return stack;
}

export async function count(db: Client, sql: string, params: unknown[] = []): Promise<number> {
  const result = await db.query<{ n: string }>(sql, params);
  return Number(result.rows[0]!.n);
}
