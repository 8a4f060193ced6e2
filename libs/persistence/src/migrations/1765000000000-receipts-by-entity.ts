import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Receipts by entity and journal sequence. A replay's swap asks, under the live checkpoint locks, whether
 * any of its entities took an event after the replay was planned; without this index that question reads
 * the whole receipts table while projection waits. Costs each receipt one more index entry.
 */
export class ReceiptsByEntity1765000000000 implements MigrationInterface {
  name = 'ReceiptsByEntity1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "event_receipts_entity" ON "event_receipts" ("workspace", "entity_type", "entity_id", "stream_seq")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX "event_receipts_entity"');
  }
}
