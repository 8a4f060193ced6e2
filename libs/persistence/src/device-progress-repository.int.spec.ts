import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestDatabase } from '@tidemark/testing';
import { migratedDatabase } from './testing/migrated-database';
import { DeviceProgressRepository, type DataSource } from './index';

describe('DeviceProgressRepository (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let progress: DeviceProgressRepository;

  before(async () => {
    ({ db, ds } = await migratedDatabase('device_progress_repository'));
    progress = new DeviceProgressRepository(ds);
    await ds.query(`INSERT INTO workspaces (workspace, name) VALUES ('ws', 'ws')`);
    await ds.query(`INSERT INTO devices (workspace, device_id) VALUES ('ws', 'a'), ('ws', 'b')`);
    await ds.query(`INSERT INTO device_sequences (workspace, device_id, contiguous, max_seq, ahead, last_accepted_at) VALUES ('ws', 'a', 3, 7, '[5, 7]', '2030-01-01T00:00:05Z')`);
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('reads a device’s applied and pushed progress; a device nothing was applied for reads zeros', async () => {
    assert.deepEqual(await progress.progress('ws', 'a'), { contiguous: 3, maxSeq: 7, ahead: [5, 7], lastAcceptedAt: new Date('2030-01-01T00:00:05Z'), lastPushedSeq: 0, lastPushAt: null });
    assert.deepEqual(await progress.progress('ws', 'b'), { contiguous: 0, maxSeq: 0, ahead: [], lastAcceptedAt: null, lastPushedSeq: 0, lastPushAt: null });
    assert.equal(await progress.progress('ws', 'nobody'), undefined);
  });

  it('records pushed sequences in one statement; neither sequence nor time goes back', async () => {
    await progress.recordPushes([
      { workspace: 'ws', deviceId: 'a', maxSeq: 9, at: new Date('2030-01-01T00:01:00Z') },
      { workspace: 'ws', deviceId: 'b', maxSeq: 2, at: new Date('2030-01-01T00:02:00Z') },
      { workspace: 'ws', deviceId: 'nobody', maxSeq: 2, at: new Date('2030-01-01T00:02:00Z') },
    ]);
    await progress.recordPushes([{ workspace: 'ws', deviceId: 'a', maxSeq: 4, at: new Date('2030-01-01T00:00:30Z') }]);
    await progress.recordPushes([]);
    const a = await progress.progress('ws', 'a');
    assert.equal(a?.lastPushedSeq, 9);
    assert.deepEqual(a?.lastPushAt, new Date('2030-01-01T00:01:00Z'));
    assert.equal((await progress.progress('ws', 'b'))?.lastPushedSeq, 2);
  });

  it('records abandoned ranges once each, answering how many were new', async () => {
    assert.equal(
      await progress.abandon(
        'ws',
        'a',
        [
          { from: 4, to: 4 },
          { from: 6, to: 6 },
        ],
        'refused',
      ),
      2,
    );
    assert.equal(
      await progress.abandon(
        'ws',
        'a',
        [
          { from: 6, to: 6 },
          { from: 8, to: 10 },
        ],
        null,
      ),
      1,
    );
    assert.deepEqual(
      (await progress.abandoned('ws', 'a')).sort((x, y) => x[0] - y[0]),
      [
        [4, 4],
        [6, 6],
        [8, 10],
      ],
    );
    assert.deepEqual(await progress.abandoned('ws', 'b'), []);
  });
});
