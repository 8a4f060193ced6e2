import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestDatabase } from '@tidemark/testing';
import { migratedDatabase } from './testing/migrated-database';
import { ReadScopesRepository, type DataSource } from './index';

describe('ReadScopesRepository (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let scopes: ReadScopesRepository;

  before(async () => {
    ({ db, ds } = await migratedDatabase('read_scopes_repository'));
    scopes = new ReadScopesRepository(ds);
    await ds.query(`INSERT INTO workspaces (workspace, name) VALUES ('ws', 'ws')`);
    await ds.query(`INSERT INTO devices (workspace, device_id, role, claims) VALUES ('ws', 'a', 'annotator', '{"projects":["p1"]}'), ('ws', 'b', NULL, '{}')`);
    for (const version of [1, 2]) {
      await ds.query(`INSERT INTO access_rules (workspace, version, rules, published_by) VALUES ('ws', $1, $2::jsonb, 'ana')`, [
        version,
        JSON.stringify({ version, roles: { annotator: { write: {} } } }),
      ]);
    }
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('reads role, claims, the rules in force and the subscriptions in one statement', async () => {
    assert.deepEqual(await scopes.standing('ws', 'a'), { rules: { version: 2, roles: { annotator: { write: {} } } }, role: 'annotator', claims: { projects: ['p1'] }, subscriptions: [] });
    assert.deepEqual(await scopes.standing('nowhere', 'x'), { rules: undefined, role: null, claims: {}, subscriptions: [] }, 'an unknown device reads no role, no claims');
  });

  it('replaces a device’s subscriptions; a whole scope is stored without a value', async () => {
    await scopes.replace('ws', 'a', [{ scope: 'project', value: 'p1' }, { scope: 'labels' }]);
    assert.deepEqual((await scopes.standing('ws', 'a')).subscriptions, [{ scope: 'labels' }, { scope: 'project', value: 'p1' }]);
    await scopes.replace('ws', 'a', [{ scope: 'labels' }]);
    assert.deepEqual((await scopes.standing('ws', 'a')).subscriptions, [{ scope: 'labels' }]);
    assert.deepEqual((await scopes.standing('ws', 'b')).subscriptions, [], 'another device keeps its own');
    await scopes.replace('ws', 'a', []);
    assert.deepEqual((await scopes.standing('ws', 'a')).subscriptions, []);
  });
});
