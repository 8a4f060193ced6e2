import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scoped replay and merge-policy revisions.
 *  - `policy_revisions`: an entity type's merge policies restated (published through journal-service,
 *    never changed once published); `policy_activations`: which revision a workspace merges a type with,
 *    one row per activation (the latest row of a workspace and type is in force; no row: revision 1, the
 *    declared policies). Its id is the generation merge-service checks before every batch.
 *  - `replay_jobs`: one replay (scope, revisions, state, plan, progress, diff summary and digest);
 *    `replay_entities`: the entities it rebuilds, with how many selected events touched each and, once
 *    built, each one's diff against live.
 */
export class Replay1764800000000 implements MigrationInterface {
  name = 'Replay1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "policy_revisions" (
      "type" text NOT NULL, "revision" integer NOT NULL, "definition" jsonb NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_policy_revisions" PRIMARY KEY ("type", "revision"))`);
    await q.query(`CREATE TABLE "policy_activations" (
      "id" BIGSERIAL NOT NULL, "workspace" text NOT NULL, "type" text NOT NULL, "revision" integer NOT NULL,
      "replay_id" uuid, "activated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_policy_activations" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "policy_activations_current" ON "policy_activations" ("workspace", "type", "id")`);
    await q.query(`CREATE TABLE "replay_jobs" (
      "id" uuid NOT NULL, "status" text NOT NULL, "scope" jsonb NOT NULL, "policy_revisions" jsonb NOT NULL,
      "reason" text NOT NULL, "requested_by" text NOT NULL, "rate_limit" integer NOT NULL,
      "live_prefix" text, "partitions" integer, "bounds" jsonb, "revisions" jsonb,
      "plan_seq" bigint NOT NULL DEFAULT 0, "plan_to" bigint, "scanned_events" bigint NOT NULL DEFAULT 0,
      "selected_events" bigint NOT NULL DEFAULT 0, "affected_entities" bigint NOT NULL DEFAULT 0,
      "rebuild_events" bigint, "estimate" jsonb,
      "done_events" bigint NOT NULL DEFAULT 0, "build_seq" bigint NOT NULL DEFAULT 0, "capacity" double precision,
      "resumes" integer NOT NULL DEFAULT 0, "phase_started_at" TIMESTAMP WITH TIME ZONE, "phase_done_at_start" bigint NOT NULL DEFAULT 0,
      "diff_summary" jsonb, "diff_digest" text, "swap_summary" jsonb, "error" text, "shadow_dropped" boolean NOT NULL DEFAULT false,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "planned_at" TIMESTAMP WITH TIME ZONE, "built_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_replay_jobs" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "replay_jobs_status" ON "replay_jobs" ("status", "created_at")`);
    await q.query(`CREATE TABLE "replay_entities" (
      "replay_id" uuid NOT NULL, "workspace" text NOT NULL, "entity_type" text NOT NULL, "entity_id" text NOT NULL,
      "partition" text NOT NULL, "selected_events" integer NOT NULL DEFAULT 0, "change" text, "diff" jsonb,
      CONSTRAINT "PK_replay_entities" PRIMARY KEY ("replay_id", "workspace", "entity_type", "entity_id"),
      CONSTRAINT "FK_replay_entities_job" FOREIGN KEY ("replay_id") REFERENCES "replay_jobs" ("id") ON DELETE CASCADE)`);
    await q.query(`CREATE INDEX "replay_entities_change" ON "replay_entities" ("replay_id", "change")`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['replay_entities', 'replay_jobs', 'policy_activations', 'policy_revisions']) await q.query(`DROP TABLE "${table}"`);
  }
}
