import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The device snapshot (`GET /v1/snapshot`) reads, for each entity, its latest change-log row at or before a
 * cursor: with the entity's rows in cursor order that is one backward index probe per entity, whatever the
 * number of versions (the version index cannot serve it: a replay may write a lower version at a later cursor).
 * It costs each applied event one more index entry. Building it locks the change log against writes while it
 * runs (a large change log: create it by hand with CONCURRENTLY first, this migration then finds it).
 */
export class SnapshotIndex1765245000000 implements MigrationInterface {
  name = 'SnapshotIndex1765245000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX IF NOT EXISTS "change_log_entity_cursor" ON "change_log" ("workspace", "entity_type", "entity_id", "cursor")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX "change_log_entity_cursor"');
  }
}
