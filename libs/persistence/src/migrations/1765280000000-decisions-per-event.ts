import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Merge decisions: one row per event instead of one per field. The event's decisions are one jsonb array of
 * positional tuples `[field, policy, rule, outcome, change, before, after(, conflictId)]` in decision order (a
 * decision's idx is its position), `before`/`after` JSON null when the field had no value and wrapped in a
 * one-element array when the value is null or an array (`storeDecision` in `@tidemark/merge`). The entity
 * index stays, so a replay still finds an entity's decisions. Existing rows are converted both ways.
 */
export class DecisionsPerEvent1765280000000 implements MigrationInterface {
  name = 'DecisionsPerEvent1765280000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "merge_decisions" RENAME TO "merge_decisions_by_field"');
    await q.query('ALTER TABLE "merge_decisions_by_field" RENAME CONSTRAINT "PK_merge_decisions" TO "PK_merge_decisions_by_field"');
    await q.query('ALTER INDEX "merge_decisions_entity" RENAME TO "merge_decisions_by_field_entity"');
    await q.query(`CREATE TABLE "merge_decisions" (
      "event_id" uuid NOT NULL, "workspace" text NOT NULL, "entity_type" text NOT NULL, "entity_id" text NOT NULL,
      "stream_seq" bigint NOT NULL, "decisions" jsonb NOT NULL,
      CONSTRAINT "PK_merge_decisions" PRIMARY KEY ("event_id", "workspace"))`);
    await q.query('CREATE INDEX "merge_decisions_entity" ON "merge_decisions" ("workspace", "entity_type", "entity_id")');
    const stored = (v: string): string => `CASE WHEN ${v} IS NULL THEN 'null'::jsonb WHEN jsonb_typeof(${v}) IN ('null', 'array') THEN jsonb_build_array(${v}) ELSE ${v} END`;
    await q.query(`INSERT INTO "merge_decisions" ("event_id", "workspace", "entity_type", "entity_id", "stream_seq", "decisions")
      SELECT "event_id", "workspace", min("entity_type"), min("entity_id"), min("stream_seq"),
             jsonb_agg(jsonb_build_array("field", "policy", "rule", "outcome", "change", ${stored('"before"')}, ${stored('"after"')})
                       || CASE WHEN "conflict_id" IS NULL THEN '[]'::jsonb ELSE jsonb_build_array("conflict_id") END ORDER BY "idx")
        FROM "merge_decisions_by_field" GROUP BY "event_id", "workspace"`);
    await q.query('DROP TABLE "merge_decisions_by_field"');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "merge_decisions" RENAME TO "merge_decisions_per_event"');
    await q.query('ALTER TABLE "merge_decisions_per_event" RENAME CONSTRAINT "PK_merge_decisions" TO "PK_merge_decisions_per_event"');
    await q.query('ALTER INDEX "merge_decisions_entity" RENAME TO "merge_decisions_per_event_entity"');
    await q.query(`CREATE TABLE "merge_decisions" (
      "event_id" uuid NOT NULL, "idx" integer NOT NULL, "workspace" text NOT NULL, "entity_type" text NOT NULL, "entity_id" text NOT NULL,
      "field" text NOT NULL, "policy" text NOT NULL, "rule" text NOT NULL, "outcome" text NOT NULL,
      "change" jsonb NOT NULL, "before" jsonb, "after" jsonb, "conflict_id" text, "stream_seq" bigint NOT NULL,
      CONSTRAINT "PK_merge_decisions" PRIMARY KEY ("event_id", "workspace", "idx"))`);
    await q.query('CREATE INDEX "merge_decisions_entity" ON "merge_decisions" ("workspace", "entity_type", "entity_id")');
    const value = (v: string): string => `CASE jsonb_typeof(${v}) WHEN 'null' THEN NULL WHEN 'array' THEN ${v} -> 0 ELSE ${v} END`;
    await q.query(`INSERT INTO "merge_decisions" ("event_id", "idx", "workspace", "entity_type", "entity_id", "field", "policy", "rule", "outcome", "change", "before", "after", "conflict_id", "stream_seq")
      SELECT m."event_id", (d.n - 1)::integer, m."workspace", m."entity_type", m."entity_id", d.t ->> 0, d.t ->> 1, d.t ->> 2, d.t ->> 3, d.t -> 4,
             ${value('d.t -> 5')}, ${value('d.t -> 6')}, d.t ->> 7, m."stream_seq"
        FROM "merge_decisions_per_event" m CROSS JOIN LATERAL jsonb_array_elements(m."decisions") WITH ORDINALITY AS d(t, n)`);
    await q.query('DROP TABLE "merge_decisions_per_event"');
  }
}
