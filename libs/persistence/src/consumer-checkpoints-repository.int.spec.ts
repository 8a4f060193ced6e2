import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestDatabase } from '@tidemark/testing';
import { migratedDatabase } from './testing/migrated-database';
import { ConsumerCheckpointsRepository, type DataSource } from './index';

describe('consumer checkpoints as ops-api reads them (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;

  before(async () => {
    ({ db, ds } = await migratedDatabase('consumer_checkpoints_repo'));
    await ds.query(`INSERT INTO consumer_checkpoints (consumer, stream_seq, updated_at) VALUES ('merge-1', 9007199254740993, '2026-01-02T00:00:00Z'), ('merge-0', 7, '2026-01-01T00:00:00Z')`);
  });
  after(async () => {
    await ds.destroy();
    await db.drop();
  });

  it('reads every checkpoint, the sequence as text without loss', async () => {
    const rows = await new ConsumerCheckpointsRepository(ds).all();
    assert.deepEqual(
      rows.sort((a, b) => (a.consumer < b.consumer ? -1 : 1)),
      [
        { consumer: 'merge-0', stream_seq: '7', updated_at: new Date('2026-01-01T00:00:00Z') },
        { consumer: 'merge-1', stream_seq: '9007199254740993', updated_at: new Date('2026-01-02T00:00:00Z') },
      ],
    );
  });

  it('lists views ordered by consumer', async () => {
    assert.deepEqual(await new ConsumerCheckpointsRepository(ds).views(), [
      { consumer: 'merge-0', streamSeq: '7', updatedAt: new Date('2026-01-01T00:00:00Z') },
      { consumer: 'merge-1', streamSeq: '9007199254740993', updatedAt: new Date('2026-01-02T00:00:00Z') },
    ]);
  });
});
