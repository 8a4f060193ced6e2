import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from './index';

describe('eventually', () => {
  it('resolves with the first passing result', async () => {
    let calls = 0;
    const value = await eventually(
      async () => {
        calls++;
        assert.ok(calls >= 3, 'not yet');
        return calls;
      },
      { intervalMs: 1 },
    );
    assert.equal(value, 3);
  });

  it('treats false as not yet', async () => {
    let calls = 0;
    assert.equal(await eventually(() => ++calls >= 2, { intervalMs: 1 }), true);
  });

  it('throws the last assertion error itself at the deadline', async () => {
    let calls = 0;
    await assert.rejects(
      eventually(() => assert.equal(++calls, -1), { timeoutMs: 60, intervalMs: 5 }),
      (error: unknown) => error instanceof assert.AssertionError && calls > 1,
    );
  });

  it('names what was awaited when given a message', async () => {
    await assert.rejects(
      eventually(
        () => {
          throw new Error('row missing');
        },
        { timeoutMs: 30, intervalMs: 5, message: 'projection to catch up' },
      ),
      /projection to catch up: not reached within 30 ms; last failure: row missing/,
    );
    await assert.rejects(
      eventually(() => false, { timeoutMs: 30, intervalMs: 5, message: 'flag' }),
      /flag: still false after 30 ms/,
    );
  });

  it('does not wait past the deadline for a check that hangs', async () => {
    const started = Date.now();
    await assert.rejects(
      eventually(() => new Promise<never>(() => undefined), { timeoutMs: 80 }),
      /did not finish/,
    );
    assert.ok(Date.now() - started < 1_000);
  });

  it('reports the last finished failure when the final attempt is cut off by the deadline', async () => {
    let calls = 0;
    const check = async () => {
      calls++;
      if (calls === 1) assert.equal(246, 429, 'receipts so far');
      await new Promise<never>(() => undefined);
    };
    await assert.rejects(eventually(check, { timeoutMs: 80, intervalMs: 1, message: 'every event projected' }), (error: Error) => {
      assert.match(error.message, /did not finish within the remaining \d+ ms; the attempt before failed with: receipts so far/);
      return true;
    });
  });
});
