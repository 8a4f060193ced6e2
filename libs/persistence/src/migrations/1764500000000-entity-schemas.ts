import type { MigrationInterface, QueryRunner } from 'typeorm';

// Version 1 of the shipped AI-tools schemas as they were when this migration was released, copied here
// rather than imported from @tidemark/merge: editing the live definitions never changes what this seeds.
const ANNOTATION_V1 = {
  type: 'annotation',
  version: 1,
  description: 'a label a person puts on an asset or a region of it',
  onDeleteConflict: 'review',
  fields: {
    label: { policy: 'review', valueType: 'string', description: 'the label; concurrent different labels go to review' },
    confidence: { policy: 'max', valueType: 'number', description: 'highest confidence anyone recorded' },
    tags: { policy: 'set', valueType: 'string', description: 'add-wins set of tags' },
    notes: { policy: 'append', valueType: 'string', description: 'append-only discussion, ordered by HLC' },
    votes: { policy: 'counter', valueType: 'integer', description: 'net up/down votes' },
    region: { policy: 'review', valueType: 'json', nullable: true, description: 'the annotated region (bounding box or polygon)' },
    assetId: { policy: 'lww', valueType: 'string', description: 'the asset this annotation is on' },
    reviewedBy: { policy: 'lww', valueType: 'string', nullable: true, description: 'who last reviewed it' },
  },
};

const PROMPT_V1 = {
  type: 'prompt',
  version: 1,
  description: 'a prompt template in a workbench',
  onDeleteConflict: 'edit-wins',
  fields: {
    text: { policy: 'review', valueType: 'string', description: 'the prompt text; concurrent different edits go to review' },
    title: { policy: 'lww', valueType: 'string', description: 'display title' },
    tags: { policy: 'set', valueType: 'string', description: 'add-wins set of tags' },
    uses: { policy: 'counter', valueType: 'integer', description: 'times the prompt was run' },
    model: { policy: 'lww', valueType: 'string', nullable: true, description: 'preferred model' },
    params: { policy: 'review', valueType: 'json', nullable: true, description: 'generation parameters' },
    changelog: { policy: 'append', valueType: 'string', description: 'append-only change notes' },
  },
};

const OUTPUT_V1 = {
  type: 'output',
  version: 1,
  description: 'one generated output of a prompt run',
  onDeleteConflict: 'delete-wins',
  fields: {
    status: { policy: 'review', valueType: 'string', description: 'curation status (draft, accepted, rejected); concurrent different verdicts go to review' },
    score: { policy: 'max', valueType: 'number', description: 'best evaluation score' },
    latencyMs: { policy: 'min', valueType: 'integer', description: 'fastest observed generation latency' },
    content: { policy: 'lww', valueType: 'string', description: 'generated text' },
    promptId: { policy: 'lww', valueType: 'string', description: 'the prompt that produced it' },
    jobId: { policy: 'lww', valueType: 'string', nullable: true, description: 'the job that produced it' },
    assetSha256: { policy: 'lww', valueType: 'string', nullable: true, description: 'content address of a binary output' },
    labels: { policy: 'set', valueType: 'string', description: 'add-wins set of labels' },
    feedback: { policy: 'append', valueType: 'json', description: 'append-only feedback entries' },
    views: { policy: 'counter', valueType: 'integer', description: 'times it was viewed' },
  },
};

const JOB_V1 = {
  type: 'job',
  version: 1,
  description: 'a queued unit of machine work (generation, embedding, export)',
  onDeleteConflict: 'delete-wins',
  job: true,
  fields: {
    kind: { policy: 'lww', valueType: 'string', description: 'what the job does' },
    input: { policy: 'lww', valueType: 'json', nullable: true, description: 'job parameters' },
    progress: { policy: 'max', valueType: 'number', description: 'progress from 0 to 1; never goes back' },
    logs: { policy: 'append', valueType: 'string', description: 'append-only log lines' },
    outputId: { policy: 'lww', valueType: 'string', nullable: true, description: 'the output it produced' },
  },
};

/**
 * The schema registry moves into Postgres, seeded with the shipped AI-tools schemas, version 1 of each, as
 * they stood at release (above): a migration seeds the same rows forever.
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
