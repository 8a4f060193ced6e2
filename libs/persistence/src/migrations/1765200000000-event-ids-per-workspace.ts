import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An eventId is the device's, so its identity is (workspace, eventId): the same id in two workspaces is two
 * events that never meet. Receipts, merge decisions, and the conflicts and repairs whose ids the merge derives
 * from an eventId are keyed with their workspace. The eventId stays first in each key, so an operator's
 * lookup by eventId alone still reads the index.
 */
export class EventIdsPerWorkspace1765200000000 implements MigrationInterface {
  name = 'EventIdsPerWorkspace1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "event_receipts" DROP CONSTRAINT "PK_event_receipts", ADD CONSTRAINT "PK_event_receipts" PRIMARY KEY ("event_id", "workspace")');
    await q.query('ALTER TABLE "merge_decisions" DROP CONSTRAINT "PK_merge_decisions", ADD CONSTRAINT "PK_merge_decisions" PRIMARY KEY ("event_id", "workspace", "idx")');
    await q.query('ALTER TABLE "conflicts" DROP CONSTRAINT "PK_conflicts", ADD CONSTRAINT "PK_conflicts" PRIMARY KEY ("conflict_id", "workspace")');
    await q.query('ALTER TABLE "repairs" DROP CONSTRAINT "PK_repairs", ADD CONSTRAINT "PK_repairs" PRIMARY KEY ("repair_id", "workspace")');
  }

  async down(q: QueryRunner): Promise<void> {
    // Fails while two workspaces share an id, which is the point of the up migration.
    await q.query('ALTER TABLE "repairs" DROP CONSTRAINT "PK_repairs", ADD CONSTRAINT "PK_repairs" PRIMARY KEY ("repair_id")');
    await q.query('ALTER TABLE "conflicts" DROP CONSTRAINT "PK_conflicts", ADD CONSTRAINT "PK_conflicts" PRIMARY KEY ("conflict_id")');
    await q.query('ALTER TABLE "merge_decisions" DROP CONSTRAINT "PK_merge_decisions", ADD CONSTRAINT "PK_merge_decisions" PRIMARY KEY ("event_id", "idx")');
    await q.query('ALTER TABLE "event_receipts" DROP CONSTRAINT "PK_event_receipts", ADD CONSTRAINT "PK_event_receipts" PRIMARY KEY ("event_id")');
  }
}
