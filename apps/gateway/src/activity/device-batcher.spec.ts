import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@tidemark/telemetry';
import { DeviceBatcher } from './device-batcher';

interface Mark {
  workspace: string;
  deviceId: string;
  seq: number;
}

const logger = createLogger('test', 'silent');
const newest = (a: Mark, b: Mark): Mark => ({ ...b, seq: Math.max(a.seq, b.seq) });

describe('DeviceBatcher: notes of devices written in batches', () => {
  it('given several notes of one device and one of another, when flushed, then one write holds one merged note per device', async () => {
    const writes: Mark[][] = [];
    const batcher = new DeviceBatcher<Mark>('marks', async (notes) => void writes.push(notes), newest, 60_000, logger);
    batcher.note({ workspace: 'w', deviceId: 'a', seq: 3 });
    batcher.note({ workspace: 'w', deviceId: 'a', seq: 2 });
    batcher.note({ workspace: 'w', deviceId: 'b', seq: 1 });
    await batcher.flush();
    assert.deepEqual(writes, [
      [
        { workspace: 'w', deviceId: 'a', seq: 3 },
        { workspace: 'w', deviceId: 'b', seq: 1 },
      ],
    ]);
    await batcher.flush();
    assert.equal(writes.length, 1, 'nothing pending: nothing written');
  });

  it('given a write that fails, when notes arrive meanwhile, then the next flush writes the failed notes merged with the newer ones', async () => {
    const writes: Mark[][] = [];
    let fail = true;
    const batcher = new DeviceBatcher<Mark>(
      'marks',
      async (notes) => {
        if (fail) throw new Error('the database is away');
        writes.push(notes);
      },
      newest,
      60_000,
      logger,
    );
    batcher.note({ workspace: 'w', deviceId: 'a', seq: 5 });
    batcher.note({ workspace: 'w', deviceId: 'b', seq: 1 });
    await batcher.flush();
    assert.deepEqual(writes, []);
    batcher.note({ workspace: 'w', deviceId: 'b', seq: 4 });
    fail = false;
    await batcher.flush();
    assert.deepEqual(
      writes,
      [
        [
          { workspace: 'w', deviceId: 'a', seq: 5 },
          { workspace: 'w', deviceId: 'b', seq: 4 },
        ],
      ],
      'nothing of the failed batch is lost',
    );
  });
});
