import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ANNOTATION_V1, JOB_V1, OUTPUT_V1, PROMPT_V1 } from '@tidemark/merge';

/**
 * The schema registry moves into Postgres, seeded with the shipped AI-tools schemas. They are named one
 * by one (version 1 of each), not taken from a list that may grow: a migration seeds the same rows forever.
 */
export class EntitySchemas1764500000000 implements MigrationInterface {
  name = 'EntitySchemas1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "entity_schemas" (
      "type" text NOT NULL, "version" integer NOT NULL, "definition" jsonb NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_entity_schemas" PRIMARY KEY ("type", "version"))`);
    for (const schema of [ANNOTATION_V1, PROMPT_V1, OUTPUT_V1, JOB_V1]) {
      await q.query(`INSERT INTO "entity_schemas" ("type", "version", "definition") VALUES ($1, $2, $3::jsonb) ON CONFLICT DO NOTHING`, [schema.type, schema.version, JSON.stringify(schema)]);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "entity_schemas"');
  }
}
