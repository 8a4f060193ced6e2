import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Device sequences abandoned for good: ranges a device reported it will never push (refused events it
 * discarded from quarantine), with its reason and when; operations count them as abandoned, not missing.
 * One row per reported range; a range reported again is the same row.
 */
export class AbandonedSequences1765230000000 implements MigrationInterface {
  name = 'AbandonedSequences1765230000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "device_abandoned_sequences" (
      "workspace" text NOT NULL, "device_id" text NOT NULL, "first_seq" bigint NOT NULL, "last_seq" bigint NOT NULL,
      "reason" text, "reported_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_device_abandoned_sequences" PRIMARY KEY ("workspace", "device_id", "first_seq", "last_seq"),
      CONSTRAINT "CHK_device_abandoned_sequences_range" CHECK ("first_seq" >= 1 AND "first_seq" <= "last_seq"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "device_abandoned_sequences"');
  }
}
