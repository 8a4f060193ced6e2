import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { testDatabase, type TestDatabase } from '@tidemark/testing';
import { createDataSource, inTransaction, type DataSource } from './index';

/** A transaction that cannot begin (its pooled connection died with the server) gives its connection back. */
describe('inTransaction after the server ended every pooled connection (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let admin: Client;
  before(async () => {
    db = await testDatabase('transactions');
    ds = createDataSource({ url: db.url, poolSize: 2, applicationName: 'tidemark-transaction-test' });
    await ds.initialize();
    admin = new Client({ connectionString: db.url });
    await admin.connect();
  });
  after(async () => {
    await admin?.end();
    await ds?.destroy();
    await db?.drop();
  });

  it('fails while the pool hands out dead connections, then works again: no connection is leaked', async () => {
    // Two idle connections in the pool, as after any busy moment.
    await Promise.all([ds.query('SELECT pg_sleep(0.05)'), ds.query('SELECT pg_sleep(0.05)')]);
    // Postgres ends them (as a restart does); the pool has not noticed yet.
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tidemark-transaction-test'");
    const failures: string[] = [];
    for (let i = 0; i < 4; i++) {
      const outcome = await Promise.race([
        inTransaction(ds, async (q) => (await q.query('SELECT 1 AS one'))[0].one as number).then(
          (one) => `ok ${one}`,
          (error: unknown) => `failed: ${(error as Error).message}`,
        ),
        new Promise<string>((resolve) => setTimeout(() => resolve('no connection within 5 s'), 5000).unref()),
      ]);
      failures.push(outcome);
      if (outcome.startsWith('ok')) break;
    }
    assert.notDeepEqual(failures.at(-1), 'no connection within 5 s', `a transaction waited for a leaked connection: ${failures.join(' | ')}`);
    assert.equal(failures.at(-1), 'ok 1', failures.join(' | '));
    // And the pool stays usable for more than its size.
    for (let i = 0; i < 3; i++) assert.equal(await inTransaction(ds, async (q) => (await q.query('SELECT 2 AS two'))[0].two as number), 2);
  });
});

/** A pool whose every connection is held (a hung query, a leak) makes callers fail in bounded time, as an outage. */
describe('waiting for a pooled connection is bounded (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  before(async () => {
    db = await testDatabase('pool-wait');
    ds = createDataSource({ url: db.url, poolSize: 1, connectTimeoutMs: 800, applicationName: 'tidemark-pool-wait-test' });
    await ds.initialize();
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('fails with "timeout exceeded when trying to connect" after connectTimeoutMs, then works once the connection is free', async () => {
    const holder = ds.createQueryRunner();
    await holder.connect();
    const started = Date.now();
    const outcome = await Promise.race([
      ds.query('SELECT 1').then(
        () => 'answered',
        (error: unknown) => error as Error,
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve('still waiting after 10 s'), 10_000).unref()),
    ]);
    assert.ok(outcome instanceof Error, `expected a bounded failure, got: ${String(outcome)}`);
    assert.match(outcome.message, /timeout exceeded when trying to connect/);
    // That message is what isDependencyUnavailable (libs/platform) classifies as an outage: waited out, never parked.
    assert.ok(Date.now() - started >= 700, 'not before the timeout');
    await holder.release();
    assert.deepEqual(await ds.query('SELECT 1 AS one'), [{ one: 1 }]);
  });
});
