import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JetStreamClient } from '@nats-io/jetstream';
import { STREAMS, connectJetStream, type JetStreamConnection, type JsMsg } from '@tidemark/messaging';
import { drain, faultyFirstFetch, testNats } from '@tidemark/testing';
import { JetStreamJournalReader } from './journal-reader';

async function readAll(chunks: AsyncIterable<JsMsg[]>): Promise<{ seqs: number[]; sizes: number[] }> {
  const seqs: number[] = [];
  const sizes: number[] = [];
  for await (const chunk of chunks) {
    sizes.push(chunk.length);
    seqs.push(...chunk.map((m) => m.seq));
  }
  return { seqs, sizes };
}

/**
 * A replay reads journal ranges through an ordered consumer. The range ends where it says, never early:
 * a fetch that comes back empty is not taken for the end while the server still has messages for it.
 */
describe('journal reader: subject-filtered ranges of the journal', () => {
  let nats: Awaited<ReturnType<typeof testNats>>;
  let conn: JetStreamConnection;
  /** Stream sequences of the messages on `tm.journal.w.p00.note.a`. */
  const onA: number[] = [];

  before(async () => {
    nats = await testNats();
    conn = await connectJetStream({ servers: nats.url, name: 'journal-reader-test' });
    await conn.jsm.streams.add({ name: STREAMS.journal, subjects: ['tm.journal.>'] });
    for (let i = 0; i < 30; i++) {
      const id = i % 3 === 0 ? 'a' : 'b';
      const ack = await conn.js.publish(`tm.journal.w.p00.note.${id}`, `m${i}`);
      if (id === 'a') onA.push(ack.seq);
    }
  });
  after(async () => {
    await conn?.close();
    await nats?.stop();
  });

  const reader = (js: JetStreamClient = conn.js) =>
    new JetStreamJournalReader(
      () => js,
      () => conn.jsm,
      1000,
    );

  it('reads the filtered range in stream order, in chunks, from and to the sequences asked', async () => {
    const all = await readAll(reader().read('tm.journal.w.p00.note.a', 1, 1000, 4));
    assert.deepEqual(all.seqs, onA);
    assert.deepEqual(all.sizes, [4, 4, 2]);
    const middle = await readAll(reader().read('tm.journal.w.*.note.a', onA[2]!, onA[6]!, 100));
    assert.deepEqual(middle.seqs, onA.slice(2, 7));
  });

  it('ends at once on an empty range, and leaves no consumer behind', async () => {
    const started = Date.now();
    assert.deepEqual((await readAll(reader().read('tm.journal.w.p00.note.none', 1, 1000, 10))).seqs, []);
    assert.deepEqual((await readAll(reader().read('tm.journal.w.p00.note.a', 5000, 6000, 10))).seqs, []);
    assert.ok(Date.now() - started < 900, `no fetch waited out its expiry: ${Date.now() - started} ms`);
    const left: string[] = [];
    for await (const c of conn.jsm.consumers.list(STREAMS.journal)) left.push(c.name);
    assert.deepEqual(left, []);
  });

  it('reads again what was delivered to a fetch that gave up, instead of ending the range early', async () => {
    // The first fetch takes the server's deliveries and hands nothing on, as a fetch that expired with them in flight.
    const { js, fetches } = faultyFirstFetch(conn.js, async (real) => {
      assert.equal(await drain(real), 4);
      return (async function* () {
        // a fetch that hands nothing on
      })() as unknown as typeof real;
    });
    const all = await readAll(reader(js).read('tm.journal.w.p00.note.a', 1, 1000, 4));
    assert.deepEqual(all.seqs, onA, 'every message of the range, in order');
    assert.ok(fetches() >= 2);
  });
});
