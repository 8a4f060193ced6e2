import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@tidemark/telemetry';
import { ChangeNotifier } from './change-notifier';

describe('ChangeNotifier', () => {
  const logger = createLogger('change-notifier-test', 'error');

  it('a notice that came between the mark and the wait ends the wait at once: no wake-up is lost while the reader reads', async () => {
    const notifier = new ChangeNotifier(60_000, logger);
    const mark = notifier.mark('ws');
    notifier.wake('ws'); // while the reader was reading the change log
    const outcome = await Promise.race([notifier.wait('ws', Date.now() + 60_000, undefined, mark).then(() => 'woken'), new Promise((resolve) => setImmediate(() => resolve('still waiting')))]);
    assert.equal(outcome, 'woken', 'answered before the event loop turned');
    notifier.stop();
  });

  it('without a notice since the mark it waits for the next one (another workspace’s does not count)', async () => {
    const notifier = new ChangeNotifier(60_000, logger);
    const mark = notifier.mark('ws');
    notifier.wake('other');
    let woken = false;
    const waiting = notifier.wait('ws', Date.now() + 60_000, undefined, mark).then(() => (woken = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(woken, false, 'still waiting');
    notifier.wake('ws');
    await waiting;
    assert.equal(woken, true);
    notifier.stop();
  });
});
