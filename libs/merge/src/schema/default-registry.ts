import type { EntityTypeSchema } from './schema';
import { deepFreeze } from './own';
import { schemaRegistryOf, type SchemaRegistry } from './registry';

/**
 * An annotation made by a person on an asset: its label is judgement (concurrent edits go to review),
 * confidence only rises, tags merge, notes accumulate, votes count.
 */
export const ANNOTATION_V1: EntityTypeSchema = deepFreeze({
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
});

/** A prompt in a workbench: its text is authored (review), the rest is metadata. */
export const PROMPT_V1: EntityTypeSchema = deepFreeze({
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
});

/** A generated output: machine-written content, human curation. Cheap to regenerate, so delete wins. */
export const OUTPUT_V1: EntityTypeSchema = deepFreeze({
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
});

/** A unit of machine work; its lifecycle is the job state machine, driven by `transition` events. */
export const JOB_V1: EntityTypeSchema = deepFreeze({
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
});

/** The schemas shipped for the AI-tools domain. */
export const DEFAULT_SCHEMAS: readonly EntityTypeSchema[] = Object.freeze([ANNOTATION_V1, PROMPT_V1, OUTPUT_V1, JOB_V1]);

/** The registry of `DEFAULT_SCHEMAS`. */
export const defaultRegistry: SchemaRegistry = schemaRegistryOf(DEFAULT_SCHEMAS);
