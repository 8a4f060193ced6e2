import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client as MinioClient } from 'minio';
import { Client as PgClient } from 'pg';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { eventually, tempDir, testBucket, testDatabase, testNats, TEST_ENV } from './index';

const execFileAsync = promisify(execFile);

describe('test fixtures on the shared stack', () => {
  it('gives each caller a database of its own', async () => {
    const a = await testDatabase('orders');
    const b = await testDatabase('orders');
    assert.notEqual(a.name, b.name);
    assert.match(a.name, /^orders_[a-z0-9]+$/);
    const client = new PgClient({ connectionString: a.url });
    await client.connect();
    try {
      assert.equal((await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db, a.name);
    } finally {
      await client.end();
    }
    await a.drop();
    await b.drop();
    const admin = new PgClient({ connectionString: process.env[TEST_ENV.databaseUrl] });
    await admin.connect();
    try {
      const left = await admin.query('SELECT 1 FROM pg_database WHERE datname = ANY($1)', [[a.name, b.name]]);
      assert.equal(left.rowCount, 0);
    } finally {
      await admin.end();
    }
  });

  it('gives each caller a bucket of its own', async () => {
    const bucket = await testBucket('Assets_Upload');
    assert.match(bucket.name, /^assets-upload-[a-z0-9]+$/);
    const url = new URL(bucket.endpoint);
    const s3 = new MinioClient({ endPoint: url.hostname, port: Number(url.port), useSSL: false, accessKey: bucket.accessKey, secretKey: bucket.secretKey, region: bucket.region, pathStyle: true });
    await s3.putObject(bucket.name, 'k', Buffer.from('v'));
    const stat = await s3.statObject(bucket.name, 'k');
    assert.equal(stat.size, 1);
  });

  it('starts a private nats-server with JetStream', async () => {
    const nats = await testNats();
    try {
      const nc = await connect({ servers: nats.url });
      try {
        await (await jetstreamManager(nc)).streams.add({ name: 'T', subjects: ['t.>'] });
        const ack = await jetstream(nc).publish('t.one', 'x');
        assert.equal(ack.seq, 1);
        const info = await eventually(async () => {
          const state = (await (await jetstreamManager(nc)).streams.info('T')).state;
          assert.equal(state.messages, 1);
          return state;
        });
        assert.equal(info.last_seq, 1);
      } finally {
        await nc.close();
      }
    } finally {
      await nats.stop();
    }
  });

  it('makes temp folders under the run folder', async () => {
    const dir = await tempDir('scratch');
    assert.ok(existsSync(dir));
    const runDir = process.env[TEST_ENV.tmp];
    if (runDir) assert.ok(dir.startsWith(runDir), `${dir} is under ${runDir}`);
  });
});

describe('a test file run alone', () => {
  it('starts private servers on demand and removes them when the process ends', async () => {
    const script = `
      const t = require(${JSON.stringify(join(__dirname, 'index.js'))});
      (async () => {
        const db = await t.testDatabase('alone');
        const bucket = await t.testBucket('alone');
        const nats = await t.testNats();
        console.log(JSON.stringify({ db: db.url, bucket: bucket.endpoint, natsDir: nats.dataDir }));
      })().catch((error) => { console.error(error); process.exitCode = 1; });
    `;
    const scratch = await tempDir('alone');
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: scratch };
    for (const name of Object.values(TEST_ENV)) delete env[name];
    const { stdout, stderr } = await execFileAsync(process.execPath, ['-e', script], { env, timeout: 60_000 });
    assert.match(stderr, /TIDEMARK_TEST_DATABASE_URL is not set/);
    const started = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { db: string; bucket: string; natsDir: string };
    assert.match(started.db, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/alone_/);
    assert.match(started.bucket, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(started.natsDir.startsWith(scratch));
    assert.deepEqual(await readdir(scratch), [], 'every temp folder is removed');
    const { stdout: ps } = await execFileAsync('ps', ['-eo', 'args=']);
    assert.deepEqual(
      ps.split('\n').filter((line) => line.includes(scratch)),
      [],
      'no server is left running',
    );
  });
});
