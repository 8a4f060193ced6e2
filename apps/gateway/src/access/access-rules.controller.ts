import { Body, Controller, Get, Headers, Inject, Param, Put, Res } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { ProblemType, compileValidator, problem } from '@tidemark/contracts';
import { CurrentPrincipal, RequireAuth, type OperatorPrincipal, type PublishedAccessRules } from '@tidemark/auth';
import { ProblemError } from '@tidemark/platform';
import { IDENTITY_DEPS, validators as identity, type IdentityDeps } from '../identity/identity.controller';

/** `PUT …/access-rules`: the rules (checked by `validateAccessRules`) and why, for the audit log. */
export const PublishAccessRules = Type.Object(
  {
    rules: Type.Unknown({ description: "the workspace's access rules: { version, roles, defaultRole?, description? } (docs/protocol.md, Roles)" }),
    reason: Type.String({ minLength: 1, maxLength: 1000, description: 'why, for the audit log' }),
  },
  { additionalProperties: false },
);

export const accessValidators = { publish: compileValidator(PublishAccessRules) };

const notFound = (detail: string): ProblemError => new ProblemError(problem(ProblemType.notFound, 404, 'Not found', { detail }));

/**
 * A workspace's access rules, for operators with the admin role: the rules in force, every published version, and
 * publishing the next one. A publish takes effect on the next request of every device (every gateway forgets what it
 * cached of the workspace's devices on the notice announced before the publish answers) and is audited (`access-rules.publish`) in its own transaction.
 */
@RequireAuth('operator', 'admin')
@Controller('v1/admin/workspaces/:workspace/access-rules')
export class AccessRulesController {
  constructor(@Inject(IDENTITY_DEPS) private readonly deps: IdentityDeps) {}

  /** The rules in force; 404 when the workspace has none (every device writes everything). */
  @Get()
  async current(@Param('workspace') workspaceText: string): Promise<PublishedAccessRules> {
    const workspace = workspaceOf(workspaceText);
    const current = await this.deps.accessRules.current(workspace);
    if (!current) throw notFound(`workspace "${workspace}" has no access rules: every device may write and resolve everything`);
    return current;
  }

  /** Every published version, oldest first (an empty list: none). */
  @Get('versions')
  async versions(@Param('workspace') workspaceText: string): Promise<{ versions: PublishedAccessRules[] }> {
    return { versions: await this.deps.accessRules.versions(workspaceOf(workspaceText)) };
  }

  /**
   * Publishes the next version of the rules: `201` when created, `200` when exactly these rules are that version
   * already (a retry), `409` when the version is taken by other rules or is not the next, `400` (by pointer) when
   * they are not valid, `404` for an unknown workspace.
   */
  @Put()
  async publish(
    @Param('workspace') workspaceText: string,
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentPrincipal() actor: OperatorPrincipal,
  ): Promise<PublishedAccessRules> {
    if (!contentType || !/^application\/json\b/i.test(contentType)) throw ProblemError.unsupportedMediaType(contentType);
    const workspace = workspaceOf(workspaceText);
    const input = accessValidators.publish(body);
    if (!input.ok) throw ProblemError.validation(input.errors, 'nothing was published');
    const outcome = await this.deps.accessRules.publish(workspace, input.value.rules, actor, input.value.reason);
    // A retry (`identical`) announces again: the first attempt may have committed without its notice being confirmed.
    if (outcome.kind === 'created' || outcome.kind === 'identical') await this.deps.announce({ workspace });
    switch (outcome.kind) {
      case 'created':
        void reply.status(201);
        return outcome.record;
      case 'identical':
        void reply.status(200);
        return outcome.record;
      case 'invalid':
        throw ProblemError.validation(
          outcome.errors.map((e) => ({ ...e, pointer: `/rules${e.pointer === '/' ? '' : e.pointer}` })),
          'the access rules are not valid; nothing was published',
        );
      case 'conflict':
        throw new ProblemError(
          problem(ProblemType.conflict, 409, 'Access rules version conflict', {
            detail: outcome.detail,
            next: outcome.next,
            errors: [{ pointer: '/rules/version', detail: `must be ${outcome.next}` }],
          }),
        );
      case 'no-workspace':
        throw notFound(`workspace "${workspace}" does not exist; create it first`);
    }
  }
}

function workspaceOf(text: string): string {
  const result = identity.workspaceId(text);
  if (!result.ok) throw ProblemError.validation(result.errors.map((e) => ({ ...e, pointer: `path:workspace${e.pointer}` })));
  return result.value;
}
