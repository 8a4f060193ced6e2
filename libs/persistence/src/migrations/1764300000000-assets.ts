import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The asset-service ledger: uploads and their parts, stored assets, references, and the ASSETS outbox. */
export class Assets1764300000000 implements MigrationInterface {
  name = 'Assets1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "asset_uploads" (
      "id" uuid NOT NULL, "workspace" text NOT NULL, "sha256" text NOT NULL, "size" bigint,
      "upload_offset" bigint NOT NULL DEFAULT 0, "content_type" text NOT NULL, "file_class" text NOT NULL,
      "filename" text, "metadata" jsonb NOT NULL, "object_key" text NOT NULL, "s3_upload_id" text,
      "part_size" bigint NOT NULL, "parts_bytes" bigint NOT NULL DEFAULT 0, "next_part" integer NOT NULL DEFAULT 1,
      "tail_bytes" bigint NOT NULL DEFAULT 0, "status" text NOT NULL, "reason" text,
      "deduplicated" boolean NOT NULL DEFAULT false, "lock_owner" text, "lock_expires_at" TIMESTAMP WITH TIME ZONE,
      "status_since" TIMESTAMP WITH TIME ZONE NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_asset_uploads" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "asset_uploads_status_expires" ON "asset_uploads" ("status", "expires_at")`);
    await q.query(`CREATE INDEX "asset_uploads_workspace_status" ON "asset_uploads" ("workspace", "status")`);
    await q.query(`CREATE TABLE "asset_upload_parts" (
      "upload_id" uuid NOT NULL, "part_number" integer NOT NULL, "size" bigint NOT NULL, "etag" text NOT NULL,
      "sha256" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_asset_upload_parts" PRIMARY KEY ("upload_id", "part_number"))`);
    await q.query(`CREATE TABLE "assets" (
      "workspace" text NOT NULL, "sha256" text NOT NULL, "size" bigint NOT NULL, "content_type" text NOT NULL,
      "file_class" text NOT NULL, "object_key" text NOT NULL, "status" text NOT NULL, "reason" text,
      "ref_count" integer NOT NULL DEFAULT 0, "generation" integer NOT NULL DEFAULT 0, "upload_id" uuid NOT NULL,
      "status_since" TIMESTAMP WITH TIME ZONE NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_assets" PRIMARY KEY ("workspace", "sha256"))`);
    await q.query(`CREATE INDEX "assets_status_since" ON "assets" ("status", "status_since")`);
    await q.query(`CREATE INDEX "assets_workspace_status" ON "assets" ("workspace", "status")`);
    await q.query(`CREATE TABLE "asset_references" (
      "workspace" text NOT NULL, "sha256" text NOT NULL, "ref" text NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_asset_references" PRIMARY KEY ("workspace", "sha256", "ref"))`);
    await q.query(`CREATE TABLE "asset_outbox" (
      "id" BIGSERIAL NOT NULL, "subject" text NOT NULL, "msg_id" text NOT NULL, "payload" jsonb NOT NULL,
      "headers" jsonb NOT NULL, "published_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_asset_outbox" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "asset_outbox_unpublished" ON "asset_outbox" ("id") WHERE published_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['asset_outbox', 'asset_references', 'assets', 'asset_upload_parts', 'asset_uploads']) {
      await q.query(`DROP TABLE "${table}"`);
    }
  }
}
