import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
import { isDependencyUnavailable, toProblem } from './problem-filter';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('toProblem: a dependency down is 503, anything unknown is 500', () => {
  it('answers 503 for Postgres going away or starting up, NATS or S3 unreachable, through a TypeORM wrapper too', () => {
    const cases = [
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      withCode('read ECONNRESET', 'ECONNRESET'),
      withCode('the database system is not yet accepting connections', '57P03'),
      withCode('terminating connection due to unexpected postmaster exit', '57P01'),
      withCode('connection failure', '08006'),
      withCode('sorry, too many clients already', '53300'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      Object.assign(new Error('Query failed'), { driverError: withCode('the database system is starting up', '57P03') }),
      new errors.TimeoutError(),
      new errors.ClosedConnectionError(),
      new errors.RequestError('no responders: $JS.API.STREAM.MSG.GET.JOURNAL', { cause: new errors.NoRespondersError('$JS.API.STREAM.MSG.GET.JOURNAL') }),
      new JetStreamApiError({ code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' }),
    ];
    for (const error of cases) {
      assert.equal(isDependencyUnavailable(error), true, error.message);
      const body = toProblem(error, '/v1/events');
      assert.deepEqual([body.status, body.type, body.instance], [503, 'https://tidemark.dev/problems/service-unavailable', '/v1/events'], error.message);
      assert.doesNotMatch(String(body.detail), /127\.0\.0\.1|5432|postmaster/, 'nothing internal in the answer');
    }
  });

  it('answers 500 for what it does not know, and for Postgres errors that a retry would not fix', () => {
    for (const error of [
      new Error('boom'),
      withCode('duplicate key value violates unique constraint', '23505'),
      withCode('relation "x" does not exist', '42P01'),
      new JetStreamApiError({ code: 404, err_code: 10059, description: 'stream not found' }),
      'a string',
    ]) {
      assert.equal(isDependencyUnavailable(error), false, String(error));
      assert.equal(toProblem(error).status, 500);
    }
  });
});
