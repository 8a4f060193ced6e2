import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes for following one event through the projection (ops-api `GET /v1/events/:eventId`): an entity's
 * change-log rows by version (the row an event wrote and the one before it), and the conflicts an event
 * opened. Both are written by the projector; the change-log index costs each applied event one more
 * index entry.
 */
export class InspectionIndexes1764900000000 implements MigrationInterface {
  name = 'InspectionIndexes1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "change_log_entity_version" ON "change_log" ("workspace", "entity_type", "entity_id", "version")`);
    await q.query(`CREATE INDEX "conflicts_opened_event" ON "conflicts" ("opened_event_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX "conflicts_opened_event"');
    await q.query('DROP INDEX "change_log_entity_version"');
  }
}
