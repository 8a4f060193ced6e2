import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Partial sync. Every entity and change-log row carries its scope key (`scopeKey` in @tidemark/contracts: the
 * type, or the type and the value of its partition field), and a change that moved a record out of a key names
 * the key it left, so a pull filtered to a device's subscriptions reads an index range per key: O(changes in its
 * scopes), not O(changes in the workspace). Existing rows get their type as key (no type was partitioned before
 * `partitionBy` existed); on a large change log that rewrites the table once.
 * Devices get `claims` (what their scopes' parameters may be, e.g. `{"projects": ["p1"]}`), and each device's
 * subscriptions are kept, one row per scope and value.
 */
export class ReadScopes1765300000000 implements MigrationInterface {
  name = 'ReadScopes1765300000000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['change_log', 'entities']) {
      await q.query(`ALTER TABLE "${table}" ADD COLUMN IF NOT EXISTS "scope_key" text`);
      await q.query(`UPDATE "${table}" SET "scope_key" = "entity_type" WHERE "scope_key" IS NULL`);
      await q.query(`ALTER TABLE "${table}" ALTER COLUMN "scope_key" SET NOT NULL`);
    }
    await q.query(`ALTER TABLE "change_log" ADD COLUMN IF NOT EXISTS "moved_from_key" text`);
    await q.query(`CREATE INDEX IF NOT EXISTS "change_log_scope_cursor" ON "change_log" ("workspace", "scope_key", "cursor")`);
    await q.query(`CREATE INDEX IF NOT EXISTS "change_log_moved_from_cursor" ON "change_log" ("workspace", "moved_from_key", "cursor") WHERE moved_from_key IS NOT NULL`);
    await q.query(`CREATE INDEX IF NOT EXISTS "entities_scope" ON "entities" ("workspace", "scope_key", "entity_type", "entity_id")`);
    await q.query(`ALTER TABLE "devices" ADD COLUMN IF NOT EXISTS "claims" jsonb NOT NULL DEFAULT '{}'`);
    await q.query(`CREATE TABLE IF NOT EXISTS "device_subscriptions" (
      "workspace" text NOT NULL, "device_id" text NOT NULL, "scope" text NOT NULL, "value" text NOT NULL DEFAULT '',
      "subscribed_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_device_subscriptions" PRIMARY KEY ("workspace", "device_id", "scope", "value"),
      CONSTRAINT "FK_device_subscriptions_device" FOREIGN KEY ("workspace", "device_id") REFERENCES "devices" ("workspace", "device_id") ON DELETE CASCADE)`);
    await q.query(`CREATE INDEX IF NOT EXISTS "device_subscriptions_scope" ON "device_subscriptions" ("workspace", "scope", "value")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "device_subscriptions"');
    await q.query('ALTER TABLE "devices" DROP COLUMN "claims"');
    await q.query('DROP INDEX "entities_scope"');
    await q.query('DROP INDEX "change_log_moved_from_cursor"');
    await q.query('DROP INDEX "change_log_scope_cursor"');
    await q.query('ALTER TABLE "change_log" DROP COLUMN "moved_from_key"');
    for (const table of ['change_log', 'entities']) await q.query(`ALTER TABLE "${table}" DROP COLUMN "scope_key"`);
  }
}
