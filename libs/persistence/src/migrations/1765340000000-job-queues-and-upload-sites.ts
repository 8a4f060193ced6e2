import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-queue job figures and per-site upload backlog.
 *
 * Every `entities` row of a live job carries its queue (the value of its type's `queueBy` field), state, attempt
 * and the time it entered that state (`jobColumnsOf` in @tidemark/merge), written by the projector with the row.
 * A partial index over the jobs that are waiting, working or failed makes the per-queue counts an index-only scan
 * of those jobs alone: finished jobs (succeeded, cancelled) are not in it however many accumulate. Existing job
 * rows get their state, attempt and since from their stored state here; their queue is set by their next change
 * (or a replay of their type), since the queue field is declared by schemas this migration does not read.
 *
 * Each tus upload records the site of the device that created it (the token's `site`, null without one).
 */
export class JobQueuesAndUploadSites1765340000000 implements MigrationInterface {
  name = 'JobQueuesAndUploadSites1765340000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entities" ADD COLUMN IF NOT EXISTS "job_queue" text`);
    await q.query(`ALTER TABLE "entities" ADD COLUMN IF NOT EXISTS "job_state" text`);
    await q.query(`ALTER TABLE "entities" ADD COLUMN IF NOT EXISTS "job_attempt" integer`);
    await q.query(`ALTER TABLE "entities" ADD COLUMN IF NOT EXISTS "job_since" TIMESTAMP WITH TIME ZONE`);
    await q.query(
      `UPDATE "entities" SET "job_state" = "state"->'job'->>'state', "job_attempt" = ("state"->'job'->>'attempt')::integer,
              "job_since" = to_timestamp((("state"->'job'->'history'->-1->'hlc'->>'wall')::double precision) / 1000)
        WHERE "state" ? 'job' AND NOT "deleted" AND "job_state" IS NULL`,
    );
    await q.query(
      `CREATE INDEX IF NOT EXISTS "entities_job_queue" ON "entities" ("workspace", "job_queue", "job_state", "job_since", "job_attempt")
        WHERE job_state IN ('queued', 'running', 'retrying', 'failed')`,
    );
    await q.query(`ALTER TABLE "asset_uploads" ADD COLUMN IF NOT EXISTS "site" text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "asset_uploads" DROP COLUMN "site"');
    await q.query('DROP INDEX "entities_job_queue"');
    for (const column of ['job_since', 'job_attempt', 'job_state', 'job_queue']) await q.query(`ALTER TABLE "entities" DROP COLUMN "${column}"`);
  }
}
