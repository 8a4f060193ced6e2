import { Controller, Get, Inject, Query } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { RequireAuth } from '@tidemark/auth';
import { compileValidator, type ScopeSubscriptionView, type ScopeView, type ScopesView } from '@tidemark/contracts';
import { OPS_VIEWS, type OpsViews } from '../streams/views';
import { parseQuery } from '../streams/query';
import { readScopeFacts } from './scope-facts';

export const ScopesQuery = Type.Object({ workspace: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) }, { additionalProperties: false });
const validate = compileValidator(ScopesQuery);
/** Device ids listed per subscription (the count is always complete). */
const LISTED_DEVICES = 50;

/** Read scopes of a workspace and who subscribes to them: what partial sync delivers to whom. */
@RequireAuth('operator')
@Controller('v1')
export class ScopesController {
  constructor(@Inject(OPS_VIEWS) private readonly views: OpsViews) {}

  /** The scopes the access rules in force declare, the roles that read each, and each one's subscribers by value. */
  @Get('scopes')
  async scopes(@Query() query: Record<string, unknown>): Promise<ScopesView> {
    const { workspace } = parseQuery(validate, query, []);
    const { rules, subscriptions } = await readScopeFacts(this.views.ds, workspace);
    const declared = rules?.scopes ?? {};
    const roles = Object.entries((rules as { roles?: Record<string, { read?: unknown }> } | null)?.roles ?? {});
    const view = (s: { value: string; devices: string[] }): ScopeSubscriptionView => ({ ...(s.value === '' ? {} : { value: s.value }), subscribers: s.devices.length, devices: s.devices.slice(0, LISTED_DEVICES) });
    const scopes = Object.keys(declared)
      .sort()
      .map((name): ScopeView => {
        const scope = declared[name]!;
        const held = subscriptions.filter((s) => s.scope === name);
        return {
          scope: name,
          types: scope.types,
          partitioned: scope.partition !== undefined,
          ...(scope.partition ? { values: scope.partition.values } : {}),
          readBy: roles.filter(([, r]) => Array.isArray(r.read) && (r.read as string[]).includes(name)).map(([role]) => role).sort(),
          subscribers: new Set(held.flatMap((s) => s.devices)).size,
          subscriptions: held.map(view),
        };
      });
    const undeclared = subscriptions.filter((s) => !Object.prototype.hasOwnProperty.call(declared, s.scope)).map((s) => ({ scope: s.scope, ...view(s) }));
    return { workspace, rulesVersion: rules?.version ?? null, scopes, undeclared };
  }
}
