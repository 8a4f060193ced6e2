import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Access rules: each device may hold a role (null: none), read with its standing in the statement every push
 * already makes; each workspace's access rules (`AccessRules` in `@tidemark/access`) are kept as versions, the
 * highest one in force, every published version kept with who published it. A workspace without a row keeps the
 * open default (every device writes everything), so existing workspaces and devices are unchanged.
 */
export class AccessRules1765260000000 implements MigrationInterface {
  name = 'AccessRules1765260000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "devices" ADD COLUMN IF NOT EXISTS "role" text`);
    await q.query(`CREATE TABLE IF NOT EXISTS "access_rules" (
      "workspace" text NOT NULL, "version" integer NOT NULL, "rules" jsonb NOT NULL,
      "published_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "published_by" text NOT NULL,
      CONSTRAINT "PK_access_rules" PRIMARY KEY ("workspace", "version"),
      CONSTRAINT "FK_access_rules_workspace" FOREIGN KEY ("workspace") REFERENCES "workspaces" ("workspace"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "access_rules"');
    await q.query('ALTER TABLE "devices" DROP COLUMN "role"');
  }
}
