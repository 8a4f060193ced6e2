import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AccessRulesRepository, AuditRepository, DevicesRepository, hashRefreshToken } from '@tidemark/auth';
import { createDataSource, inTransaction, migrateWithLock, type DataSource } from '@tidemark/persistence';
import { testDatabase, type TestDatabase } from '@tidemark/testing';

// libs/auth's repositories against real Postgres. They live here, not in libs/auth: the test harness
// (@tidemark/testing) and the migrations (@tidemark/persistence) depend on libs/auth, so it cannot depend on them.
describe('identity repositories (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let devices: DevicesRepository;
  const now = new Date('2030-01-01T00:00:00Z');

  before(async () => {
    db = await testDatabase('identity_repositories');
    ds = createDataSource({ url: db.url, poolSize: 4 });
    await ds.initialize();
    await migrateWithLock(ds);
    devices = new DevicesRepository(ds);
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  describe('DevicesRepository', () => {
    it('creates workspaces once and lists them with their device counts', async () => {
      assert.equal(await devices.insertWorkspace('ws', 'Workspace'), true);
      assert.equal(await devices.insertWorkspace('ws', 'Again'), false);
      assert.equal(await devices.workspaceExists('ws'), true);
      assert.equal(await devices.workspaceExists('nope'), false);
      assert.equal(await devices.insertDevice({ workspace: 'ws', deviceId: 'a', site: 's1', label: 'A', role: 'annotator', claims: { projects: ['p1'] } }, now), true);
      assert.equal(await devices.insertDevice({ workspace: 'ws', deviceId: 'a', site: null, label: null, role: null, claims: {} }, now), false, 'an id is registered once');
      assert.equal(await devices.insertDevice({ workspace: 'ws', deviceId: 'b', site: null, label: null, role: null, claims: {} }, now), true);
      const [ws] = (await devices.listWorkspaces()).filter((w) => w.workspace === 'ws');
      assert.deepEqual({ ...ws, createdAt: typeof ws?.createdAt }, { workspace: 'ws', name: 'Workspace', createdAt: 'string', devices: 2 });
    });

    it('maps a device row, and pages devices by id', async () => {
      assert.deepEqual(await devices.device('ws', 'a'), {
        workspace: 'ws',
        deviceId: 'a',
        site: 's1',
        label: 'A',
        role: 'annotator',
        claims: { projects: ['p1'] },
        status: 'active',
        generation: 1,
        createdAt: now.toISOString(),
        revokedAt: null,
        lastPushedSeq: 0,
        lastPushAt: null,
      });
      assert.equal(await devices.device('ws', 'ghost'), undefined);
      assert.deepEqual(
        (await devices.listDevices('ws', 1, null)).map((d) => d.deviceId),
        ['a'],
      );
      assert.deepEqual(
        (await devices.listDevices('ws', 10, 'a')).map((d) => d.deviceId),
        ['b'],
      );
      assert.deepEqual(await devices.standing('ws', 'a'), { status: 'active', generation: 1 });
    });

    it('revokes and re-enrols with a new generation each time, keeping the first revocation time', async () => {
      const revoked = await devices.revoke('ws', 'b', now);
      assert.deepEqual([revoked?.status, revoked?.generation, revoked?.revokedAt], ['revoked', 2, now.toISOString()]);
      assert.equal((await devices.revoke('ws', 'b', new Date('2031-01-01T00:00:00Z')))?.revokedAt, now.toISOString());
      assert.deepEqual(await devices.reenrol('ws', 'b'), { site: null, generation: 4 });
      assert.deepEqual(await devices.standing('ws', 'b'), { status: 'active', generation: 4 });
      assert.equal(await devices.reenrol('ws', 'ghost'), undefined);
      assert.equal(await devices.revoke('ws', 'ghost', now), undefined);
    });

    it('changes role and claims under the row lock', async () => {
      await inTransaction(ds, async (q) => {
        const tx = new DevicesRepository(q);
        assert.deepEqual(await tx.lockRole('ws', 'a'), { role: 'annotator' });
        await tx.setRole('ws', 'a', 'reviewer');
        assert.deepEqual(await tx.lockClaims('ws', 'a'), { claims: { projects: ['p1'] } });
        await tx.setClaims('ws', 'a', { projects: ['p2'] });
        assert.deepEqual(await tx.lockStanding('ws', 'a'), { status: 'active', generation: 1, site: 's1' });
      });
      const a = await devices.device('ws', 'a');
      assert.deepEqual([a?.role, a?.claims], ['reviewer', { projects: ['p2'] }]);
      assert.equal(await devices.lockRole('ws', 'ghost'), undefined);
      assert.equal(await devices.lockClaims('ws', 'ghost'), undefined);
    });

    it('keeps refresh tokens by hash: owner, spending, superseding, families', async () => {
      const [t1, t2, t3] = ['one', 'two', 'three'].map(hashRefreshToken);
      const [f, g] = ['00000000-0000-4000-8000-00000000000f', '00000000-0000-4000-8000-00000000000a'];
      for (const hash of [t1!, t2!]) await devices.insertRefreshToken({ hash, workspace: 'ws', deviceId: 'a', family: f!, generation: 1, issuedAt: now, expiresAt: new Date('2030-02-01T00:00:00Z') });
      await devices.insertRefreshToken({ hash: t3!, workspace: 'ws', deviceId: 'b', family: g!, generation: 4, issuedAt: now, expiresAt: new Date('2030-02-01T00:00:00Z') });
      assert.deepEqual(await devices.refreshTokenOwner(t1!), { workspace: 'ws', deviceId: 'a' });
      assert.equal(await devices.refreshTokenOwner(hashRefreshToken('unknown')), undefined);
      const first = new Date('2030-01-01T00:01:00Z');
      await devices.spendRefreshToken(t1!, first, t2!);
      await devices.spendRefreshToken(t1!, new Date('2030-01-01T00:05:00Z'), t2!);
      const row = await devices.lockRefreshToken(t1!);
      assert.deepEqual([row?.family, row?.generation, row?.used_at, row?.replaced_by], [f, 1, first, t2], 'the first use is kept');
      assert.equal(await devices.lockRefreshTokenUse(t2!), null, 'unused');
      assert.equal(await devices.lockRefreshTokenUse(hashRefreshToken('unknown')), undefined);
      await devices.supersedeRefreshToken(t2!, new Date('2030-01-01T00:02:00Z'), t3!);
      await devices.spendRefreshToken(t1!, first, t3!);
      assert.deepEqual(await devices.usesOfSharedSuccessor(f!, t3!, t1!), [new Date('2030-01-01T00:02:00Z')]);
      await devices.deleteRefreshTokenFamily(f!);
      assert.equal(await devices.lockRefreshToken(t1!), undefined);
      await devices.deleteRefreshTokensOf('ws', 'b');
      assert.equal(await devices.lockRefreshToken(t3!), undefined);
    });

    it('revokes an operator token once', async () => {
      assert.equal(await devices.operatorTokenRevoked('tok'), false);
      await devices.revokeOperatorToken('tok', 'ana', 'left');
      await devices.revokeOperatorToken('tok', 'ana', 'again');
      assert.equal(await devices.operatorTokenRevoked('tok'), true);
      assert.deepEqual(await ds.query('SELECT revoked_by, reason FROM operator_token_revocations'), [{ revoked_by: 'ana', reason: 'left' }]);
    });
  });

  describe('AccessRulesRepository', () => {
    it('keeps every version, the highest in force, and joins a device’s access in one statement', async () => {
      const rules = new AccessRulesRepository(ds);
      assert.equal(await rules.current('ws'), undefined);
      assert.deepEqual(await rules.accessColumns('ws', 'a'), { rules_version: null, acting_role: 'reviewer', role_rules: null });
      await rules.insert('ws', { version: 1, roles: { reviewer: { write: { note: '*' } } } }, 'ana');
      const v2 = await rules.insert('ws', { version: 2, defaultRole: 'reviewer', roles: { reviewer: { write: { note: ['title'] } } } }, 'bob');
      assert.deepEqual([v2.workspace, v2.version, v2.publishedBy, typeof v2.publishedAt], ['ws', 2, 'bob', 'string']);
      assert.equal((await rules.current('ws'))?.version, 2);
      assert.deepEqual(
        (await rules.versions('ws')).map((r) => r.version),
        [1, 2],
      );
      assert.equal((await rules.version('ws', 1))?.publishedBy, 'ana');
      assert.equal(await rules.version('ws', 3), undefined);
      assert.deepEqual(await rules.accessColumns('ws', 'b'), { rules_version: 2, acting_role: 'reviewer', role_rules: '{"write": {"note": ["title"]}}' }, 'the default role');
      assert.deepEqual(await rules.authorityColumns('ws', 'ghost'), { status: null, generation: null, rules_version: 2, acting_role: 'reviewer', role_rules: '{"write": {"note": ["title"]}}' });
      assert.equal(await rules.lockWorkspace('ws'), true);
      assert.equal(await rules.lockWorkspace('nope'), false);
    });
  });

  describe('AuditRepository', () => {
    it('records who did what to what, why, and how it ended', async () => {
      const audit = new AuditRepository(ds);
      await audit.record({ actor: { kind: 'operator', name: 'ana', roles: ['admin'], tokenId: 'tok-1' }, action: 'device.revoke', target: { workspace: 'ws', deviceId: 'b' }, reason: 'lost' });
      await audit.record({
        actor: { kind: 'device', workspace: 'ws', deviceId: 'a', site: null, tokenId: 'tok-2', generation: 1, expiresAt: 0 },
        action: 'conflict.resolve',
        target: { id: 'c1' },
        reason: null,
        detail: { pick: 'ours' },
        outcome: 'refused',
      });
      assert.deepEqual(await ds.query('SELECT actor, actor_kind, token_id, action, target, reason, detail, outcome FROM audit_log ORDER BY id'), [
        { actor: 'ana', actor_kind: 'operator', token_id: 'tok-1', action: 'device.revoke', target: { workspace: 'ws', deviceId: 'b' }, reason: 'lost', detail: null, outcome: 'ok' },
        { actor: 'ws/a', actor_kind: 'device', token_id: 'tok-2', action: 'conflict.resolve', target: { id: 'c1' }, reason: null, detail: { pick: 'ours' }, outcome: 'refused' },
      ]);
    });
  });
});
