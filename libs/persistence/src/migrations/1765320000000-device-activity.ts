import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What operators see of a device beyond its pushes: how far it has read (the change-log cursor the gateway last
 * delivered to it, by pull, long-poll or live stream; with the time), so lag per device within a read scope is the
 * scope's changes after that cursor; and the writes its access rules refused (how many, and the last refusal with
 * the role, the rules version and the denials), so a refused write shows up with its rule.
 */
export class DeviceActivity1765320000000 implements MigrationInterface {
  name = 'DeviceActivity1765320000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE IF NOT EXISTS "device_read_positions" (
      "workspace" text NOT NULL, "device_id" text NOT NULL, "cursor" bigint NOT NULL,
      "read_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "PK_device_read_positions" PRIMARY KEY ("workspace", "device_id"),
      CONSTRAINT "FK_device_read_positions_device" FOREIGN KEY ("workspace", "device_id") REFERENCES "devices" ("workspace", "device_id") ON DELETE CASCADE)`);
    await q.query(`CREATE TABLE IF NOT EXISTS "device_write_refusals" (
      "workspace" text NOT NULL, "device_id" text NOT NULL, "refused" bigint NOT NULL,
      "last_at" TIMESTAMP WITH TIME ZONE NOT NULL, "last" jsonb NOT NULL,
      CONSTRAINT "PK_device_write_refusals" PRIMARY KEY ("workspace", "device_id"),
      CONSTRAINT "FK_device_write_refusals_device" FOREIGN KEY ("workspace", "device_id") REFERENCES "devices" ("workspace", "device_id") ON DELETE CASCADE)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "device_write_refusals"');
    await q.query('DROP TABLE "device_read_positions"');
  }
}
