import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { baseUrl, digest, integer, jsonValue, nonNegative, pointInTime, policyRevision, reason } from './options';

const refused = (fn: () => unknown, message: RegExp) => assert.throws(fn, (e: unknown) => e instanceof InvalidArgumentError && message.test(e.message));

describe('option parsers', () => {
  it('integer: digits within range only', () => {
    assert.equal(integer()('42'), 42);
    assert.equal(integer(0)('0'), 0);
    refused(() => integer()('0'), /from 1 to/);
    refused(() => integer()('ten'), /must be an integer/);
    refused(() => integer()('-3'), /must be an integer/);
    refused(() => integer()('1.5'), /must be an integer/);
    refused(() => integer(1, 100)('101'), /from 1 to 100/);
  });

  it('nonNegative: a number of at least 0', () => {
    assert.equal(nonNegative('2.5'), 2.5);
    assert.equal(nonNegative('0'), 0);
    refused(() => nonNegative('-1'), /at least 0/);
    refused(() => nonNegative(''), /at least 0/);
    refused(() => nonNegative('soon'), /at least 0/);
  });

  it('jsonValue: any JSON, and says a string needs its quotes', () => {
    assert.equal(jsonValue('"lynx"'), 'lynx');
    assert.equal(jsonValue('3'), 3);
    assert.equal(jsonValue('null'), null);
    assert.deepEqual(jsonValue('{"a":[1]}'), { a: [1] });
    refused(() => jsonValue('lynx'), /must be JSON \(a string needs its quotes: '"lynx"'\)/);
  });

  it('baseUrl: http(s) only, without a trailing slash', () => {
    assert.equal(baseUrl('http://127.0.0.1:3005/'), 'http://127.0.0.1:3005');
    assert.equal(baseUrl('https://ops.example.com/tidemark/'), 'https://ops.example.com/tidemark');
    refused(() => baseUrl('ops-api:3005'), /must be an http or https URL/);
    refused(() => baseUrl('not a url'), /is not a URL/);
  });

  it('policyRevision: type=N collected into one record, a type named twice refused', () => {
    const one = policyRevision('prompt=2');
    assert.deepEqual(one, { prompt: 2 });
    assert.deepEqual(policyRevision('annotation=3', one), { prompt: 2, annotation: 3 });
    assert.deepEqual(one, { prompt: 2 }, 'the previous record is not changed');
    refused(() => policyRevision('prompt=4', one), /prompt is named twice/);
    refused(() => policyRevision('prompt'), /must be type=revision/);
    refused(() => policyRevision('prompt=0'), /positive integer/);
  });

  it('pointInTime: ISO-8601 (a date alone is midnight UTC) or a duration before now', () => {
    const at = pointInTime(() => new Date('2026-11-25T12:00:00.000Z'));
    assert.equal(at('2026-11-20T08:30:00Z'), '2026-11-20T08:30:00.000Z');
    assert.equal(at('2026-11-20T08:30:00+02:00'), '2026-11-20T06:30:00.000Z');
    assert.equal(at('2026-11-20'), '2026-11-20T00:00:00.000Z');
    assert.equal(at('90s'), '2026-11-25T11:58:30.000Z');
    assert.equal(at('30m'), '2026-11-25T11:30:00.000Z');
    assert.equal(at('2h'), '2026-11-25T10:00:00.000Z');
    assert.equal(at('7d'), '2026-11-18T12:00:00.000Z');
    assert.equal(at('2w'), '2026-11-11T12:00:00.000Z');
    refused(() => at('yesterday'), /ISO-8601 date-time .* or a duration ago/);
    refused(() => at('2026-13-45'), /ISO-8601/);
    refused(() => at('3y'), /ISO-8601/);
  });

  it('digest: 64 hex digits; reason: not blank', () => {
    assert.equal(digest('AB'.repeat(32)), 'ab'.repeat(32));
    refused(() => digest('abc'), /64 hex digits/);
    assert.equal(reason('why not'), 'why not');
    refused(() => reason('   '), /must say why/);
  });
});
