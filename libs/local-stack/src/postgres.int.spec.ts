import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startPostgres } from './index';
import { isAlive } from './internal/groups';
import { processesMentioning } from './internal/ps';

async function query<T extends Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

describe('startPostgres', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tidemark-local-stack-pg-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('initialises a cluster, answers queries and creates databases', async () => {
    const dataDir = join(dir, 'ephemeral');
    const server = await startPostgres({ dataDir, ephemeral: true });
    try {
      assert.match(server.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
      const [settings] = await query<{ fsync: string; max_connections: string }>(server.url, "SELECT current_setting('fsync') AS fsync, current_setting('max_connections') AS max_connections");
      assert.deepEqual(settings, { fsync: 'off', max_connections: '200' });

      const url = await server.createDatabase('app_one');
      assert.equal(url, server.databaseUrl('app_one'));
      assert.equal(await server.createDatabase('app_one'), url, 'creating an existing database is a no-op');
      await query(url, 'CREATE TABLE t (id int primary key)');
      await query(url, 'INSERT INTO t VALUES (1), (2)');
      assert.deepEqual(await query(url, 'SELECT count(*)::int AS n FROM t'), [{ n: 2 }]);

      await server.dropDatabase('app_one');
      const left = await query(server.url, "SELECT 1 FROM pg_database WHERE datname = 'app_one'");
      assert.equal(left.length, 0);
      await assert.rejects(server.createDatabase('bad name; drop'), /invalid database name/);
      if (process.getuid?.() === 0) assert.notEqual((await stat(join(dataDir, 'pgdata'))).uid, 0, 'runs as the postgres user, not root');
    } finally {
      await server.stop();
    }
    assert.deepEqual(processesMentioning(dataDir), []);
  });

  it('restarts on the same directory after a SIGKILL and keeps committed data', async () => {
    const dataDir = join(dir, 'durable');
    const first = await startPostgres({ dataDir });
    const url = await first.createDatabase('journal');
    await query(url, 'CREATE TABLE events (id text primary key)');
    await query(url, "INSERT INTO events VALUES ('e1'), ('e2')");
    const pid = first.pid;
    await first.kill();
    assert.equal(isAlive(pid), false);
    assert.deepEqual(processesMentioning(dataDir), [], 'no backend survives the postmaster');
    assert.ok(existsSync(join(dataDir, 'pgdata', 'postmaster.pid')), 'the killed server left its pid file behind');

    const second = await startPostgres({ dataDir });
    try {
      assert.notEqual(second.pid, pid);
      const rows = await query<{ id: string }>(second.databaseUrl('journal'), 'SELECT id FROM events ORDER BY id');
      assert.deepEqual(
        rows.map((r) => r.id),
        ['e1', 'e2'],
      );
      await assert.rejects(startPostgres({ dataDir }), /in use/);
    } finally {
      await second.stop();
    }
    assert.deepEqual(processesMentioning(dataDir), []);
  });
});
