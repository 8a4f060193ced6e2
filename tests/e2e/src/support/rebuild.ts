import assert from 'node:assert/strict';
import { findFreePort } from '@tidemark/local-stack';
import { createDataSource, projectionDigest } from '@tidemark/persistence';
import { eventually, startServiceProcess } from '@tidemark/testing';

/**
 * Rebuilds the projection from the journal into `rebuiltUrl` (an empty database) with a second, independent
 * merge-service (its own consumers, no outbox), waits until it holds `receipts` receipts, and asserts that
 * every projection table equals the live one's, row for row. Returns the digests compared.
 */
export async function assertRebuildEqualsLive(
  env: Record<string, string>,
  liveUrl: string,
  rebuiltUrl: string,
  receipts: number,
  timeoutMs = 120_000,
): Promise<Awaited<ReturnType<typeof projectionDigest>>> {
  const rebuild = await startServiceProcess('merge-service', { ...env, DATABASE_URL: rebuiltUrl, HTTP_PORT: String(await findFreePort()), MERGE_CONSUMER_PREFIX: 'rebuild', OUTBOX_ENABLED: 'false' });
  const live = createDataSource({ url: liveUrl });
  const rebuilt = createDataSource({ url: rebuiltUrl });
  await Promise.all([live.initialize(), rebuilt.initialize()]);
  try {
    await eventually(async () => assert.equal(Number((await rebuilt.query('SELECT count(*) AS n FROM event_receipts'))[0].n), receipts), {
      timeoutMs,
      intervalMs: 250,
      message: 'the rebuild holds every receipt',
    });
    const [a, b] = [await projectionDigest(live), await projectionDigest(rebuilt)];
    assert.deepEqual(b.tables, a.tables);
    assert.equal(b.digest, a.digest);
    return a;
  } finally {
    await rebuild.kill();
    await Promise.all([live.destroy(), rebuilt.destroy()]);
  }
}
