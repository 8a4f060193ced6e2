import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IdentityStore, TokenService, generateSigningKey, type DeviceCredentials, type IdentityResult } from '@tidemark/auth';
import { createDataSource, inTransaction, migrateWithLock, type DataSource } from '@tidemark/persistence';
import { testDatabase, type TestDatabase } from '@tidemark/testing';
import { identityProblem } from './identity-problems';

/** The problem code a refresh was refused with (as the gateway answers it), or 'ok' when it issued a pair. */
async function outcome(attempt: Promise<IdentityResult<unknown>>): Promise<string> {
  const result = await attempt;
  return result.ok ? 'ok' : String((identityProblem(result.failure).problem as { code?: string }).code);
}

/** The pair a refresh issued (failing the test when it was refused). */
async function issued(attempt: Promise<IdentityResult<DeviceCredentials>>): Promise<DeviceCredentials> {
  const result = await attempt;
  assert.ok(result.ok, result.ok ? '' : result.failure.code);
  return result.value;
}

describe('refresh token grace rule, atomically (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: IdentityStore;
  const tokens = new TokenService(generateSigningKey('refresh-int'));

  before(async () => {
    db = await testDatabase('refresh_grace');
    ds = createDataSource({ url: db.url, poolSize: 10 });
    await ds.initialize();
    await migrateWithLock(ds);
    store = new IdentityStore({ query: (sql, params) => ds.query(sql, params), transaction: (fn) => inTransaction(ds, fn) }, tokens, {
      accessTtlSeconds: 60,
      refreshTtlSeconds: 3600,
      refreshGraceSeconds: 120,
    });
    await store.ensureWorkspace('ws', 'WS');
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  const enrol = (deviceId: string) => issued(store.registerDevice({ workspace: 'ws', deviceId, site: null, label: null }, new Date()));
  const live = async (deviceId: string): Promise<number> => Number((await ds.query('SELECT count(*) AS n FROM refresh_tokens WHERE device_id = $1 AND used_at IS NULL', [deviceId]))[0].n);

  it('five concurrent presentations of an unused token: exactly one winner, the rest refresh-reused, the winner’s login intact', async () => {
    const device = await enrol('racer');
    const now = new Date();
    const results = await Promise.all(Array.from({ length: 5 }, () => outcome(store.refresh(device.refreshToken, now))));
    assert.deepEqual([...results].sort(), ['ok', 'refresh-reused', 'refresh-reused', 'refresh-reused', 'refresh-reused']);
    assert.equal(await live('racer'), 1, 'one unused refresh token: the winner’s');
  });

  it('a spent token is re-presented once within the grace window; a second re-presentation is reuse and ends the login', async () => {
    const device = await enrol('forgetful');
    const first = await issued(store.refresh(device.refreshToken, new Date()));
    assert.ok(first.refreshToken);
    const again = await issued(store.refresh(device.refreshToken, new Date(Date.now() + 5)));
    assert.ok(again.refreshToken, 'the lost answer is forgiven once');
    assert.equal(await outcome(store.refresh(device.refreshToken, new Date(Date.now() + 10))), 'refresh-reused');
    assert.equal(await live('forgetful'), 0, 'every refresh token of the login is revoked');
  });

  it('five concurrent re-presentations of a spent token: exactly one winner', async () => {
    const device = await enrol('retrier');
    await issued(store.refresh(device.refreshToken, new Date()));
    const later = new Date(Date.now() + 5);
    const results = await Promise.all(Array.from({ length: 5 }, () => outcome(store.refresh(device.refreshToken, later))));
    assert.deepEqual([...results].sort(), ['ok', 'refresh-reused', 'refresh-reused', 'refresh-reused', 'refresh-reused']);
    assert.equal(await live('retrier'), 1);
  });
});
