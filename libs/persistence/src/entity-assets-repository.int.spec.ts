import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestDatabase } from '@tidemark/testing';
import { migratedDatabase } from './testing/migrated-database';
import { EntityAssetsRepository, type DataSource } from './index';

const sha = (c: string) => c.repeat(64);

describe('EntityAssetsRepository (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let assets: EntityAssetsRepository;

  before(async () => {
    ({ db, ds } = await migratedDatabase('entity_assets_repository'));
    assets = new EntityAssetsRepository(ds);
    await ds.query(
      `INSERT INTO entity_assets (workspace, entity_type, entity_id, field, sha256) VALUES
         ('ws', 'image', 'i1', 'file', $1), ('ws', 'image', 'i1', 'thumb', $2), ('ws', 'image', 'i2', 'file', $3), ('other', 'image', 'i1', 'file', $3)`,
      [sha('a'), sha('b'), sha('c')],
    );
    await ds.query(
      `INSERT INTO assets (workspace, sha256, size, content_type, file_class, object_key, status, upload_id, status_since)
       VALUES ('ws', $1, 1, 'image/png', 'image', 'k', 'verified', gen_random_uuid(), now())`,
      [sha('a')],
    );
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('reads the references of exactly these entities of the workspace, in key order', async () => {
    assert.deepEqual(
      await assets.refsOf('ws', [
        { type: 'image', id: 'i1' },
        { type: 'note', id: 'i2' },
      ]),
      [
        { entityType: 'image', entityId: 'i1', field: 'file', sha256: sha('a') },
        { entityType: 'image', entityId: 'i1', field: 'thumb', sha256: sha('b') },
      ],
    );
    assert.deepEqual(await assets.refsOf('ws', []), []);
  });

  it('answers where each referenced sha256 stands', async () => {
    assert.deepEqual([...(await assets.statusOf('ws', [sha('a'), sha('b')]))].sort(), [
      [sha('a'), 'verified'],
      [sha('b'), 'missing'],
    ]);
  });
});
