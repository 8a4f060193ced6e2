import { findFreePort } from '@tidemark/local-stack';
import { testDatabase, testNats } from './fixtures';
import { startServiceProcess, type ServiceName, type ServiceProcess } from './service-process';
import { connectJetStream, type JetStreamConnection } from '@tidemark/messaging';
import { Client } from 'pg';

/** A running slice for end-to-end tests: a fresh nats-server and database, and the apps as processes. */
export interface SliceStack {
  env: Record<string, string>;
  services: Map<ServiceName, ServiceProcess>;
  db: Client;
  js: JetStreamConnection;
  start(name: ServiceName, extraEnv?: Record<string, string>, options?: { waitReady?: boolean }): Promise<ServiceProcess>;
  url(name: ServiceName): string;
  stop(): Promise<void>;
}

export async function startSlice(names: ServiceName[]): Promise<SliceStack> {
  const nats = await testNats();
  const database = await testDatabase('slice');
  const env: Record<string, string> = { NATS_URL: nats.url, DATABASE_URL: database.url, JOURNAL_PARTITIONS: '4' };
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
    async stop() {
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


