// The device snapshot and compressed sync answers against the real services (journal-service, merge-service
// and gateway as processes on a fresh NATS and Postgres).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { Change, DeviceEvent } from '@tidemark/contracts';
import { FakeDevice, count, eventually, startSlice, type SliceStack, type TestDevice } from '@tidemark/testing';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The bytes on the wire (not decoded). */
  bytes: Buffer;
}

/** A GET whose answer is read as sent: node:http never decodes a content coding. */
function rawGet(url: string, headers: Record<string, string>): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The JSON an answer carries, whatever its content coding. */
function decodeJson(answer: RawAnswer): unknown {
  const coding = answer.headers['content-encoding'];
  const plain = coding === 'gzip' ? gunzipSync(answer.bytes) : coding === 'br' ? brotliDecompressSync(answer.bytes) : answer.bytes;
  return JSON.parse(plain.toString('utf8'));
}

const keyOf = (c: Change): string => `${c.entity.type}/${c.entity.id}`;

/** What a device holds after applying changes in order: the latest change of each entity, deleted ones dropped. */
function fold(changes: Iterable<Change>, into = new Map<string, Change>()): Map<string, Change> {
  for (const change of changes) into.set(keyOf(change), change);
  for (const [key, change] of into) if (change.deleted) into.delete(key);
  return into;
}

/** Entity → what a user sees, sorted by key. */
function view(state: Map<string, Change>): [string, unknown][] {
  return [...state.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, c]) => [key, { version: c.version, state: c.state, inConflict: c.inConflict }]);
}

describe('device snapshot and compressed sync answers', () => {
  let stack: SliceStack;
  let gateway: string;

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway']);
    gateway = stack.url('gateway');
  });
  after(async () => {
    await stack?.stop();
  });

  const get = async (path: string, device: TestDevice): Promise<any> => {
    const response = await fetch(`${gateway}${path}`, { headers: device.headers });
    assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
    return response.json();
  };
  /** Every change of the device's workspace after `after`, pulled page by page. */
  const pullAll = async (device: TestDevice, after = '0'): Promise<{ changes: Change[]; next: string }> => {
    const changes: Change[] = [];
    let cursor = after;
    for (;;) {
      const page = await get(`/v1/changes?after=${cursor}&limit=1000`, device);
      changes.push(...(page.changes as Change[]));
      cursor = page.next as string;
      if (!page.hasMore) return { changes, next: cursor };
    }
  };
  /** Reads every page of a snapshot; `between` runs after each page but the last. */
  const snapshotAll = async (device: TestDevice, limit: number, between?: (page: number) => Promise<void>): Promise<{ cursor: string; changes: Change[]; pages: number }> => {
    const first = await get(`/v1/snapshot?limit=${limit}`, device);
    const changes: Change[] = [...(first.changes as Change[])];
    let page = first;
    let pages = 1;
    while (page.hasMore) {
      await between?.(pages);
      page = await get(`/v1/snapshot?cursor=${first.cursor as string}&after=${encodeURIComponent(page.next as string)}&limit=${limit}`, device);
      assert.equal(page.cursor, first.cursor, 'every page answers the cursor the first page fixed');
      changes.push(...(page.changes as Change[]));
      pages++;
    }
    return { cursor: first.cursor as string, changes, pages };
  };
  const pushAll = async (events: DeviceEvent[], workspace: string): Promise<void> => {
    for (let i = 0; i < events.length; i += 500) {
      const answer = await stack.push(events.slice(i, i + 500), workspace);
      assert.equal(answer.status, 200, JSON.stringify(answer.body).slice(0, 300));
    }
  };
  const projected = (workspace: string, events: number) =>
    eventually(async () => (await count(stack.db, 'SELECT count(*) AS n FROM event_receipts WHERE workspace = $1', [workspace])) >= events, {
      timeoutMs: 60_000,
      message: `${events} events of ${workspace} projected`,
    });

  describe('snapshot', () => {
    let device: TestDevice;
    let writer: FakeDevice;
    let full: Change[];

    before(async () => {
      device = await stack.device('ws-snap', 'reader');
      writer = new FakeDevice('writer');
      // 80 annotations, three versions each, then 5 of them deleted.
      const events: DeviceEvent[] = [];
      for (let v = 1; v <= 3; v++)
        for (let i = 0; i < 80; i++) events.push(writer.upsert('annotation', `img-${String(i).padStart(3, '0')}`, { assetId: `asset-${i}-v${v}`, confidence: v / 10 }, v - 1));
      for (let i = 0; i < 5; i++) events.push(writer.remove('annotation', `img-${String(i * 7).padStart(3, '0')}`, 3));
      await pushAll(events, 'ws-snap');
      await projected('ws-snap', events.length);
      full = (await pullAll(device)).changes;
      assert.equal(full.length, 245);
    });

    it('holds each entity’s latest change, exactly as the change log has it, and reaches the state a full pull reaches', async () => {
      const snapshot = await snapshotAll(device, 7);
      assert.equal(snapshot.pages, 11, '75 live entities in pages of 7');
      assert.equal(snapshot.cursor, full[full.length - 1]!.cursor, 'taken at the workspace’s last cursor');
      const byCursor = new Map(full.map((c) => [c.cursor, c]));
      for (const entry of snapshot.changes) assert.deepEqual(entry, byCursor.get(entry.cursor), `${keyOf(entry)} is its change-log change, in the same shape`);
      assert.deepEqual(snapshot.changes.map(keyOf), [...snapshot.changes.map(keyOf)].sort(), 'in entity-key order');
      assert.deepEqual(view(fold(snapshot.changes)), view(fold(full)));
      assert.equal(snapshot.changes.length, 75, 'deleted entities are left out');
      assert.equal((await get(`/v1/changes?after=${snapshot.cursor}`, device)).changes.length, 0, 'nothing after the snapshot cursor');
    });

    it('loses nothing and repeats nothing while entities are written, created and deleted between its pages', async () => {
      const before = fold(full);
      const written: string[] = [];
      let events = 245;
      const versionOf = (id: string): number => before.get(`annotation/${id}`)!.version;
      const snapshot = await snapshotAll(device, 10, async (page) => {
        // Between pages: edit entities already paged and entities still ahead, create entities that sort
        // before and after the position, delete one still ahead; each batch projected before the next page.
        const id = (n: number): string => `img-${String(n).padStart(3, '0')}`;
        const [ahead, behind, doomed] = [id(10 * page + 13), id(10 * page - 4), id(10 * page + 28)];
        const batch = [
          ...(before.has(`annotation/${ahead}`) ? [writer.upsert('annotation', ahead, { assetId: `edited-ahead-${page}` }, versionOf(ahead))] : []),
          writer.upsert('annotation', behind, { assetId: `edited-behind-${page}` }, versionOf(behind)),
          writer.upsert('annotation', `aaa-new-${page}`, { assetId: 'new' }),
          writer.upsert('annotation', `zzz-new-${page}`, { assetId: 'new' }),
          ...(before.has(`annotation/${doomed}`) ? [writer.remove('annotation', doomed, versionOf(doomed))] : []),
        ];
        written.push(behind, `aaa-new-${page}`, `zzz-new-${page}`);
        await pushAll(batch, 'ws-snap');
        events += batch.length;
        await projected('ws-snap', events);
      });
      assert.ok(snapshot.pages >= 7, `written between ${snapshot.pages} pages`);
      assert.ok(written.length >= 21);
      for (const entry of snapshot.changes) assert.ok(BigInt(entry.cursor) <= BigInt(snapshot.cursor), `${keyOf(entry)} at ${entry.cursor} is at or before the snapshot cursor`);
      assert.deepEqual(view(fold(snapshot.changes)), view(before), 'the snapshot is the state at its cursor, not a mix of before and after');

      const since = await pullAll(device, snapshot.cursor);
      assert.ok(since.changes.length >= written.length, 'the writes made while paging come after the cursor');
      const snapshotCursors = new Set(snapshot.changes.map((c) => c.cursor));
      assert.equal(since.changes.filter((c) => snapshotCursors.has(c.cursor)).length, 0, 'no change is delivered twice');
      const device2 = fold(since.changes, fold(snapshot.changes));
      assert.deepEqual(view(device2), view(fold((await pullAll(device)).changes)), 'snapshot + changes since = a full pull');
      for (const id of written) assert.ok(device2.has(`annotation/${id}`), `${id} is there`);
    });

    it('carries the conflicts open on its entities, as a full pull leaves them', async () => {
      const [left, right] = [new FakeDevice('left'), new FakeDevice('right')];
      await pushAll(
        ['img-c1', 'img-c2', 'img-c3'].map((id) => left.upsert('annotation', id, { label: 'cat' })),
        'ws-conflicts',
      );
      await projected('ws-conflicts', 3);
      // Concurrent edits (both based on version 0 for two of them): label is `review`, so two conflicts open.
      await pushAll(
        ['img-c1', 'img-c2'].map((id) => right.upsert('annotation', id, { label: 'dog' })),
        'ws-conflicts',
      );
      await projected('ws-conflicts', 5);
      const reader = await stack.device('ws-conflicts', 'conflict-reader');
      const ledger = new Map<string, string>();
      let cursor = '0';
      for (;;) {
        const page = await get(`/v1/changes?after=${cursor}`, reader);
        for (const c of page.conflicts as { id: string; status: string }[]) ledger.set(c.id, c.status);
        cursor = page.next as string;
        if (!page.hasMore) break;
      }
      const open = [...ledger.entries()]
        .filter(([, status]) => status === 'open')
        .map(([id]) => id)
        .sort();
      assert.equal(open.length, 2, JSON.stringify([...ledger]));
      const seen: string[] = [];
      const inConflict: string[] = [];
      let page = await get('/v1/snapshot?limit=1', reader);
      for (;;) {
        seen.push(...(page.conflicts as { id: string; status: string }[]).map((c) => `${c.id}:${c.status}`));
        inConflict.push(...(page.changes as Change[]).filter((c) => c.inConflict.length > 0).map(keyOf));
        if (!page.hasMore) break;
        page = await get(`/v1/snapshot?limit=1&cursor=${page.cursor as string}&after=${encodeURIComponent(page.next as string)}`, reader);
      }
      assert.deepEqual(
        seen.sort(),
        open.map((id) => `${id}:open`),
      );
      assert.deepEqual(inConflict, ['annotation/img-c1', 'annotation/img-c2']);
    });

    it('keeps a workspace to itself', async () => {
      const stranger = await stack.device('ws-elsewhere', 'stranger');
      const other = await get('/v1/snapshot', stranger);
      assert.deepEqual(other, { cursor: '0', changes: [], conflicts: [], hasMore: false });
      const refused = await fetch(`${gateway}/v1/snapshot`);
      assert.equal(refused.status, 401);
      assert.match(refused.headers.get('content-type') ?? '', /^application\/problem\+json/);
    });

    it('answers bad parameters with problem+json naming the parameter', async () => {
      const cases: [string, string][] = [
        ['limit=0', 'query:limit'],
        ['limit=1001', 'query:limit'],
        ['limit=ten', 'query:limit'],
        ['cursor=12a', 'query:cursor'],
        ['cursor=1234567890123456789', 'query:cursor'],
        ['cursor=999999999999', 'query:cursor'],
        ['cursor=1&after=no-slash', 'query:after'],
        ['cursor=1&after=Annotation/x', 'query:after'],
        ['after=annotation/img-001', 'query:cursor'],
        ['since=3', 'query:since'],
      ];
      for (const [query, pointer] of cases) {
        const answer = await fetch(`${gateway}/v1/snapshot?${query}`, { headers: device.headers });
        assert.equal(answer.status, 400, query);
        assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/, query);
        const problem = (await answer.json()) as { type: string; status: number; errors: { pointer: string; detail: string }[] };
        assert.equal(problem.status, 400);
        assert.deepEqual(
          problem.errors.map((e) => e.pointer),
          [pointer],
          `${query}: ${JSON.stringify(problem)}`,
        );
      }
    });

    describe('compression', () => {
      const cases = [
        ['/v1/changes?limit=1000', 'gzip', 'gzip'],
        ['/v1/changes?limit=1000', 'gzip, deflate, br', 'br'],
        ['/v1/snapshot?limit=1000', 'gzip', 'gzip'],
        ['/v1/snapshot?limit=1000', 'br', 'br'],
      ] as const;
      for (const [path, accept, coding] of cases) {
        it(`answers ${path} in ${coding} for Accept-Encoding "${accept}": smaller, and the same JSON`, async () => {
          const plain = await rawGet(`${gateway}${path}`, device.headers);
          const packed = await rawGet(`${gateway}${path}`, { ...device.headers, 'accept-encoding': accept });
          assert.equal(plain.status, 200);
          assert.equal(packed.status, 200);
          assert.equal(plain.headers['content-encoding'], undefined, 'no Accept-Encoding: identity');
          assert.equal(packed.headers['content-encoding'], coding);
          assert.match(String(packed.headers.vary), /Accept-Encoding/);
          assert.equal(Number(packed.headers['content-length']), packed.bytes.length);
          assert.ok(packed.bytes.length * 4 < plain.bytes.length, `${coding}: ${packed.bytes.length} bytes vs ${plain.bytes.length}`);
          const a = decodeJson(plain) as { changes: Change[] };
          const b = decodeJson(packed) as { changes: Change[] };
          assert.ok(a.changes.length > 50);
          assert.deepEqual(b, a);
        });
      }

      it('leaves small answers and push answers uncompressed', async () => {
        const head = (await pullAll(device)).next;
        const small = await rawGet(`${gateway}/v1/changes?after=${head}`, { ...device.headers, 'accept-encoding': 'gzip, br' });
        assert.equal(small.status, 200);
        assert.equal(small.headers['content-encoding'], undefined, `${small.bytes.length} bytes is below SYNC_COMPRESS_MIN_BYTES`);
        const pushed = await fetch(`${gateway}/v1/events`, {
          method: 'POST',
          headers: { ...(await stack.headersFor('writer', 'ws-snap')), 'content-type': 'application/json', 'accept-encoding': 'gzip, br' },
          body: JSON.stringify({ events: Array.from({ length: 100 }, (_, i) => writer.upsert('prompt', `p-${i}`, { title: 'x' })) }),
        });
        assert.equal(pushed.status, 200);
        assert.equal(pushed.headers.get('content-encoding'), null);
        assert.ok(((await pushed.json()) as { results: unknown[] }).results.length === 100);
      });

      it('compresses the live stream and still sends each change at once', async () => {
        const head = (await pullAll(device)).next;
        const abort = new AbortController();
        const response = await fetch(`${gateway}/v1/changes/stream?after=${head}`, { headers: { ...device.headers, accept: 'text/event-stream', 'accept-encoding': 'gzip' }, signal: abort.signal });
        try {
          assert.equal(response.status, 200);
          assert.equal(response.headers.get('content-encoding'), 'gzip');
          const reader = response.body!.getReader();
          const decoder = new TextDecoder();
          let text = '';
          const readUntil = async (want: RegExp): Promise<void> => {
            while (!want.test(text)) {
              const { value, done } = await reader.read();
              if (done) throw new Error(`the stream ended before ${String(want)}: ${text}`);
              text += decoder.decode(value, { stream: true });
            }
          };
          await readUntil(/: tidemark live changes after/); // the opening comment is flushed before any change
          const live = writer.upsert('annotation', 'img-079', { assetId: 'live' }, 0);
          await pushAll([live], 'ws-snap');
          // No keep-alive or later frame pushes it out: only the flush after the change does (else this times out).
          await eventually(() => readUntil(new RegExp(live.eventId)), { timeoutMs: 10_000, message: 'the live change arrives while the stream stays open' });
          assert.match(text, /event: change\nid: \d+|id: \d+\nevent: change/);
        } finally {
          abort.abort();
        }
      });
    });
  });
});
