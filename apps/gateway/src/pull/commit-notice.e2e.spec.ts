// Live delivery is woken by the projection's commit itself: merge-service sends a core NATS commit notice right
// after each commit that added to a workspace's change log, and the gateway wakes that workspace's long-polls on
// it. Shown with the outbox relay off (no MERGED message is ever published) and a re-read interval far longer
// than the wait: only the notice can end the long-poll early.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MERGED_SUBJECT_ROOT } from '@tidemark/contracts';
import { FakeDevice, push, startSlice, type SliceStack, type TestDevice } from '@tidemark/testing';

describe('the commit notice wakes long-polls', () => {
  let stack: SliceStack;
  let writer: TestDevice;
  let reader: TestDevice;

  before(async () => {
    stack = await startSlice(['journal-service']);
    await stack.start('merge-service', { OUTBOX_ENABLED: 'false' });
    await stack.start('gateway', { LIVE_RECHECK_MS: '60000' });
    writer = await stack.device('ws-notice', 'writer');
    reader = await stack.device('ws-notice', 'reader');
  });
  after(async () => {
    await stack?.stop();
  });

  it('answers a waiting long-poll on the commit, with no MERGED message and no re-read', async () => {
    const merged = stack.js.nc.subscribe(`${MERGED_SUBJECT_ROOT}.>`);
    const seenMerged: string[] = [];
    void (async () => {
      for await (const msg of merged) seenMerged.push(msg.subject);
    })();
    const head = (await (await fetch(`${stack.url('gateway')}/v1/changes`, { headers: reader.headers })).json()) as { next: string };
    const started = Date.now();
    const waiting = fetch(`${stack.url('gateway')}/v1/changes?after=${head.next}&wait=30`, { headers: reader.headers }).then(async (r) => (await r.json()) as { changes: { eventId: string }[] });
    const event = new FakeDevice('writer').upsert('annotation', 'noticed', { label: 'now' });
    assert.equal((await push(stack.url('gateway'), [event], writer.headers)).status, 200);
    const woke = await waiting;
    const waited = Date.now() - started;
    // Without a wake-up the long-poll would read again only when its 30 s wait ends (the re-read interval is 60 s).
    assert.deepEqual(
      woke.changes.map((c) => c.eventId),
      [event.eventId],
      'the long-poll answered with the change',
    );
    assert.ok(waited < 29_000, `the long-poll answered ${waited} ms after it began, before its 30 s wait ended: woken by the notice`);
    console.log(`long-poll answered ${waited} ms after it began, woken by the commit notice`);
    merged.unsubscribe();
    assert.deepEqual(seenMerged, [], 'no MERGED message was published (the relay is off)');
  });
});
