import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Foundation1764000000000 implements MigrationInterface {
  name = 'Foundation1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "entities" (
      "workspace" text NOT NULL, "entity_type" text NOT NULL, "entity_id" text NOT NULL,
      "version" bigint NOT NULL, "deleted" boolean NOT NULL DEFAULT false,
      "state" jsonb NOT NULL, "view" jsonb NOT NULL,
      "last_event_id" uuid NOT NULL, "last_stream_seq" bigint NOT NULL,
      CONSTRAINT "PK_entities" PRIMARY KEY ("workspace", "entity_type", "entity_id"))`);
    await q.query(`CREATE TABLE "change_log" (
      "cursor" BIGSERIAL NOT NULL, "workspace" text NOT NULL, "entity_type" text NOT NULL, "entity_id" text NOT NULL,
      "version" bigint NOT NULL, "deleted" boolean NOT NULL, "view" jsonb NOT NULL,
      "event_id" uuid NOT NULL, "device_id" text NOT NULL, "stream_seq" bigint NOT NULL,
      CONSTRAINT "PK_change_log" PRIMARY KEY ("cursor"))`);
    await q.query(`CREATE INDEX "change_log_workspace_cursor" ON "change_log" ("workspace", "cursor")`);
    await q.query(`CREATE TABLE "event_receipts" (
      "event_id" uuid NOT NULL, "workspace" text NOT NULL, "device_id" text NOT NULL, "device_seq" bigint NOT NULL,
      "entity_type" text NOT NULL, "entity_id" text NOT NULL, "status" text NOT NULL, "reason" text,
      "stream_seq" bigint NOT NULL, "version" bigint, "accepted_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "PK_event_receipts" PRIMARY KEY ("event_id"))`);
    await q.query(`CREATE INDEX "event_receipts_device" ON "event_receipts" ("workspace", "device_id", "device_seq")`);
    await q.query(`CREATE TABLE "journal_duplicates" (
      "stream_seq" bigint NOT NULL, "event_id" uuid NOT NULL, "workspace" text NOT NULL, "device_id" text NOT NULL,
      CONSTRAINT "PK_journal_duplicates" PRIMARY KEY ("stream_seq"))`);
    await q.query(`CREATE TABLE "consumer_checkpoints" (
      "consumer" text NOT NULL, "stream_seq" bigint NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_consumer_checkpoints" PRIMARY KEY ("consumer"))`);
    await q.query(`CREATE TABLE "outbox" (
      "id" BIGSERIAL NOT NULL, "subject" text NOT NULL, "payload" jsonb NOT NULL,
      "headers" jsonb NOT NULL, "published_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_outbox" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "outbox_unpublished" ON "outbox" ("id") WHERE published_at IS NULL`);
    await q.query(`CREATE TABLE "parked_events" (
      "consumer" text NOT NULL, "stream_seq" bigint NOT NULL, "event_id" uuid, "workspace" text,
      "subject" text NOT NULL, "reason" text NOT NULL, "attempts" integer NOT NULL, "payload" text NOT NULL,
      "status" text NOT NULL DEFAULT 'parked', "parked_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_parked_events" PRIMARY KEY ("consumer", "stream_seq"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['parked_events', 'outbox', 'consumer_checkpoints', 'journal_duplicates', 'event_receipts', 'change_log', 'entities']) {
      await q.query(`DROP TABLE "${table}"`);
    }
  }
}
