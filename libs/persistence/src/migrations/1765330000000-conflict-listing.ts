import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Operators page through the conflict ledger by status in the order the journal opened the conflicts
 * (`listConflicts`: `(opened_seq, conflict_id) > cursor ORDER BY opened_seq, conflict_id`). With this index a
 * page of open conflicts reads its own rows, however many conflicts the ledger holds, instead of sorting
 * every open one for each page.
 */
export class ConflictListing1765330000000 implements MigrationInterface {
  name = 'ConflictListing1765330000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX IF NOT EXISTS "conflicts_listing" ON "conflicts" ("status", "opened_seq", "conflict_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS "conflicts_listing"`);
  }
}
