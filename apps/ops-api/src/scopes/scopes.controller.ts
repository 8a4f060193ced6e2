import { Controller, Get, Inject, Query } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { scopeSelection, type ScopeDeclaration } from '@tidemark/access';
import { RequireAuth } from '@tidemark/auth';
import { compileValidator, type ScopeLagView, type ScopeSubscriptionView, type ScopeValueLag, type ScopeView, type ScopesView } from '@tidemark/contracts';
import { OPS_VIEWS, type OpsViews } from '../streams/views';
import { notFound, parseQuery } from '../streams/query';

const Workspace = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
export const ScopesQuery = Type.Object({ workspace: Workspace }, { additionalProperties: false });
export const ScopeLagQuery = Type.Object(
  {
    workspace: Workspace,
    scope: Type.String({ pattern: '^[a-z][a-z0-9_-]{0,63}$', description: 'a scope the access rules in force declare' }),
    value: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'one partition value of the scope only' })),
    after: Type.Optional(Type.String({ maxLength: 256, description: '`next` of the previous page (the last value listed)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'values per page' })),
    devicesLimit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50, description: 'subscribers listed per value (most behind first); the counts are always complete' })),
    cap: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 1000, description: "a subscriber's changes behind are counted up to this many" })),
  },
  { additionalProperties: false },
);
const validate = compileValidator(ScopesQuery);
const validateLag = compileValidator(ScopeLagQuery);
/** Device ids listed per subscription (the count is always complete). */
const LISTED_DEVICES = 50;

/** Read scopes of a workspace and who subscribes to them: what partial sync delivers to whom, and who is behind. */
@RequireAuth('operator')
@Controller('v1')
export class ScopesController {
  constructor(@Inject(OPS_VIEWS) private readonly views: OpsViews) {}

  /** The scopes the access rules in force declare, the roles that read each, and each one's subscribers by value. */
  @Get('scopes')
  async scopes(@Query() query: Record<string, unknown>): Promise<ScopesView> {
    const { workspace } = parseQuery(validate, query, []);
    const { rules, subscriptions } = await this.views.scopeFacts.facts(workspace);
    const declared = rules?.scopes ?? {};
    const roles = Object.entries(rules?.roles ?? {});
    const view = (s: { value: string; devices: string[] }): ScopeSubscriptionView => ({
      ...(s.value === '' ? {} : { value: s.value }),
      subscribers: s.devices.length,
      devices: s.devices.slice(0, LISTED_DEVICES),
    });
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
          readBy: roles
            .filter(([, r]) => Array.isArray(r.read) && (r.read as string[]).includes(name))
            .map(([role]) => role)
            .sort(),
          subscribers: new Set(held.flatMap((s) => s.devices)).size,
          subscriptions: held.map(view),
        };
      });
    const undeclared = subscriptions.filter((s) => !Object.prototype.hasOwnProperty.call(declared, s.scope)).map((s) => ({ scope: s.scope, ...view(s) }));
    return { workspace, rulesVersion: rules?.version ?? null, scopes, undeclared };
  }

  /**
   * Lag within one scope: per subscribed value (a page of them), the newest change in it and each subscriber's
   * changes behind — those after the cursor the gateway last delivered to the device (`device_read_positions`).
   */
  @Get('scopes/lag')
  async lag(@Query() query: Record<string, unknown>): Promise<ScopeLagView> {
    const q = parseQuery(validateLag, query, ['limit', 'devicesLimit', 'cap']);
    const { rules } = await this.views.scopeFacts.facts(q.workspace);
    const declared = rules?.scopes && Object.prototype.hasOwnProperty.call(rules.scopes, q.scope) ? (rules.scopes[q.scope] as ScopeDeclaration) : undefined;
    if (!declared) throw notFound(`the access rules in force in workspace "${q.workspace}" declare no scope "${q.scope}"`);
    const limit = q.limit ?? 20;
    const cap = q.cap ?? 1000;
    const devicesLimit = q.devicesLimit ?? 50;
    const held = await this.views.scopeFacts.readers(q.workspace, q.scope, { after: q.after, limit: limit + 1, value: q.value });
    const values: ScopeValueLag[] = [];
    for (const { value, readers } of held.slice(0, limit)) {
      const { head, behind } = await this.views.scopeFacts.backlog(q.workspace, scopeSelection(declared, value === '' ? undefined : value), readers, cap);
      const devices = readers
        .map((r) => ({ deviceId: r.deviceId, cursor: r.cursor, readAt: r.readAt?.toISOString() ?? null, behind: behind.get(r.deviceId) ?? 0 }))
        .sort((a, b) => b.behind - a.behind || a.deviceId.localeCompare(b.deviceId));
      values.push({
        ...(value === '' ? {} : { value }),
        head,
        subscribers: readers.length,
        behind: devices[0]?.behind ?? 0,
        devicesBehind: devices.filter((d) => d.behind > 0).length,
        devices: devices.slice(0, devicesLimit),
      });
    }
    const next = held.length > limit ? held[limit - 1]!.value : undefined;
    return { workspace: q.workspace, scope: q.scope, rulesVersion: rules?.version ?? null, at: this.views.now().toISOString(), cap, values, ...(next !== undefined ? { next } : {}) };
  }
}
