import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accessOf, type AccessRules } from '@tidemark/access';
import { AccessRulesStore, IdentityStore, TokenService, generateSigningKey, recordAudit, type IdentityDb, type OperatorPrincipal } from '@tidemark/auth';
import { createDataSource, inTransaction, migrateWithLock, type DataSource } from '@tidemark/persistence';
import { testDatabase, type TestDatabase } from '@tidemark/testing';

const actor: OperatorPrincipal = { kind: 'operator', name: 'ana', roles: ['admin'], tokenId: 'tok-1' };

const V1: AccessRules = {
  version: 1,
  roles: {
    annotator: { write: { annotation: ['label', 'tags'] } },
    pipeline: { write: { job: '*', output: '*' } },
  },
};
const V2: AccessRules = { ...V1, version: 2, defaultRole: 'annotator', roles: { ...V1.roles, reviewer: { write: { annotation: '*' }, resolve: true } } };

describe('access rules and device roles in Postgres', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let rules: AccessRulesStore;
  let identity: IdentityStore;

  before(async () => {
    db = await testDatabase('access_rules');
    ds = createDataSource({ url: db.url, poolSize: 4 });
    await ds.initialize();
    await migrateWithLock(ds);
    const sql: IdentityDb = { query: (text, params) => ds.query(text, params), transaction: (fn) => inTransaction(ds, fn) };
    rules = new AccessRulesStore(sql);
    identity = new IdentityStore(sql, new TokenService(generateSigningKey('access-int')), { accessTtlSeconds: 60, refreshTtlSeconds: 3600 });
    for (const ws of ['lab', 'open']) await identity.ensureWorkspace(ws, ws);
    for (const [deviceId, role] of [
      ['tablet', 'annotator'],
      ['runner', 'pipeline'],
      ['plain', null],
      ['intern', 'intern'],
    ] as const) {
      assert.ok((await identity.registerDevice({ workspace: 'lab', deviceId, site: null, label: null, role }, new Date())).ok);
      assert.ok((await identity.registerDevice({ workspace: 'open', deviceId, site: null, label: null, role }, new Date())).ok);
    }
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  const audits = async (action: string) =>
    (await ds.query('SELECT actor, target, reason, detail FROM audit_log WHERE action = $1 ORDER BY id', [action])) as { actor: string; target: any; reason: string; detail: any }[];

  /** What a gateway caches per device and the store's own read agree with the rules evaluated in memory. */
  async function assertAccess(workspace: string, published: AccessRules | undefined): Promise<void> {
    for (const [deviceId, role] of [
      ['tablet', 'annotator'],
      ['runner', 'pipeline'],
      ['plain', null],
      ['intern', 'intern'],
    ] as const) {
      const expected = accessOf(published, role);
      assert.deepStrictEqual((await rules.authority(workspace, deviceId)).access, expected, `${workspace}/${deviceId} as cached at the gateway`);
      assert.deepStrictEqual(await rules.access(workspace, deviceId), expected, `${workspace}/${deviceId} from the store`);
    }
  }

  it('a workspace without rules is open: every device unrestricted, nothing to show', async () => {
    assert.equal(await rules.current('open'), undefined);
    assert.deepStrictEqual(await rules.versions('open'), []);
    await assertAccess('open', undefined);
    assert.deepStrictEqual((await rules.authority('open', 'tablet')).access, { kind: 'unrestricted' });
  });

  it('publishes version 1, audited, and it is in force at the very next lookup', async () => {
    const outcome = await rules.publish('lab', V1, actor, 'lock the lab down');
    assert.equal(outcome.kind, 'created');
    assert.deepStrictEqual(outcome.kind === 'created' && { ...outcome.record, publishedAt: undefined }, { workspace: 'lab', version: 1, rules: V1, publishedAt: undefined, publishedBy: 'ana' });
    await assertAccess('lab', V1);
    await assertAccess('open', undefined);
    const [audit] = await audits('access-rules.publish');
    assert.deepStrictEqual(audit, { actor: 'ana', target: { workspace: 'lab', version: 1 }, reason: 'lock the lab down', detail: { previous: null, rules: V1 } });
  });

  it('answers a retried publish identical, and refuses a taken or skipped version with the next one', async () => {
    assert.equal((await rules.publish('lab', structuredClone(V1), actor, 'again')).kind, 'identical');
    assert.deepStrictEqual(pick(await rules.publish('lab', { ...V1, defaultRole: 'annotator' }, actor, 'x')), { kind: 'conflict', next: 2 });
    assert.deepStrictEqual(pick(await rules.publish('lab', { ...V2, version: 3 }, actor, 'x')), { kind: 'conflict', next: 2 });
    const invalid = await rules.publish('lab', { version: 2, roles: { x: { write: 'all' } } }, actor, 'x');
    assert.deepStrictEqual(invalid.kind === 'invalid' && invalid.errors.map((e) => e.pointer), ['/roles/x/write']);
    assert.equal((await rules.publish('nowhere', V1, actor, 'x')).kind, 'no-workspace');
    assert.equal((await audits('access-rules.publish')).length, 1, 'only what was published is audited');
  });

  it('the next version takes effect at once; every version stays readable', async () => {
    assert.equal((await rules.publish('lab', V2, actor, 'reviewers, and a default role')).kind, 'created');
    await assertAccess('lab', V2);
    assert.deepStrictEqual((await rules.authority('lab', 'plain')).access, { kind: 'role', version: 2, role: 'annotator', rules: V2.roles.annotator });
    assert.deepStrictEqual((await rules.current('lab'))?.version, 2);
    assert.deepStrictEqual(
      (await rules.versions('lab')).map((v) => [v.version, v.rules]),
      [
        [1, V1],
        [2, V2],
      ],
    );
  });

  it('two publishes of the same next version race: one is created, the other refused or identical', async () => {
    const a = { ...V2, version: 3, description: 'a' };
    const b = { ...V2, version: 3, description: 'b' };
    const outcomes = await Promise.all([rules.publish('lab', a, actor, 'a'), rules.publish('lab', b, actor, 'b')]);
    assert.deepStrictEqual(outcomes.map((o) => o.kind).sort(), ['conflict', 'created']);
    await rules.publish('lab', { ...V2, version: 4 }, actor, 'back to v2');
  });

  it('a device role changes at once, audited with the role it had', async () => {
    const changed = await identity.setRole('lab', 'runner', 'reviewer', (q, { previous }) =>
      recordAudit(q, { actor, action: 'device.role', target: { workspace: 'lab', deviceId: 'runner' }, reason: 'promoted', detail: { role: 'reviewer', previous } }),
    );
    assert.ok(changed.ok);
    const record = changed.value;
    assert.equal(record.role, 'reviewer');
    assert.deepStrictEqual((await rules.authority('lab', 'runner')).access, { kind: 'role', version: 4, role: 'reviewer', rules: V2.roles.reviewer });
    assert.deepStrictEqual(
      (await audits('device.role')).map((a) => a.detail),
      [{ role: 'reviewer', previous: 'pipeline' }],
    );
    assert.deepStrictEqual((await identity.device('lab', 'runner'))?.role, 'reviewer');
    const ghost = await identity.setRole('lab', 'ghost', null);
    assert.ok(!ghost.ok);
    assert.match(ghost.failure.detail, /not registered/);
    assert.equal(ghost.failure.code, 'device-unknown');
  });
});

function pick(outcome: { kind: string; next?: number }): { kind: string; next?: number } {
  return { kind: outcome.kind, ...(outcome.next !== undefined ? { next: outcome.next } : {}) };
}
