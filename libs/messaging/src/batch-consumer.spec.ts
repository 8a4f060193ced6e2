import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fetchCount } from './batch-consumer';

describe('fetchCount: how many messages the next fetch asks for', () => {
  it('asks for what the server said was waiting after the last message, between 1 and the batch size', () => {
    assert.equal(fetchCount(0, 256), 1, 'caught up: the next message is fetched as soon as it arrives');
    assert.equal(fetchCount(37, 256), 37, 'what piled up during the commit, at once');
    assert.equal(fetchCount(90_000, 256), 256, 'a backlog: full batches');
  });
});
