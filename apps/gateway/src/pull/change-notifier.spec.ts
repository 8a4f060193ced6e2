import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@tidemark/telemetry';
import { scopeKey } from '@tidemark/contracts';
import { ChangeNotifier, interestOf } from './change-notifier';

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

  it('a notice naming scope keys wakes only the waiters whose scopes meet them; a MERGED hint only whole-workspace readers', async () => {
    const notifier = new ChangeNotifier(60_000, logger);
    const p1 = interestOf({ kind: 'scoped', keys: [scopeKey('task', 'p1')], types: [] });
    const catalog = interestOf({ kind: 'scoped', keys: [], types: ['prompt'] });
    assert.equal(interestOf({ kind: 'all' }), undefined);
    const woken: string[] = [];
    const wait = (name: string, interest?: (key: string) => boolean) => notifier.wait('ws', Date.now() + 60_000, undefined, undefined, interest).then(() => woken.push(name));
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    const waits = [wait('p1', p1), wait('catalog', catalog), wait('everything')];
    notifier.wake('ws', [], { wholeWorkspaceOnly: true });
    await turn();
    assert.deepEqual(woken, ['everything'], 'a MERGED hint names no partition: the scoped readers keep waiting');
    notifier.wake('ws', [scopeKey('task', 'p2')]);
    await turn();
    assert.deepEqual(woken, ['everything'], 'another project’s commit wakes nobody scoped elsewhere');
    notifier.wake('ws', [scopeKey('prompt'), scopeKey('task', 'p2')]);
    await turn();
    assert.deepEqual(woken, ['everything', 'catalog']);
    notifier.wake('ws');
    await Promise.all(waits);
    assert.deepEqual(woken, ['everything', 'catalog', 'p1'], 'a notice without keys wakes everyone');
    notifier.stop();
  });
});
