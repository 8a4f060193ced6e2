import { Controller, Get, Inject, Query } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { RequireAuth } from '@tidemark/auth';
import { compileValidator, type AuditPage } from '@tidemark/contracts';
import { OPS_LIST_MAX_LIMIT, listAudit } from '@tidemark/persistence';
import { OPS_VIEWS, type OpsViews } from '../streams/views';
import { parseQuery } from '../streams/query';

export const AuditQuery = Type.Object(
  {
    action: Type.Optional(
      Type.String({ pattern: '^[a-z][a-z0-9-]*(\\.[a-z0-9-]+)*(\\.\\*)?$', maxLength: 64, description: 'an action (`conflict.resolve`), or every action under a prefix (`parked.*`)' }),
    ),
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'who: an operator token’s name, or `<workspace>/<deviceId>`' })),
    outcome: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$', description: '`ok`, or the code a refused call was audited with' })),
    workspace: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'the workspace the target names' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: OPS_LIST_MAX_LIMIT, description: `page size, 1–${OPS_LIST_MAX_LIMIT} (default 100)` })),
    before: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: '`next` of the previous page (entries are listed newest first)' })),
  },
  { additionalProperties: false },
);
const validate = compileValidator(AuditQuery);

/** The audit log: every state-changing call of every service (who, what, to what, why, how it ended). */
@RequireAuth('operator')
@Controller('v1')
export class AuditController {
  constructor(@Inject(OPS_VIEWS) private readonly views: OpsViews) {}

  /** Audit entries newest first, filtered by action (or an action prefix), actor, outcome and workspace, paged by `before`. */
  @Get('audit')
  async audit(@Query() query: Record<string, unknown>): Promise<AuditPage> {
    const q = parseQuery(validate, query, ['limit']);
    const { rows, hasMore } = await listAudit(this.views.ds, { action: q.action, actor: q.actor, outcome: q.outcome, workspace: q.workspace }, q.limit ?? 100, q.before);
    return {
      entries: rows.map((r) => ({
        id: r.id,
        at: r.at.toISOString(),
        actor: r.actor,
        actorKind: r.actor_kind,
        tokenId: r.token_id,
        action: r.action,
        target: r.target,
        reason: r.reason,
        detail: r.detail,
        outcome: r.outcome,
      })),
      hasMore,
      ...(hasMore ? { next: rows.at(-1)!.id } : {}),
    };
  }
}
