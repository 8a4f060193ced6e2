import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, testDatabase, type TestDatabase } from '@tidemark/testing';
import { SchemaRepository, createDataSource, migrateWithLock, type DataSource } from './index';

describe('SchemaRepository (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let schemas: SchemaRepository;

  before(async () => {
    db = await testDatabase('schema_repository');
    ds = createDataSource({ url: db.url, poolSize: 4 });
    await ds.initialize();
    await migrateWithLock(ds);
    schemas = SchemaRepository.of(ds);
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('inserts a version once, and lists versions by type (byte order) then version', async () => {
    const created = await schemas.insert('note', 1, { type: 'note', version: 1 });
    assert.equal(created?.version, 1);
    assert.deepEqual(created?.definition, { type: 'note', version: 1 });
    assert.equal(await schemas.insert('note', 1, { type: 'note', version: 1, other: true }), undefined, 'an existing version is left as it is');
    await schemas.insert('note', 2, { type: 'note', version: 2 });
    await schemas.insert('Zeta', 1, { type: 'Zeta', version: 1 });
    const mine = (await schemas.all()).map((s) => `${s.type}@${s.version}`).filter((s) => /^(Zeta|note)@/.test(s)); // the migrations seed others
    assert.deepEqual(mine, ['Zeta@1', 'note@1', 'note@2']);
    assert.deepEqual(
      (await schemas.versions('note')).map((s) => s.version),
      [1, 2],
    );
    assert.deepEqual((await schemas.get('note', 1))?.definition, { type: 'note', version: 1 });
    assert.equal(await schemas.get('note', 9), undefined);
  });

  it('keeps policy revisions and answers each workspace’s latest activation', async () => {
    const revision = await schemas.insertRevision('note', 2, { revision: 2 });
    assert.deepEqual({ type: revision.type, revision: revision.revision, definition: revision.definition }, { type: 'note', revision: 2, definition: { revision: 2 } });
    await schemas.insertRevision('note', 3, { revision: 3 });
    assert.deepEqual(
      (await schemas.revisions('note')).map((r) => r.revision),
      [2, 3],
    );
    assert.equal((await schemas.revision('note', 3))?.revision, 3);
    assert.equal(await schemas.revision('note', 4), undefined);
    await ds.query(
      `INSERT INTO policy_activations (workspace, type, revision, replay_id) VALUES ('a', 'note', 2, NULL), ('a', 'note', 3, gen_random_uuid()), ('b', 'note', 2, NULL), ('a', 'task', 5, NULL)`,
    );
    const active = await schemas.activeRevisions('note');
    assert.deepEqual(
      active.map((a) => [a.workspace, a.revision, a.replayId !== null]),
      [
        ['a', 3, true],
        ['b', 2, false],
      ],
    );
  });

  it('serialises transactions of one type on its lock, and rolls a failed one back', async () => {
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const first = schemas.transaction(async (tx) => {
      await tx.lockType('lockme');
      locked();
      await held;
      order.push('first');
    });
    await lockTaken;
    const second = schemas.transaction(async (tx) => {
      await tx.lockType('lockme');
      order.push('second');
    });
    // The second waits on the first's lock: nothing of it runs until the first commits.
    await eventually(async () => ((await ds.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)) as { n: number }[])[0]!.n === 1);
    assert.deepEqual(order, []);
    release();
    await Promise.all([first, second]);
    assert.deepEqual(order, ['first', 'second']);
    await assert.rejects(
      schemas.transaction(async (tx) => {
        await tx.insert('gone', 1, {});
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    assert.equal(await schemas.get('gone', 1), undefined, 'the insert was rolled back');
  });
});
