import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDeterministicDataError } from './pg-errors';

const pg = (code: string, message = 'error') => Object.assign(new Error(message), { code });

describe('isDeterministicDataError', () => {
  it('is true for data exceptions, not-null and check violations and program limits, through a TypeORM wrapper too', () => {
    for (const error of [
      pg('22P05', 'unsupported Unicode escape sequence'),
      pg('22P02', 'invalid input syntax for type json'),
      pg('22021', 'invalid byte sequence for encoding "UTF8": 0x00'),
      pg('22003'),
      pg('23502'),
      pg('23514'),
      pg('54000', 'index row requires 9000 bytes'),
      Object.assign(new Error('QueryFailedError'), { driverError: pg('22P05') }),
    ])
      assert.equal(isDeterministicDataError(error), true, (error as { code?: string }).code);
  });

  it('is false for outages, concurrency and anything without a SQLSTATE', () => {
    for (const error of [
      pg('ECONNREFUSED'),
      pg('57P03', 'the database system is starting up'),
      pg('08006'),
      pg('53300'),
      pg('40001', 'could not serialize access'),
      pg('40P01', 'deadlock detected'),
      pg('23505', 'duplicate key value'),
      pg('23P01'),
      new Error('Connection terminated unexpectedly'),
      Object.assign(new Error('timeout'), { name: 'TimeoutError' }),
      undefined,
      null,
      'a string',
    ])
      assert.equal(isDeterministicDataError(error), false, String((error as { code?: string } | undefined)?.code ?? error));
  });
});
