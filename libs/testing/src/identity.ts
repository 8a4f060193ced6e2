import { Client } from 'pg';
import { IdentityStore, TokenService, generateSigningKey, type DeviceCredentials } from '@tidemark/auth';

/** The access a test acts with: credentials and the headers that carry them. */
export interface TestDevice extends DeviceCredentials {
  headers: Record<string, string>;
}

/**
 * Identities for a test that runs services against its own database and signing keys: devices registered
 * straight in the database (a service must have started and migrated it first) and operator tokens signed
 * with the same keys the services verify with.
 */
export interface TestIdentity {
  /** The `AUTH_SIGNING_KEYS` value the services must run with. */
  signingKeys: string;
  /** Mints an operator token with the given roles (and lifetime). */
  operatorToken(name: string, roles: ('ops' | 'admin')[], ttlSeconds?: number): Promise<string>;
  /** Registers a device (creating its workspace if needed) and returns its credentials. */
  device(workspace: string, deviceId: string, site?: string): Promise<TestDevice>;
  /** The headers of a device, registered on first use (workspace `default` unless named). */
  headersFor(deviceId: string, workspace?: string): Promise<Record<string, string>>;
  close(): Promise<void>;
}

/** Identities on `databaseUrl`, signed with `signingKeys` (a fresh key unless given). */
export function testIdentity(databaseUrl: string, signingKeys: string = generateSigningKey('test')): TestIdentity {
  const tokens = new TokenService(signingKeys);
  // One connection, opened on first use; its statements and transactions run one at a time, so a
  // statement never lands inside another registration's transaction.
  let opened: Promise<{ client: Client; store: IdentityStore }> | undefined;
  let serial: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = serial.then(fn);
    serial = run.catch(() => undefined);
    return run;
  };
  const open = (): Promise<{ client: Client; store: IdentityStore }> =>
    (opened ??= (async () => {
      const client = new Client({ connectionString: databaseUrl });
      // A connection lost (Postgres restarted under a crash test) is opened again on next use.
      client.on('error', () => (opened = undefined));
      await client.connect();
      const direct = async (sql: string, params?: unknown[]): Promise<any> => (await client.query(sql, params)).rows;
      const db = {
        query: (sql: string, params?: unknown[]) => exclusive(() => direct(sql, params)),
        transaction: <T>(fn: (q: { query: typeof direct }) => Promise<T>): Promise<T> =>
          exclusive(async () => {
            await client.query('BEGIN');
            try {
              const result = await fn({ query: direct });
              await client.query('COMMIT');
              return result;
            } catch (error) {
              await client.query('ROLLBACK');
              throw error;
            }
          }),
      };
      return { client, store: new IdentityStore(db, tokens, { accessTtlSeconds: 3600, refreshTtlSeconds: 86_400 }) };
    })());
  const known = new Map<string, Promise<TestDevice>>();
  const identity: TestIdentity = {
    signingKeys,
    operatorToken: async (name, roles, ttlSeconds = 3600) => (await tokens.issueOperator({ name, roles }, new Date(), ttlSeconds)).token,
    async device(workspace, deviceId, site) {
      const { store } = await open();
      await store.ensureWorkspace(workspace, workspace);
      const registered = await store.registerDevice({ workspace, deviceId, site: site ?? null, label: null }, new Date());
      if (!registered.ok) throw new Error(`registering ${workspace}/${deviceId}: ${registered.failure.detail} (${registered.failure.code})`);
      const credentials = registered.value;
      return { ...credentials, headers: { authorization: `Bearer ${credentials.accessToken}` } };
    },
    async headersFor(deviceId, workspace = 'default') {
      const key = `${workspace}\u0000${deviceId}`;
      if (!known.has(key)) known.set(key, identity.device(workspace, deviceId));
      return (await known.get(key)!).headers;
    },
    async close() {
      if (opened) await (await opened).client.end().catch(() => undefined);
    },
  };
  return identity;
}
