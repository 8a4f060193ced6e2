import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestDatabase } from '@tidemark/testing';
import { migratedDatabase } from './testing/migrated-database';
import { JobQueueRepository, UploadBacklogRepository, type DataSource } from './index';

const EVENT = '00000000-0000-4000-8000-000000000000';
const SINCE = Date.parse('2026-11-25T11:00:00.000Z');
const NOW = new Date('2026-11-25T12:00:00.000Z');

describe('per-queue job figures and the upload backlog by site or class (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;

  /** Inserts `n` job rows of `workspace` in `queue` and `state`, attempt `attempt`, since SINCE + the row's index in seconds. */
  async function jobs(workspace: string, queue: string | null, state: string | null, n: number, attempt = 1, prefix = `${queue}-${state}`): Promise<void> {
    await ds.query(
      `INSERT INTO entities (workspace, entity_type, entity_id, version, deleted, state, view, scope_key, last_event_id, last_stream_seq, job_queue, job_state, job_attempt, job_since)
       SELECT $1, 'render', $6 || '-' || i, 1, false, '{}', '{"values":{},"inConflict":[]}', 'render', $7, i, $2, $3, $4, to_timestamp($5::double precision / 1000 + i)
         FROM generate_series(1, $8::int) i`,
      [workspace, queue, state, state === null ? null : attempt, SINCE, prefix, EVENT, n],
    );
  }

  before(async () => {
    ({ db, ds } = await migratedDatabase('job_queues'));
    // 100 000 finished jobs and 50 000 records that are not jobs: none of them is read.
    await jobs('ws', 'gpu', 'succeeded', 100_000);
    await jobs('ws', null, null, 50_000, 1, 'note');
    await jobs('ws', 'gpu', 'queued', 30);
    await jobs('ws', 'gpu', 'running', 4, 2);
    await jobs('ws', 'gpu', 'failed', 2, 3);
    await jobs('ws', 'asr', 'retrying', 5, 2);
    await jobs('ws', null, 'queued', 1);
    await jobs('other', 'gpu', 'queued', 7);
    await ds.query(
      `INSERT INTO repairs (repair_id, workspace, entity_type, entity_id, code, reason, detail, event_id, stream_seq, status)
       VALUES ('r1', 'ws', 'render', 'gpu-running-1', 'duplicate-claim', 'x', '{}', $1, 1, 'open'),
              ('r2', 'ws', 'render', 'gpu-running-2', 'terminal-state', 'x', '{}', $1, 2, 'resolved'),
              ('r3', 'ws', 'render', 'gone', 'terminal-state', 'x', '{}', $1, 3, 'open')`,
      [EVENT],
    );
    const upload = (id: number, workspace: string, site: string | null, fileClass: string, size: number | null, offset: number, status = 'uploading') =>
      ds.query(
        `INSERT INTO asset_uploads (id, workspace, site, sha256, size, upload_offset, content_type, file_class, metadata, object_key, part_size, status, status_since, expires_at, created_at, updated_at)
         VALUES ($1, $2, $3, 'x', $4, $5, 'image/png', $6, '{}', 'k', 5242880, $7, $8, $9, $10, $11)`,
        [
          `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
          workspace,
          site,
          size,
          offset,
          fileClass,
          status,
          NOW,
          new Date(NOW.getTime() + 86_400_000),
          new Date(NOW.getTime() - id * 60_000),
          new Date(NOW.getTime() - (id === 3 ? 3600_000 : 0)),
        ],
      );
    await upload(1, 'ws', 'north', 'image', 1000, 100);
    await upload(2, 'ws', 'north', 'video', 5000, 0);
    await upload(3, 'ws', 'south', 'image', 300, 0);
    await upload(4, 'ws', null, 'image', null, 50);
    await upload(5, 'ws', 'north', 'image', 9999, 9999, 'verified');
    await ds.query('ANALYZE entities');
  });
  after(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('counts jobs per workspace, queue and state, with retries and the oldest since; finished jobs and other records are not counted', async () => {
    const repo = new JobQueueRepository(ds);
    const rows = await repo.states(null);
    assert.deepEqual(
      rows.map((r) => [r.workspace, r.queue, r.state, r.jobs, r.retries, r.oldestSince?.toISOString()]),
      [
        ['other', 'gpu', 'queued', 7, 0, new Date(SINCE + 1000).toISOString()],
        ['ws', 'asr', 'retrying', 5, 5, new Date(SINCE + 1000).toISOString()],
        ['ws', 'gpu', 'failed', 2, 4, new Date(SINCE + 1000).toISOString()],
        ['ws', 'gpu', 'queued', 30, 0, new Date(SINCE + 1000).toISOString()],
        ['ws', 'gpu', 'running', 4, 4, new Date(SINCE + 1000).toISOString()],
        ['ws', null, 'queued', 1, 0, new Date(SINCE + 1000).toISOString()],
      ],
    );
    assert.deepEqual(
      (await repo.states('other')).map((r) => [r.queue, r.jobs]),
      [['gpu', 7]],
    );
    assert.deepEqual(
      await repo.openRepairs('ws'),
      [
        { workspace: 'ws', queue: 'gpu', open: 1 },
        { workspace: 'ws', queue: null, open: 1 },
      ],
      'a repair of a job no longer there counts under no queue; a resolved one not at all',
    );
  });

  it('reads only the jobs counted: an index-only range of entities_job_queue (EXPLAIN ANALYZE, BUFFERS)', async () => {
    await ds.query('VACUUM (ANALYZE) entities');
    const rows: { 'QUERY PLAN': string }[] = await ds.query(
      `EXPLAIN (ANALYZE, BUFFERS) SELECT workspace, job_queue, job_state, count(*), coalesce(sum(job_attempt - 1), 0), min(job_since)
         FROM entities WHERE job_state IN ('queued', 'running', 'retrying', 'failed') AND ($1::text IS NULL OR workspace = $1)
        GROUP BY workspace, job_queue, job_state`,
      [null],
    );
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    process.stdout.write(`-- 49 live jobs among 150 049 rows\n${plan}\n`);
    assert.doesNotMatch(plan, /Seq Scan/, plan);
    assert.match(plan, /Index Only Scan using entities_job_queue/, plan);
    const execution = plan.split('\nPlanning')[0]!;
    const buffers = [...execution.matchAll(/shared hit=(\d+)(?: read=(\d+))?/g)].map((m) => Number(m[1]) + Number(m[2] ?? 0));
    assert.ok(Math.max(...buffers) < 20, `a few pages, not the table's thousands: ${buffers.join(', ')}\n${plan}`);
  });

  it('groups uploads in progress by site (devices without one: null) or by file class, most bytes pending first', async () => {
    const repo = new UploadBacklogRepository(ds);
    const bySite = await repo.backlog({ by: 'site', workspace: 'ws', now: NOW, stalledAfterSeconds: 900 });
    assert.deepEqual(
      bySite.map((g) => [g.key, g.uploads, g.bytesDeclared, g.bytesReceived, g.bytesPending, g.unknownLength, g.stalled]),
      [
        ['north', 2, 6000, 100, 5900, 0, 0],
        ['south', 1, 300, 0, 300, 0, 1],
        [null, 1, 0, 50, 0, 1, 0],
      ],
    );
    assert.equal(bySite[0]!.oldestCreatedAt.toISOString(), new Date(NOW.getTime() - 2 * 60_000).toISOString());
    const byClass = await repo.backlog({ by: 'class', workspace: null, now: NOW, stalledAfterSeconds: 900 });
    assert.deepEqual(
      byClass.map((g) => [g.workspace, g.key, g.uploads, g.bytesPending]),
      [
        ['ws', 'video', 1, 5000],
        ['ws', 'image', 3, 1200],
      ],
    );
  });
});
