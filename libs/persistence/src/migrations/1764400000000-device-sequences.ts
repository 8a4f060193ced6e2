import type { MigrationInterface, QueryRunner } from 'typeorm';

export class DeviceSequences1764400000000 implements MigrationInterface {
  name = 'DeviceSequences1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "device_sequences" (
      "workspace" text NOT NULL, "device_id" text NOT NULL, "site" text,
      "contiguous" bigint NOT NULL DEFAULT 0, "max_seq" bigint NOT NULL DEFAULT 0, "ahead" jsonb NOT NULL DEFAULT '[]',
      "events" bigint NOT NULL DEFAULT 0, "last_accepted_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_device_sequences" PRIMARY KEY ("workspace", "device_id"))`);
    await q.query(`CREATE INDEX "device_sequences_site" ON "device_sequences" ("workspace", "site")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "device_sequences"');
  }
}
