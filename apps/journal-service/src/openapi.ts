import { Type } from '@sinclair/typebox';
import { IdToken, OPENAPI_ROUTE, ProblemSchema, TypeName, openApiDocument, type RouteDoc } from '@tidemark/contracts';
import { ANNOTATION_V1 } from '@tidemark/merge';

const Workspace = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'the workspace (default `default`)' });
const Version = Type.String({ pattern: '^[1-9][0-9]{0,6}$', description: 'a positive integer' });

/** An entity type schema as published (checked field by field by the registry's own validator, errors by JSON pointer). */
const EntityTypeSchemaBody = Type.Object(
  {
    type: TypeName,
    version: Type.Integer({ minimum: 1 }),
    description: Type.Optional(Type.String()),
    onDeleteConflict: Type.Optional(Type.String({ description: 'what an edit racing a delete does (`review`, `delete-wins`, `edit-wins`)' })),
    fields: Type.Record(
      Type.String(),
      Type.Object(
        {
          policy: Type.String({ description: 'lww, counter, max, min, set, append or review' }),
          valueType: Type.String(),
          nullable: Type.Optional(Type.Boolean()),
          description: Type.Optional(Type.String()),
        },
        { additionalProperties: true },
      ),
    ),
  },
  { additionalProperties: true },
);
const PolicyRevisionBody = Type.Object(
  {
    type: TypeName,
    revision: Type.Integer({ minimum: 2 }),
    fields: Type.Record(Type.String(), Type.Object({ policy: Type.String(), nullable: Type.Optional(Type.Boolean()) })),
    onDeleteConflict: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
const SchemaRecord = Type.Object({ type: Type.String(), version: Type.Integer(), createdAt: Type.String({ format: 'date-time' }), definition: Type.Unknown() });
const RevisionRecord = Type.Object({ type: Type.String(), revision: Type.Integer(), createdAt: Type.String({ format: 'date-time' }), definition: Type.Unknown() });
const ActiveRevision = Type.Object({ workspace: Type.String(), revision: Type.Integer(), activatedAt: Type.String({ format: 'date-time' }), replayId: Type.Union([Type.String(), Type.Null()]) });

const SCHEMA_RECORD_EXAMPLE = { type: 'annotation', version: 1, createdAt: '2026-12-01T09:00:00.000Z', definition: ANNOTATION_V1 };
const REVISION_EXAMPLE = { type: 'annotation', revision: 2, fields: { confidence: { policy: 'min' } }, description: 'lowest confidence wins' };

const badPath = { description: 'a path segment is not valid (named as path:type, path:version, path:revision)', schema: ProblemSchema };
const created = { Location: { description: 'the published definition', example: '/v1/schemas/annotation/2' } };

/** journal-service's routes: topology, entity history and the schema registry. */
export const JOURNAL_ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/v1/topology',
    summary: 'The declared journal topology (streams, consumers), what the last apply at start did, and the live state of every declared stream',
    tags: ['topology'],
    auth: 'operator',
    responses: {
      200: {
        description: 'streams, consumers and the last apply',
        schema: Type.Object({
          streams: Type.Array(
            Type.Object({
              name: Type.String(),
              subjects: Type.Array(Type.String()),
              storage: Type.String(),
              replicas: Type.Integer(),
              messages: Type.Integer(),
              bytes: Type.Integer(),
              firstSeq: Type.Integer(),
              lastSeq: Type.Integer(),
            }),
          ),
          consumers: Type.Array(Type.Object({ stream: Type.String(), durable: Type.Optional(Type.String()), filter: Type.Optional(Type.String()) })),
          lastApplied: Type.Optional(Type.Unknown()),
        }),
        example: {
          streams: [{ name: 'JOURNAL', subjects: ['tm.journal.>'], storage: 'file', replicas: 1, messages: 120, bytes: 64000, firstSeq: 1, lastSeq: 120 }],
          consumers: [{ stream: 'JOURNAL', durable: 'merge-p00', filter: 'tm.journal.*.p00.>' }],
          lastApplied: { created: [], updated: [], unchanged: ['stream JOURNAL', 'stream MERGED', 'stream REVIEW', 'stream ASSETS', 'consumer JOURNAL/merge-p00'] },
        },
      },
    },
  },
  {
    method: 'get',
    path: '/v1/history/{type}/{id}',
    summary: 'One entity’s journal history, oldest first (its subject is one filter on the journal)',
    tags: ['history'],
    auth: 'operator',
    params: { type: TypeName, id: IdToken },
    query: Type.Object({
      workspace: Type.Optional(Workspace),
      limit: Type.Optional(Type.Integer({ minimum: 1, description: 'most entries returned (1 to HISTORY_MAX_EVENTS, which is also the default)' })),
    }),
    responses: {
      200: {
        description: 'the entity’s journal entries with their stream sequences',
        schema: Type.Object({
          workspace: Type.String(),
          entity: Type.Object({ type: Type.String(), id: Type.String() }),
          subject: Type.String(),
          events: Type.Array(Type.Object({ seq: Type.Integer(), record: Type.Unknown({ description: 'the journal record: the device event and what the gateway stamped on it' }) })),
        }),
        example: {
          workspace: 'default',
          entity: { type: 'annotation', id: 'img-42' },
          subject: 'tm.journal.default.p03.annotation.img-42',
          events: [{ seq: 17, record: { event: { eventId: '0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69', deviceSeq: 1, fields: { label: { op: 'set', value: 'cat' } } } } }],
        },
      },
      400: { description: 'the type, id, workspace or limit is not valid (named as path:/query:)', schema: ProblemSchema },
    },
  },
  {
    method: 'get',
    path: '/v1/schemas',
    summary: 'Every entity type with its published versions (without their definitions)',
    tags: ['schemas'],
    auth: 'any',
    responses: {
      200: {
        description: 'types, each with its latest version and every version',
        schema: Type.Object({
          types: Type.Array(Type.Object({ type: Type.String(), latest: Type.Integer(), versions: Type.Array(Type.Object({ version: Type.Integer(), createdAt: Type.String() })) })),
        }),
        example: { types: [{ type: 'annotation', latest: 1, versions: [{ version: 1, createdAt: '2026-12-01T09:00:00.000Z' }] }] },
      },
    },
  },
  {
    method: 'get',
    path: '/v1/schemas/{type}',
    summary: 'Every published version of one type, oldest first, with definitions',
    tags: ['schemas'],
    auth: 'any',
    params: { type: TypeName },
    responses: {
      200: { description: 'the versions', schema: Type.Object({ type: Type.String(), versions: Type.Array(SchemaRecord) }), example: { type: 'annotation', versions: [SCHEMA_RECORD_EXAMPLE] } },
      400: badPath,
      404: { description: 'no schema is published for the type', schema: ProblemSchema },
    },
  },
  {
    method: 'get',
    path: '/v1/schemas/{type}/revisions',
    summary: 'A type’s policy revisions (revision 1, the declared policies, is implicit) and which workspaces merge with which',
    tags: ['schemas'],
    auth: 'any',
    params: { type: TypeName },
    responses: {
      200: {
        description: 'revisions and the active one per workspace',
        schema: Type.Object({ type: Type.String(), revisions: Type.Array(RevisionRecord), active: Type.Array(ActiveRevision) }),
        example: {
          type: 'annotation',
          revisions: [{ type: 'annotation', revision: 2, createdAt: '2026-12-02T10:00:00.000Z', definition: REVISION_EXAMPLE }],
          active: [{ workspace: 'default', revision: 2, activatedAt: '2026-12-02T11:00:00.000Z', replayId: '5b1c2d3e-0000-4000-8000-000000000001' }],
        },
      },
      400: badPath,
    },
  },
  {
    method: 'get',
    path: '/v1/schemas/{type}/revisions/{revision}',
    summary: 'One published policy revision',
    tags: ['schemas'],
    auth: 'any',
    params: { type: TypeName, revision: Version },
    responses: {
      200: { description: 'the revision', schema: RevisionRecord, example: { type: 'annotation', revision: 2, createdAt: '2026-12-02T10:00:00.000Z', definition: REVISION_EXAMPLE } },
      400: badPath,
      404: { description: 'the type has no such revision', schema: ProblemSchema },
    },
  },
  {
    method: 'put',
    path: '/v1/schemas/{type}/revisions/{revision}',
    summary: 'Publish a policy revision (pending: no workspace merges with it until a replay rebuilt the type under it and was swapped); idempotent',
    tags: ['schemas'],
    auth: 'admin',
    params: { type: TypeName, revision: Version },
    body: PolicyRevisionBody,
    example: REVISION_EXAMPLE,
    responses: {
      201: { description: 'published', schema: RevisionRecord, headers: created },
      200: { description: 'the same revision was already published (a retry)', schema: RevisionRecord },
      400: { description: 'the revision is not valid for the published versions of the type (each problem by JSON pointer); nothing was published', schema: ProblemSchema },
      409: { description: 'that revision is published with another definition; published revisions never change', schema: ProblemSchema },
      415: { description: 'not application/json', schema: ProblemSchema },
    },
  },
  {
    method: 'get',
    path: '/v1/schemas/{type}/{version}',
    summary: 'One published schema version',
    tags: ['schemas'],
    auth: 'any',
    params: { type: TypeName, version: Version },
    responses: {
      200: { description: 'the version', schema: SchemaRecord, example: SCHEMA_RECORD_EXAMPLE },
      400: badPath,
      404: { description: 'the type has no such version', schema: ProblemSchema },
    },
  },
  {
    method: 'put',
    path: '/v1/schemas/{type}/{version}',
    summary: 'Publish a schema version; append-only and idempotent (a version once published never changes)',
    tags: ['schemas'],
    auth: 'admin',
    params: { type: TypeName, version: Version },
    body: EntityTypeSchemaBody,
    example: { ...ANNOTATION_V1, version: 2, fields: { ...ANNOTATION_V1.fields, severity: { policy: 'max', valueType: 'integer' } } },
    responses: {
      201: { description: 'published', schema: SchemaRecord, headers: created },
      200: { description: 'the same definition was already published (a retry)', schema: SchemaRecord },
      400: {
        description: 'the definition is invalid, does not match the path, or changes a field or flag of a published version (each problem by JSON pointer); nothing was published',
        schema: ProblemSchema,
      },
      409: { description: 'the version is published with another definition', schema: ProblemSchema },
      415: { description: 'not application/json', schema: ProblemSchema },
    },
  },
  {
    method: 'get',
    path: '/v1/asyncapi.json',
    summary:
      'The AsyncAPI 3.0 document of the messages tidemark publishes on NATS (MERGED, REVIEW, ASSETS streams and commit notices), with their payload schemas, subjects, streams, retention and dedupe header',
    tags: ['meta'],
    auth: 'none',
    responses: { 200: { description: 'the document', schema: Type.Object({ asyncapi: Type.String() }, { additionalProperties: true }) } },
  },
  OPENAPI_ROUTE,
];

/** The OpenAPI document journal-service serves at `GET /v1/openapi.json`. */
export const JOURNAL_OPENAPI = openApiDocument('tidemark journal-service', '1', JOURNAL_ROUTES, {
  description: 'The journal topology, one entity’s journal history, and the schema registry (entity type schemas and policy revisions).',
  servers: [
    { url: '/', description: 'the instance serving this document' },
    { url: 'http://127.0.0.1:3002', description: 'journal-service of a local stack (npm start)' },
  ],
});
