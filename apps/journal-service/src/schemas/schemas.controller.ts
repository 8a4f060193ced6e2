import { CurrentPrincipal, RequireAuth, type OperatorPrincipal } from '@tidemark/auth';
import { Body, Controller, Get, Headers, Inject, Param, Put, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { PROBLEM_BASE, ProblemType, problem, type InvalidParam } from '@tidemark/contracts';
import { ProblemError } from '@tidemark/platform';
import { pathErrors, readPublishRequest } from './publish';
import type { ActiveRevision, RevisionRecord, SchemaRecord, SchemaStore } from './schema-store';

export const SCHEMA_STORE = Symbol('SCHEMA_STORE');

function checkPath(type: string, version?: string): void {
  const errors: InvalidParam[] = pathErrors(type, version);
  if (errors.length > 0) throw ProblemError.validation(errors);
}

/** What publishing a never-changing definition (a schema version, a policy revision) came to. */
type Published<R> = { kind: 'created' | 'identical' | 'immutable'; record: R } | { kind: 'incompatible' | 'invalid'; errors: InvalidParam[] };

/**
 * Answers a publish: `201` with its location when created, `200` for the same definition again (a retry),
 * `409` when that number is published with another definition, `400` (by pointer) when it is refused.
 */
function answerPublished<R>(reply: FastifyReply, outcome: Published<R>, at: { location: string; problem: string; title: string; immutable: string; refused: string }): R {
  switch (outcome.kind) {
    case 'created':
      void reply.status(201).header('location', at.location);
      return outcome.record;
    case 'identical':
      void reply.status(200);
      return outcome.record;
    case 'immutable':
      throw new ProblemError({ type: `${PROBLEM_BASE}${at.problem}`, title: at.title, status: 409, detail: at.immutable, published: outcome.record });
    case 'incompatible':
    case 'invalid':
      throw ProblemError.validation(outcome.errors, at.refused);
  }
}

const notFound = (detail: string): ProblemError => new ProblemError(problem(ProblemType.notFound, 404, 'Not found', { detail }));

/**
 * The schema registry: every version of every entity type, as data in Postgres. Publishing is
 * append-only: a version, once published, never changes, so a replay of the journal merges every event
 * by the rules it was merged with. (Operator authentication for these routes is not in place yet.)
 */
@RequireAuth('any')
@Controller('v1/schemas')
export class SchemasController {
  constructor(@Inject(SCHEMA_STORE) private readonly store: SchemaStore) {}

  /** Every entity type with its published versions (without their definitions). */
  @Get()
  async list(): Promise<{ types: { type: string; latest: number; versions: { version: number; createdAt: string }[] }[] }> {
    const byType = new Map<string, { version: number; createdAt: string }[]>();
    for (const record of await this.store.all()) {
      const versions = byType.get(record.type) ?? [];
      versions.push({ version: record.version, createdAt: record.createdAt });
      byType.set(record.type, versions);
    }
    return { types: [...byType].map(([type, versions]) => ({ type, latest: versions.at(-1)!.version, versions })) };
  }

  /** Every published version of one type, oldest first, with definitions. */
  @Get(':type')
  async versions(@Param('type') type: string): Promise<{ type: string; versions: SchemaRecord[] }> {
    checkPath(type);
    const versions = await this.store.versions(type);
    if (versions.length === 0) throw notFound(`no schema is published for entity type "${type}"`);
    return { type, versions };
  }

  /** A type's policy revisions (revision 1, the declared policies, is implicit) and which workspaces merge with which. */
  @Get(':type/revisions')
  async revisions(@Param('type') type: string): Promise<{ type: string; revisions: RevisionRecord[]; active: ActiveRevision[] }> {
    checkPath(type);
    return { type, ...(await this.store.revisions(type)) };
  }

  @Get(':type/revisions/:revision')
  async oneRevision(@Param('type') type: string, @Param('revision') revision: string): Promise<RevisionRecord> {
    checkPath(type, revision);
    const record = await this.store.revision(type, Number(revision));
    if (!record) throw notFound(`entity type "${type}" has no published policy revision ${revision}`);
    return record;
  }

  /**
   * Publishes a policy revision: the type's merge policies restated for some fields, for every schema
   * version at once. It is pending: no workspace merges with it until a replay that rebuilt the type under
   * it is swapped (ops-api, `POST /v1/replays` with `policyRevisions`). `201` created, `200` the same
   * revision again, `409` that number is published with another definition, `400` invalid (by pointer).
   */
  @Put(':type/revisions/:revision')
  @RequireAuth('operator', 'admin')
  async publishRevision(
    @Param('type') type: string,
    @Param('revision') revision: string,
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() actor: OperatorPrincipal,
  ): Promise<RevisionRecord> {
    if (!contentType || !/^application\/json\b/i.test(contentType)) throw ProblemError.unsupportedMediaType(contentType);
    const outcome = await this.store.publishRevision(type, revision, body, actor);
    return answerPublished(reply, outcome, {
      location: `/v1/schemas/${type}/revisions/${revision}`,
      problem: 'policy-revision-published',
      title: 'Policy revision already published',
      immutable: `${type} revision ${revision} is published with another definition, and published revisions never change; publish a new revision instead`,
      refused: 'the policy revision is not valid for the published versions of the type; nothing was published',
    });
  }

  @Get(':type/:version')
  async one(@Param('type') type: string, @Param('version') version: string): Promise<SchemaRecord> {
    checkPath(type, version);
    const record = await this.store.get(type, Number(version));
    if (!record) throw notFound(`entity type "${type}" has no published schema version ${version}`);
    return record;
  }

  /**
   * Publishes a version: `201` when created, `200` when the same definition was already published (a
   * retry), `409` when the version exists with another definition, `400` when the definition is invalid,
   * does not match the path, or changes a field or flag of a published version of the type.
   */
  @Put(':type/:version')
  @RequireAuth('operator', 'admin')
  async publish(
    @Param('type') type: string,
    @Param('version') version: string,
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() actor: OperatorPrincipal,
  ): Promise<SchemaRecord> {
    if (!contentType || !/^application\/json\b/i.test(contentType)) throw ProblemError.unsupportedMediaType(contentType);
    const request = readPublishRequest(type, version, body);
    if (!request.ok) throw ProblemError.validation(request.errors, 'the schema definition is not valid; nothing was published');
    const outcome = await this.store.publish(request.schema, actor);
    return answerPublished(reply, outcome, {
      location: `/v1/schemas/${type}/${version}`,
      problem: 'schema-version-published',
      title: 'Schema version already published',
      immutable: `${type} v${version} is published with another definition, and published versions never change; publish a new version instead`,
      refused: `the schema is not compatible with the published versions of ${type}; nothing was published`,
    });
  }
}
