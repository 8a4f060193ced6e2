import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSystemDeps, startLocalStack, type LocalStack } from '@tidemark/local-stack';

/** Environment variables through which a test run hands the shared servers to its test files. */
export const TEST_ENV = {
  /** Admin URL of the shared Postgres server (`postgres://postgres@127.0.0.1:PORT/postgres`). */
  databaseUrl: 'TIDEMARK_TEST_DATABASE_URL',
  /** `http://127.0.0.1:PORT` of the shared S3 store (path-style). */
  s3Endpoint: 'TIDEMARK_TEST_S3_ENDPOINT',
  s3AccessKey: 'TIDEMARK_TEST_S3_ACCESS_KEY',
  s3SecretKey: 'TIDEMARK_TEST_S3_SECRET_KEY',
  s3Region: 'TIDEMARK_TEST_S3_REGION',
  /** The run's temp folder; test fixtures put their folders under it. */
  tmp: 'TIDEMARK_TEST_TMP',
} as const;

/** Name of one of the {@link TEST_ENV} variables. */
export type TestEnvName = (typeof TEST_ENV)[keyof typeof TEST_ENV];

/** The servers shared by one test run. */
export interface SharedStack {
  /** Variables to put into the environment of every test file process. */
  env: Readonly<Record<TestEnvName, string>>;
  /** Stops every server and removes the temp folder. */
  stop(): Promise<void>;
}

/**
 * Starts the servers one test run shares: a throwaway PostgreSQL (no fsync) and S3 store in a fresh
 * temp folder (`<os tmp>/tidemark-test-*`), on free ports. Checks (and on Debian as root installs) the
 * system packages for NATS, PostgreSQL and Swift first. Test files get their own database, bucket and
 * nats-server through {@link testDatabase}, {@link testBucket} and {@link testNats}.
 */
export async function startSharedStack(): Promise<SharedStack> {
  await ensureSystemDeps(['nats', 'postgres', 's3']);
  const dir = await mkdtemp(join(tmpdir(), 'tidemark-test-'));
  let started: LocalStack;
  try {
    started = await startLocalStack({ dataDir: dir, ephemeral: true, nats: false, postgres: true, s3: true });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const { postgres, s3 } = started;
  if (!postgres || !s3) throw new Error('startLocalStack returned without postgres or s3');
  return {
    env: {
      [TEST_ENV.databaseUrl]: postgres.url,
      [TEST_ENV.s3Endpoint]: s3.endpoint,
      [TEST_ENV.s3AccessKey]: s3.accessKey,
      [TEST_ENV.s3SecretKey]: s3.secretKey,
      [TEST_ENV.s3Region]: s3.region,
      [TEST_ENV.tmp]: dir,
    },
    async stop() {
      try {
        await started.stop();
      } finally {
        await rm(dir, { recursive: true, force: true, maxRetries: 3 });
      }
    },
  };
}
