import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Parked work an operator can act on: each parked message's reason code, and how it left `parked`
 * (re-driven by a later journal copy, or skipped) with the operator's stated reason and the journal
 * sequence of that copy. The site of a device's latest event that named one. The asset references each
 * entity holds now (fields declared `valueType: 'asset'`), replaced with every change of the entity.
 */
export class ParkingAndAssetRefs1764700000000 implements MigrationInterface {
  name = 'ParkingAndAssetRefs1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "parked_events" ADD "code" text, ADD "resolved_seq" bigint, ADD "resolution" text, ADD "note" text`);
    await q.query(`CREATE INDEX "parked_events_status" ON "parked_events" ("status", "workspace")`);
    await q.query(`CREATE INDEX "parked_events_event" ON "parked_events" ("event_id")`);
    await q.query(`ALTER TABLE "device_sequences" ADD "site_seq" bigint`);
    await q.query(`CREATE TABLE "entity_assets" (
      "workspace" text NOT NULL, "entity_type" text NOT NULL, "entity_id" text NOT NULL, "field" text NOT NULL, "sha256" text NOT NULL,
      CONSTRAINT "PK_entity_assets" PRIMARY KEY ("workspace", "entity_type", "entity_id", "field", "sha256"))`);
    await q.query(`CREATE INDEX "entity_assets_sha256" ON "entity_assets" ("workspace", "sha256")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "entity_assets"');
    await q.query('ALTER TABLE "device_sequences" DROP COLUMN "site_seq"');
    await q.query('DROP INDEX "parked_events_event"');
    await q.query('DROP INDEX "parked_events_status"');
    await q.query('ALTER TABLE "parked_events" DROP COLUMN "note", DROP COLUMN "resolution", DROP COLUMN "resolved_seq", DROP COLUMN "code"');
  }
}
