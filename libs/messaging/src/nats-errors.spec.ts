import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
import { isNatsUnavailable, isNoResponders, isNotFound, isPublishRetryable } from './nats-errors';

const apiError = (err_code: number, code: number, description: string) => new JetStreamApiError({ err_code, code, description });
const noResponders = () => new errors.RequestError('no responders: $JS.API.STREAM.INFO.JOURNAL', { cause: new errors.NoRespondersError('$JS.API.STREAM.INFO.JOURNAL') });

describe('NATS errors: classified by class and JetStream API code', () => {
  it('isNotFound: a missing stream or consumer, by API code; no other API error, and no message text', () => {
    assert.equal(isNotFound(apiError(JetStreamApiCodes.StreamNotFound, 404, 'stream not found')), true);
    assert.equal(isNotFound(apiError(JetStreamApiCodes.ConsumerNotFound, 404, 'consumer not found')), true);
    assert.equal(isNotFound(apiError(JetStreamApiCodes.NoMessageFound, 404, 'no message found')), false);
    assert.equal(isNotFound(apiError(10071, 400, 'wrong last sequence: 3')), false);
    assert.equal(isNotFound(new Error('stream not found')), false, 'not a JetStream API answer');
    assert.equal(isNotFound(undefined), false);
  });

  it('isNoResponders: looks through the cause chain the clients wrap it in', () => {
    assert.equal(isNoResponders(new errors.NoRespondersError('tm.journal.w')), true);
    assert.equal(isNoResponders(noResponders()), true);
    assert.equal(isNoResponders(new Error('jetstream is not enabled', { cause: noResponders() })), true);
    assert.equal(isNoResponders(new errors.RequestError('connection closed')), false);
    assert.equal(isNoResponders(new Error('no responders')), false, 'not the client saying so');
  });

  it('isPublishRetryable: a timeout, no responders or a JetStream 503; never a closed connection or an answer that a retry repeats', () => {
    for (const error of [
      new errors.TimeoutError(),
      noResponders(),
      new Error('jetstream is not enabled', { cause: noResponders() }),
      apiError(10008, 503, 'JetStream system temporarily unavailable'),
    ]) {
      assert.equal(isPublishRetryable(error), true, error.message);
    }
    const final = [
      new errors.ClosedConnectionError(),
      new errors.DrainingConnectionError(),
      new errors.RequestError('connection closed'),
      apiError(10071, 400, 'wrong last sequence: 3'),
      apiError(JetStreamApiCodes.StreamNotFound, 404, 'stream not found'),
      new errors.PermissionViolationError('Permissions Violation for Publish to "tm.journal.w"', 'publish', 'tm.journal.w'),
      new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      Object.assign(new Error('request timeout'), { name: 'TimeoutError' }),
    ];
    for (const error of final) assert.equal(isPublishRetryable(error), false, error.message);
  });

  it('isNatsUnavailable: the client cannot reach or be answered by NATS; not an answer, and not a look-alike', () => {
    const unavailable = [
      new errors.TimeoutError(),
      new errors.ConnectionError('connection refused'),
      new errors.ClosedConnectionError(),
      new errors.DrainingConnectionError(),
      new errors.RequestError('connection closed'),
      new errors.NoRespondersError('$JS.API.STREAM.MSG.GET.JOURNAL'),
      new Error('jetstream is not enabled', { cause: noResponders() }),
      apiError(10008, 503, 'JetStream system temporarily unavailable'),
    ];
    for (const error of unavailable) assert.equal(isNatsUnavailable(error), true, error.message);
    const other = [
      apiError(JetStreamApiCodes.StreamNotFound, 404, 'stream not found'),
      apiError(10071, 400, 'wrong last sequence: 3'),
      new errors.InvalidSubjectError('tm..x'),
      new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      Object.assign(new Error('timeout'), { name: 'TimeoutError' }),
      new Error('boom'),
      'a string',
    ];
    for (const error of other) assert.equal(isNatsUnavailable(error), false, String(error));
  });
});
