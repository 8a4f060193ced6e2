import type { MigrationInterface, QueryRunner } from 'typeorm';

export class MergeLedger1764100000000 implements MigrationInterface {
  name = 'MergeLedger1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "merge_decisions" (
      "event_id" uuid NOT NULL, "idx" integer NOT NULL, "workspace" text NOT NULL, "entity_type" text NOT NULL, "entity_id" text NOT NULL,
      "field" text NOT NULL, "policy" text NOT NULL, "rule" text NOT NULL, "outcome" text NOT NULL,
      "change" jsonb NOT NULL, "before" jsonb, "after" jsonb, "conflict_id" text, "stream_seq" bigint NOT NULL,
      CONSTRAINT "PK_merge_decisions" PRIMARY KEY ("event_id", "idx"))`);
    await q.query(`CREATE INDEX "merge_decisions_entity" ON "merge_decisions" ("workspace", "entity_type", "entity_id")`);
    await q.query(`CREATE TABLE "conflicts" (
      "conflict_id" text NOT NULL, "workspace" text NOT NULL, "entity_type" text NOT NULL, "entity_id" text NOT NULL,
      "field" text NOT NULL, "kind" text NOT NULL, "rule" text NOT NULL, "status" text NOT NULL, "detail" jsonb NOT NULL,
      "opened_event_id" uuid NOT NULL, "opened_seq" bigint NOT NULL, "opened_accepted_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "resolved_event_id" uuid, "resolved_seq" bigint,
      CONSTRAINT "PK_conflicts" PRIMARY KEY ("conflict_id"))`);
    await q.query(`CREATE INDEX "conflicts_open" ON "conflicts" ("workspace", "status", "entity_type", "field")`);
    await q.query(`CREATE TABLE "repairs" (
      "repair_id" text NOT NULL, "workspace" text NOT NULL, "entity_type" text NOT NULL, "entity_id" text NOT NULL,
      "code" text NOT NULL, "reason" text NOT NULL, "detail" jsonb NOT NULL, "event_id" uuid NOT NULL, "stream_seq" bigint NOT NULL,
      "status" text NOT NULL DEFAULT 'open',
      CONSTRAINT "PK_repairs" PRIMARY KEY ("repair_id"))`);
    await q.query(`CREATE INDEX "repairs_open" ON "repairs" ("workspace", "status")`);
    await q.query(`ALTER TABLE "outbox" ADD COLUMN "msg_id" text`);
    await q.query(`UPDATE "outbox" SET "msg_id" = 'outbox-' || "id" WHERE "msg_id" IS NULL`);
    await q.query(`ALTER TABLE "outbox" ALTER COLUMN "msg_id" SET NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "outbox" DROP COLUMN "msg_id"');
    await q.query('DROP TABLE "repairs"');
    await q.query('DROP TABLE "conflicts"');
    await q.query('DROP TABLE "merge_decisions"');
  }
}
