// A new device bootstraps from the snapshot against the real services (journal-service, merge-service, gateway
// as processes on a fresh NATS and Postgres), while another device keeps writing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Change } from '@tidemark/contracts';
import { count, eventually, startSlice, type SliceStack } from '@tidemark/testing';
import { FileStorage, TidemarkClient, type ClientOptions } from './node';

describe('device SDK bootstrap from the snapshot', () => {
  let stack: SliceStack;
  let gateway: string;
  const dirs: string[] = [];
  const opened: TidemarkClient[] = [];

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway']);
    gateway = stack.url('gateway');
  });
  after(async () => {
    await Promise.all(opened.map((c) => c.close()));
    await stack?.stop();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  const openDevice = async (deviceId: string, extra: Partial<ClientOptions> = {}): Promise<TidemarkClient> => {
    const dir = await mkdtemp(join(tmpdir(), `tidemark-bootstrap-${deviceId}-`));
    dirs.push(dir);
    const client = await TidemarkClient.open({ baseUrl: gateway, storage: await FileStorage.open(dir), credentials: await stack.device('ws-boot', deviceId), ...extra });
    opened.push(client);
    return client;
  };
  /** Waits until every event the writer pushed has a receipt (is projected). */
  const projected = (events: number) =>
    eventually(async () => (await count(stack.db, "SELECT count(*) AS n FROM event_receipts WHERE workspace = 'ws-boot'")) >= events, { timeoutMs: 60_000, message: `${events} events projected` });
  /** The server's projection: entity → version and state, live entities only, read from Postgres. */
  const serverState = async (): Promise<[string, unknown][]> => {
    const rows = await stack.db.query<{ key: string; version: string; values: unknown }>(
      "SELECT entity_type || '/' || entity_id AS key, version, view->'values' AS values FROM entities WHERE workspace = 'ws-boot' AND NOT deleted ORDER BY (entity_type || '/' || entity_id) COLLATE \"C\"",
    );
    return rows.rows.map((r) => [r.key, { version: Number(r.version), state: r.values }]);
  };

  it('a device with fresh storage reads the snapshot while another device writes, pulls the changes since, and ends equal to the server', async () => {
    const writer = await openDevice('writer');
    const ids = Array.from({ length: 40 }, (_, i) => `img-${String(i).padStart(2, '0')}`);
    for (let round = 1; round <= 3; round++) for (const id of ids) await writer.upsert('annotation', id, { assetId: `${id}-r${round}`, confidence: round / 10 });
    let pushed = (await writer.push()).accepted;
    await projected(pushed);
    await writer.pull(); // so its next edits are based on the versions it saw
    await writer.enqueue({ entity: { type: 'annotation', id: 'img-05' }, op: 'delete' });
    pushed += (await writer.push()).accepted;
    await projected(pushed);

    // What the new device's app holds: applied in delivery order, whether from the snapshot or from pulls.
    const replica = new Map<string, Change>();
    let entries = 0;
    let wroteWhileReading = false;
    const reader = await openDevice('reader', {
      pullPageSize: 8,
      onChange: async (change) => {
        replica.set(`${change.entity.type}/${change.entity.id}`, change);
        entries++;
        if (entries === 9 && !wroteWhileReading) {
          // Mid-snapshot (first entry of the second page): the writer edits entities behind and ahead, adds one, deletes one.
          wroteWhileReading = true;
          await writer.upsert('annotation', 'img-00', { assetId: 'edited-behind' });
          await writer.upsert('annotation', 'img-30', { assetId: 'edited-ahead' });
          await writer.upsert('annotation', 'img-99', { assetId: 'created' });
          await writer.enqueue({ entity: { type: 'annotation', id: 'img-20' }, op: 'delete' });
          pushed += (await writer.push()).accepted;
          await projected(pushed);
        }
      },
    });
    const summary = await reader.pull();
    assert.ok(wroteWhileReading);
    assert.deepEqual(
      summary.snapshot && { pages: summary.snapshot.pages, entries: summary.snapshot.entries },
      { pages: 5, entries: 39 },
      'one entry per live entity (40 less one deleted), in pages of 8',
    );
    assert.equal(summary.changes, 4, 'then only what changed while it read');
    assert.equal(reader.cursor, summary.cursor);
    const held = [...replica.entries()]
      .filter(([, c]) => !c.deleted)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, c]) => [key, { version: c.version, state: c.state }]);
    assert.deepEqual(held, await serverState());
    assert.equal(reader.knownVersion('annotation', 'img-30'), 4, 'the next edit is based on the version pulled after the snapshot');
    assert.equal((await reader.pull()).snapshot, undefined, 'a device that bootstrapped pulls changes from then on');
  });
});
