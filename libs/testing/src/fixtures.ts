import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresDatabase, createS3Bucket, dropPostgresDatabase, startNats, startPostgres, startS3, type NatsServerHandle, type S3Connection } from '@tidemark/local-stack';
import { atProcessEnd, removeAtProcessEnd } from './cleanup';
import { TEST_ENV } from './shared-stack';

/** A database of its own for one test file. */
export interface TestDatabase {
  name: string;
  /** `postgres://postgres@127.0.0.1:PORT/<name>`. */
  url: string;
  /** Drops the database (sessions still connected are terminated). */
  drop(): Promise<void>;
}

/** A bucket of its own for one test file, with what a client needs to use it. */
export interface TestBucket extends S3Connection {
  name: string;
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

/** The `S3_*` variables that point a service at a test bucket. */
export function bucketEnv(bucket: TestBucket): Record<string, string> {
  return { S3_ENDPOINT: bucket.endpoint, S3_ACCESS_KEY: bucket.accessKey, S3_SECRET_KEY: bucket.secretKey, S3_REGION: bucket.region, S3_BUCKET: bucket.name };
}

function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/**
 * Creates a folder under the run's temp folder (or the OS temp folder when run alone) that is removed
 * when this process ends.
 */
export async function tempDir(prefix = 'tmp'): Promise<string> {
  const base = process.env[TEST_ENV.tmp] ?? tmpdir();
  const dir = await mkdtemp(join(base, `tidemark-test-${prefix.replace(/[^A-Za-z0-9_-]/g, '-')}-`));
  removeAtProcessEnd(dir);
  return dir;
}

function noteLazyStart(variable: string, what: string): void {
  process.stderr.write(`[testing] ${variable} is not set, so this process starts its own ${what} (run through \`npm test\` to share one per run)\n`);
}

let privatePostgres: Promise<string> | undefined;
let privateS3: Promise<S3Connection> | undefined;

/** Admin URL of the shared server, or of a private one started for this process when run alone. */
function adminDatabaseUrl(): Promise<string> {
  const shared = process.env[TEST_ENV.databaseUrl];
  if (shared) return Promise.resolve(shared);
  privatePostgres ??= (async () => {
    noteLazyStart(TEST_ENV.databaseUrl, 'PostgreSQL');
    const server = await startPostgres({ dataDir: await tempDir('postgres'), ephemeral: true });
    atProcessEnd(() => server.stop());
    return server.url;
  })();
  return privatePostgres;
}

/** Connection to the shared S3 store, or to a private one started for this process when run alone. */
function s3Connection(): Promise<S3Connection> {
  const endpoint = process.env[TEST_ENV.s3Endpoint];
  if (endpoint) {
    const read = (name: string): string => {
      const value = process.env[name];
      if (!value) throw new Error(`${TEST_ENV.s3Endpoint} is set but ${name} is not; start the tests through \`npm test\``);
      return value;
    };
    return Promise.resolve({ endpoint, accessKey: read(TEST_ENV.s3AccessKey), secretKey: read(TEST_ENV.s3SecretKey), region: read(TEST_ENV.s3Region) });
  }
  privateS3 ??= (async () => {
    noteLazyStart(TEST_ENV.s3Endpoint, 'S3 store');
    const store = await startS3({ dataDir: await tempDir('s3') });
    atProcessEnd(() => store.stop());
    return { endpoint: store.endpoint, accessKey: store.accessKey, secretKey: store.secretKey, region: store.region };
  })();
  return privateS3;
}

/**
 * Creates a uniquely named database (`<prefix>_<unique>`) on the run's shared PostgreSQL server.
 * Run alone (no `TIDEMARK_TEST_DATABASE_URL`), it starts a private server for this process first,
 * stopped when the process ends.
 */
export async function testDatabase(prefix = 'test'): Promise<TestDatabase> {
  const adminUrl = await adminDatabaseUrl();
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .replace(/^([^a-z_])/, '_$1')
    .slice(0, 40);
  const name = `${clean}_${uniqueSuffix()}`;
  const url = await createPostgresDatabase(adminUrl, name);
  return { name, url, drop: () => dropPostgresDatabase(adminUrl, name) };
}

/**
 * Creates a uniquely named bucket (`<prefix>-<unique>`) on the run's shared S3 store.
 * Run alone (no `TIDEMARK_TEST_S3_ENDPOINT`), it starts a private store for this process first,
 * stopped when the process ends.
 */
export async function testBucket(prefix = 'test'): Promise<TestBucket> {
  const connection = await s3Connection();
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .replace(/^[^a-z0-9]+/, '')
      .slice(0, 40) || 'test';
  const name = `${clean}-${uniqueSuffix()}`;
  await createS3Bucket(connection, name);
  return { name, ...connection };
}

/**
 * Starts a fresh nats-server with JetStream on free ports in a temp folder, for this test file alone.
 * It is stopped (and its folder removed) when the process ends if the test has not stopped it.
 */
export async function testNats(): Promise<NatsServerHandle> {
  const server = await startNats({ dataDir: await tempDir('nats') });
  atProcessEnd(() => server.stop());
  return server;
}
