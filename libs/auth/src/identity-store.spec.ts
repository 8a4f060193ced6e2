import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IdentityStore, type IdentityDb } from './identity-store';
import { generateSigningKey, TokenService } from './tokens';
import type { SqlExecutor } from './audit';

/** A database that answers every query with one plausible row and records which executor ran it, and whether its transaction committed. */
function fakeDb(): { db: IdentityDb; log: { sql: string; inTx: boolean }[]; outcomes: ('commit' | 'rollback')[]; tx: SqlExecutor[] } {
  const log: { sql: string; inTx: boolean }[] = [];
  const outcomes: ('commit' | 'rollback')[] = [];
  const tx: SqlExecutor[] = [];
  const row = { workspace: 'w', device_id: 'd', site: null, label: null, status: 'active', generation: 1, created_at: new Date(), revoked_at: null, last_pushed_seq: '0', last_push_at: null };
  const answer = (sql: string, inTx: boolean) => {
    log.push({ sql, inTx });
    return Promise.resolve([row]);
  };
  const db: IdentityDb = {
    query: (sql) => answer(sql, false),
    async transaction(fn) {
      const q: SqlExecutor = { query: (sql) => answer(sql, true) };
      tx.push(q);
      try {
        const result = await fn(q);
        outcomes.push('commit');
        return result;
      } catch (error) {
        outcomes.push('rollback');
        throw error;
      }
    },
  };
  return { db, log, outcomes, tx };
}

describe('IdentityStore: audit entries in the change’s own transaction', () => {
  const tokens = new TokenService(generateSigningKey('unit'));
  const now = new Date('2030-01-01T00:00:00Z');
  const calls: [string, (store: IdentityStore, audit: (q: SqlExecutor) => Promise<void>) => Promise<unknown>][] = [
    ['ensureWorkspace', (s, a) => s.ensureWorkspace('w', 'W', a)],
    ['registerDevice', (s, a) => s.registerDevice({ workspace: 'w', deviceId: 'd', site: null, label: null }, now, a)],
    ['reenrol', (s, a) => s.reenrol('w', 'd', now, a)],
    ['revoke', (s, a) => s.revoke('w', 'd', now, a)],
    ['revokeOperatorToken', (s, a) => s.revokeOperatorToken('t', 'op', 'why', a)],
  ];
  for (const [name, call] of calls) {
    it(`${name} writes the audit entry with the transaction's executor, after the change`, async () => {
      const { db, log, outcomes, tx } = fakeDb();
      const store = new IdentityStore(db, tokens, { accessTtlSeconds: 60, refreshTtlSeconds: 600 });
      await call(store, (q) => q.query('INSERT INTO audit_log'));
      assert.deepEqual(outcomes, ['commit']);
      assert.equal(tx.length, 1);
      assert.ok(
        log.every((l) => l.inTx),
        'every statement ran in the transaction',
      );
      assert.equal(log.at(-1)!.sql, 'INSERT INTO audit_log', 'the audit entry is the last statement');
    });

    it(`${name} rolls the change back when its audit entry fails`, async () => {
      const { db, outcomes } = fakeDb();
      const store = new IdentityStore(db, tokens, { accessTtlSeconds: 60, refreshTtlSeconds: 600 });
      await assert.rejects(
        call(store, () => Promise.reject(new Error('audit_log is full'))),
        /audit_log is full/,
      );
      assert.deepEqual(outcomes, ['rollback']);
    });
  }
});
