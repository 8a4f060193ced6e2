import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as MinioClient } from 'minio';
import { Client as PgClient } from 'pg';
import { connect } from '@nats-io/transport-node';
import { ensureSystemDeps, findMissingSystemDeps, installCommand, startLocalStack } from './index';
import { processesMentioning } from './internal/ps';

describe('startLocalStack', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tidemark-local-stack-all-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds every system dependency installed', async () => {
    assert.deepEqual(await findMissingSystemDeps(['nats', 'postgres', 's3']), []);
    await ensureSystemDeps(['nats', 'postgres', 's3'], { install: false });
  });

  it('names the exact install command for what is missing', () => {
    const command = installCommand([
      { need: 'nats', missing: ['nats-server'] },
      { need: 's3', missing: ['memcached'] },
    ]);
    assert.equal(command, 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nats-server swift swift-proxy swift-account swift-container swift-object python3-swift memcached');
  });

  it('starts NATS, Postgres and S3 together and stops them all', async () => {
    const started = Date.now();
    const stack = await startLocalStack({ dataDir: dir, ephemeral: true });
    try {
      const elapsed = Date.now() - started;
      assert.ok(stack.nats && stack.postgres && stack.s3);
      assert.ok(elapsed < 30_000, `start-up took ${elapsed} ms`);

      const nc = await connect({ servers: stack.nats.url });
      await nc.flush();
      await nc.close();

      const pg = new PgClient({ connectionString: stack.postgres.url });
      await pg.connect();
      assert.equal((await pg.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one, 1);
      await pg.end();

      await stack.s3.createBucket('stack-check');
      const s3 = new MinioClient({
        endPoint: stack.s3.host,
        port: stack.s3.port,
        useSSL: false,
        accessKey: stack.s3.accessKey,
        secretKey: stack.s3.secretKey,
        region: stack.s3.region,
        pathStyle: true,
      });
      assert.equal(await s3.bucketExists('stack-check'), true);
    } finally {
      await stack.stop();
    }
    assert.deepEqual(processesMentioning(dir), []);
  });
});
