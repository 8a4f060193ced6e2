import { Body, Controller, Get, HttpCode, Inject, Param, Post, Put, Query } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { ROLE_NAME_PATTERN, roleRules } from '@tidemark/access';
import { FIELD_NAME_PATTERN, IdToken, compileValidator, type Validated } from '@tidemark/contracts';
import {
  AccessRulesStore,
  AuditRepository,
  CurrentPrincipal,
  IdentityStore,
  OPERATOR_ROLES,
  PublicRoute,
  RequireAuth,
  TokenService,
  recordAudit,
  type DeviceCredentials,
  type DeviceRecord,
  type OperatorPrincipal,
  type Principal,
} from '@tidemark/auth';
import { ProblemError } from '@tidemark/platform';
import { answer } from './identity-problems';

export const IDENTITY_DEPS = Symbol('IDENTITY_DEPS');
export interface IdentityDeps {
  store: IdentityStore;
  accessRules: AccessRulesStore;
  tokens: TokenService;
  /** The audit log, for what is audited outside a store's transaction (minting an operator token). */
  audit: AuditRepository;
  now: () => Date;
  operatorTokenMaxTtlSeconds: number;
  /**
   * Tells every gateway that a device's standing or role, or a workspace's access rules, changed (`StandingNotices`):
   * called once the change is committed, before the call answers, so the device's next request is checked against it
   * on any gateway.
   */
  announce: (change: { workspace: string; deviceId?: string }) => Promise<void>;
}

const Workspace = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'letters, digits, _ or - (1–64)' });
const Reason = Type.String({ minLength: 1, maxLength: 1000, description: 'why, for the audit log' });
export const RoleName = Type.String({ pattern: ROLE_NAME_PATTERN, description: "a role of the workspace's access rules: lower-case letters, digits, _ or - (1–64)" });
/** A device's claims: the values its read scopes' parameters may take (`{ "projects": ["p1", "p2"] }`). */
export const Claims = Type.Record(Type.String({ pattern: FIELD_NAME_PATTERN }), Type.Union([ClaimValue(), Type.Array(ClaimValue(), { maxItems: 1000 })]), {
  maxProperties: 32,
  description: 'what the device’s read scopes may take as values: claim name → a value or a list (at most 32 claims, 1000 values each)',
});
function ClaimValue() {
  return Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Integer()]);
}
const CreateWorkspace = Type.Object({ workspace: Workspace, name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), reason: Type.Optional(Reason) }, { additionalProperties: false });
const RegisterDevice = Type.Object(
  {
    deviceId: IdToken,
    site: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_:-]{1,64}$' })),
    label: Type.Optional(Type.String({ maxLength: 200 })),
    role: Type.Optional(RoleName),
    claims: Type.Optional(Claims),
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);
const SetClaims = Type.Object({ claims: Claims, reason: Reason }, { additionalProperties: false });
const WithReason = Type.Object({ reason: Reason }, { additionalProperties: false });
const SetRole = Type.Object({ role: Type.Union([RoleName, Type.Null()], { description: 'the role, or null for none' }), reason: Reason }, { additionalProperties: false });
const Refresh = Type.Object({ refreshToken: Type.String({ minLength: 10, maxLength: 200 }) }, { additionalProperties: false });
const MintOperator = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9_.@-]{1,128}$' }),
    roles: Type.Array(Type.Union(OPERATOR_ROLES.map((r) => Type.Literal(r))), { minItems: 1, maxItems: 2, uniqueItems: true }),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 60 })),
    reason: Reason,
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object({ limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' })), after: Type.Optional(IdToken) }, { additionalProperties: false });

export const validators = {
  workspace: compileValidator(CreateWorkspace),
  device: compileValidator(RegisterDevice),
  reason: compileValidator(WithReason),
  role: compileValidator(SetRole),
  claims: compileValidator(SetClaims),
  refresh: compileValidator(Refresh),
  operator: compileValidator(MintOperator),
  list: compileValidator(ListQuery),
  workspaceId: compileValidator(Workspace),
  deviceId: compileValidator(IdToken),
};

function valid<T>(result: Validated<T>, where = ''): T {
  if (!result.ok) throw ProblemError.validation(result.errors.map((e) => ({ ...e, pointer: `${where}${e.pointer}` })));
  return result.value;
}

/**
 * Identity and tenancy. Operators with the admin role create workspaces, register devices (each gets a
 * short-lived access token and a rotating refresh token), revoke and re-enrol them, and mint operator
 * tokens; every such call is audited. Devices exchange refresh tokens for new pairs.
 */
@Controller('v1')
export class IdentityController {
  constructor(@Inject(IDENTITY_DEPS) private readonly deps: IdentityDeps) {}

  @Post('admin/workspaces')
  @HttpCode(200)
  @RequireAuth('operator', 'admin')
  async createWorkspace(@Body() body: unknown, @CurrentPrincipal() actor: OperatorPrincipal): Promise<{ workspace: string; created: boolean }> {
    const input = valid(validators.workspace(body));
    const { created } = await this.deps.store.ensureWorkspace(input.workspace, input.name ?? input.workspace, (q, result) =>
      recordAudit(q, { actor, action: 'workspace.create', target: { workspace: input.workspace }, reason: input.reason ?? null, outcome: result.created ? 'ok' : 'exists' }),
    );
    return { workspace: input.workspace, created };
  }

  @Get('admin/workspaces')
  @RequireAuth('operator', 'admin')
  async workspaces(): Promise<unknown> {
    return { workspaces: await this.deps.store.listWorkspaces() };
  }

  @Post('admin/workspaces/:workspace/devices')
  @HttpCode(201)
  @RequireAuth('operator', 'admin')
  async register(@Param('workspace') workspaceText: string, @Body() body: unknown, @CurrentPrincipal() actor: OperatorPrincipal): Promise<DeviceCredentials> {
    const workspace = valid(validators.workspaceId(workspaceText), 'path:workspace');
    const input = valid(validators.device(body));
    const role = input.role ?? null;
    await this.checkRoleDeclared(workspace, role);
    const credentials = answer(
      await this.deps.store.registerDevice({ workspace, deviceId: input.deviceId, site: input.site ?? null, label: input.label ?? null, role, claims: input.claims ?? {} }, this.deps.now(), (q) =>
        recordAudit(q, { actor, action: 'device.register', target: { workspace, deviceId: input.deviceId }, reason: input.reason ?? null, detail: { site: input.site ?? null, role } }),
      ),
    );
    // A gateway may have cached "no such device" for a token of this id presented before the enrolment (only a
    // token signed for a device never enrolled can be), so the notice is sent, but an unconfirmed one does not fail
    // the enrolment: a retry would only meet 409, and such an entry ages out (STANDING_CACHE_MAX_AGE_MS).
    await this.deps.announce({ workspace, deviceId: input.deviceId }).catch(() => undefined);
    return credentials;
  }

  /**
   * Gives a device a role (or none, with `null`): it takes effect on the device's next request, its tokens keep
   * working. Audited with the role it had before.
   */
  @Put('admin/workspaces/:workspace/devices/:deviceId/role')
  @HttpCode(200)
  @RequireAuth('operator', 'admin')
  async setRole(@Param('workspace') workspaceText: string, @Param('deviceId') deviceText: string, @Body() body: unknown, @CurrentPrincipal() actor: OperatorPrincipal): Promise<DeviceRecord> {
    const workspace = valid(validators.workspaceId(workspaceText), 'path:workspace');
    const deviceId = valid(validators.deviceId(deviceText), 'path:deviceId');
    const { role, reason } = valid(validators.role(body));
    await this.checkRoleDeclared(workspace, role);
    const record = answer(
      await this.deps.store.setRole(workspace, deviceId, role, (q, { previous }) =>
        recordAudit(q, { actor, action: 'device.role', target: { workspace, deviceId }, reason, detail: { role, previous } }),
      ),
    );
    await this.deps.announce({ workspace, deviceId });
    return record;
  }

  /**
   * Replaces a device's claims (what its read scopes' parameters may be): it takes effect on the device's next
   * request. Audited with the claims it had before.
   */
  @Put('admin/workspaces/:workspace/devices/:deviceId/claims')
  @HttpCode(200)
  @RequireAuth('operator', 'admin')
  async setClaims(@Param('workspace') workspaceText: string, @Param('deviceId') deviceText: string, @Body() body: unknown, @CurrentPrincipal() actor: OperatorPrincipal): Promise<DeviceRecord> {
    const workspace = valid(validators.workspaceId(workspaceText), 'path:workspace');
    const deviceId = valid(validators.deviceId(deviceText), 'path:deviceId');
    const { claims, reason } = valid(validators.claims(body));
    const record = answer(
      await this.deps.store.setClaims(workspace, deviceId, claims, (q, { previous }) =>
        recordAudit(q, { actor, action: 'device.claims', target: { workspace, deviceId }, reason, detail: { claims, previous } }),
      ),
    );
    // Claims decide which subscriptions the device may hold: every gateway forgets what it cached of what it reads.
    await this.deps.announce({ workspace, deviceId });
    return record;
  }

  /**
   * A role given to a device must be declared by the workspace's access rules when it has some (a typo would leave
   * the device unable to write); without rules any role may be given ahead of them.
   */
  private async checkRoleDeclared(workspace: string, role: string | null): Promise<void> {
    if (role === null) return;
    const current = await this.deps.accessRules.current(workspace);
    if (current && !roleRules(current.rules, role)) {
      const declared = Object.keys(current.rules.roles)
        .sort()
        .map((r) => `"${r}"`)
        .join(', ');
      throw ProblemError.validation([{ pointer: '/role', detail: `"${role}" is not a role of the workspace's access rules (v${current.version}): one of ${declared}` }], 'nothing was changed');
    }
  }

  @Get('admin/workspaces/:workspace/devices')
  @RequireAuth('operator', 'admin')
  async devices(@Param('workspace') workspaceText: string, @Query() query: unknown): Promise<{ devices: DeviceRecord[]; next: string | null }> {
    const workspace = valid(validators.workspaceId(workspaceText), 'path:workspace');
    const q = valid(validators.list(query), 'query:');
    const limit = Math.min(Number(q.limit ?? 100), 1000);
    const devices = await this.deps.store.listDevices(workspace, limit, q.after ?? null);
    return { devices, next: devices.length === limit ? devices[devices.length - 1]!.deviceId : null };
  }

  @Post('admin/workspaces/:workspace/devices/:deviceId/revoke')
  @HttpCode(200)
  @RequireAuth('operator', 'admin')
  async revoke(@Param('workspace') workspaceText: string, @Param('deviceId') deviceText: string, @Body() body: unknown, @CurrentPrincipal() actor: OperatorPrincipal): Promise<DeviceRecord> {
    const workspace = valid(validators.workspaceId(workspaceText), 'path:workspace');
    const deviceId = valid(validators.deviceId(deviceText), 'path:deviceId');
    const { reason } = valid(validators.reason(body));
    const record = answer(await this.deps.store.revoke(workspace, deviceId, this.deps.now(), (q) => recordAudit(q, { actor, action: 'device.revoke', target: { workspace, deviceId }, reason })));
    await this.deps.announce({ workspace, deviceId });
    return record;
  }

  @Post('admin/workspaces/:workspace/devices/:deviceId/reenrol')
  @HttpCode(200)
  @RequireAuth('operator', 'admin')
  async reenrol(@Param('workspace') workspaceText: string, @Param('deviceId') deviceText: string, @Body() body: unknown, @CurrentPrincipal() actor: OperatorPrincipal): Promise<DeviceCredentials> {
    const workspace = valid(validators.workspaceId(workspaceText), 'path:workspace');
    const deviceId = valid(validators.deviceId(deviceText), 'path:deviceId');
    const { reason } = valid(validators.reason(body));
    const credentials = answer(
      await this.deps.store.reenrol(workspace, deviceId, this.deps.now(), (q) => recordAudit(q, { actor, action: 'device.reenrol', target: { workspace, deviceId }, reason })),
    );
    await this.deps.announce({ workspace, deviceId });
    return credentials;
  }

  @Post('admin/operator-tokens')
  @HttpCode(201)
  @RequireAuth('operator', 'admin')
  async mintOperator(@Body() body: unknown, @CurrentPrincipal() actor: OperatorPrincipal): Promise<{ token: string; tokenId: string; expiresAt: string }> {
    const input = valid(validators.operator(body));
    const ttl = Math.min(input.ttlSeconds ?? this.deps.operatorTokenMaxTtlSeconds, this.deps.operatorTokenMaxTtlSeconds);
    const minted = await this.deps.tokens.issueOperator({ name: input.name, roles: input.roles }, this.deps.now(), ttl);
    await this.deps.audit.record({
      actor,
      action: 'operator-token.mint',
      target: { name: input.name, tokenId: minted.tokenId },
      reason: input.reason,
      detail: { roles: input.roles, ttlSeconds: ttl },
    });
    return { token: minted.token, tokenId: minted.tokenId, expiresAt: minted.expiresAt.toISOString() };
  }

  @Post('admin/operator-tokens/:tokenId/revoke')
  @HttpCode(200)
  @RequireAuth('operator', 'admin')
  async revokeOperator(@Param('tokenId') tokenId: string, @Body() body: unknown, @CurrentPrincipal() actor: OperatorPrincipal): Promise<{ tokenId: string; revoked: true }> {
    const id = valid(validators.deviceId(tokenId), 'path:tokenId');
    const { reason } = valid(validators.reason(body));
    await this.deps.store.revokeOperatorToken(id, actor.name, reason, (q) => recordAudit(q, { actor, action: 'operator-token.revoke', target: { tokenId: id }, reason }));
    return { tokenId: id, revoked: true };
  }

  /** Rotation: a refresh token buys a new access token and a new refresh token; the old one is spent. */
  @Post('auth/refresh')
  @HttpCode(200)
  @PublicRoute()
  async refresh(@Body() body: unknown): Promise<DeviceCredentials> {
    const { refreshToken } = valid(validators.refresh(body));
    return answer(await this.deps.store.refresh(refreshToken, this.deps.now()));
  }

  /** Who the token says the caller is. */
  @Get('auth/whoami')
  @RequireAuth('any')
  whoami(@CurrentPrincipal() principal: Principal): Principal {
    return principal;
  }
}
