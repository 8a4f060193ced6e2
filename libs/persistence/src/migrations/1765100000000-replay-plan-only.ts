import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Plan-only replays. `replay_jobs.plan_only`: the request asked for the plan alone (events selected,
 * entities to rebuild, estimate); merge-service's worker ends such a job as soon as it is planned, without
 * creating a shadow or building anything. Existing jobs were full replays.
 */
export class ReplayPlanOnly1765100000000 implements MigrationInterface {
  name = 'ReplayPlanOnly1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "replay_jobs" ADD "plan_only" boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "replay_jobs" DROP COLUMN "plan_only"');
  }
}
