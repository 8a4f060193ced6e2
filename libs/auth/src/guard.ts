import { Injectable, type CanActivate, type ExecutionContext, type ValueProvider } from '@nestjs/common';
import { APP_GUARD, Reflector } from '@nestjs/core';
import { ProblemType, problem } from '@tidemark/contracts';
import { PUBLIC_ROUTE, ProblemError } from '@tidemark/platform';
import { counter } from '@tidemark/telemetry';
import { AUTH_RULE, PRINCIPAL, UNCONFIRMED_DEVICE, type AuthRule, type DevicePrincipal, type Principal, type UnconfirmedDevice } from './principal';
import { TokenError, TokenService, verifyRequestToken, type VerifiedToken } from './tokens';
import type { SqlExecutor } from './audit';
import { DevicesRepository, type DeviceStanding } from './repositories/devices-repository';

export type { DeviceStanding };

const failures = counter('tidemark_auth_failures_total', 'requests refused by authentication or authorization', ['reason']);

/** What the guard checks a token's standing against (Postgres in production). */
export interface StandingPort {
  deviceStanding(workspace: string, deviceId: string): Promise<DeviceStanding | undefined>;
  operatorTokenRevoked(tokenId: string): Promise<boolean>;
}

export interface AuthDeps {
  tokens: TokenService;
  standing: StandingPort;
  now: () => Date;
}

function unauthorized(detail: string, code: string): ProblemError {
  failures.inc({ reason: code });
  return new ProblemError(problem(ProblemType.unauthorized, 401, 'Unauthorized', { detail, code }), {
    'www-authenticate': code === 'token-missing' ? 'Bearer realm="tidemark"' : `Bearer realm="tidemark", error="invalid_token", error_description="${detail.replace(/"/g, "'")}"`,
  });
}

function forbidden(detail: string, code: string): ProblemError {
  failures.inc({ reason: code });
  return new ProblemError(problem(ProblemType.forbidden, 403, 'Forbidden', { detail, code }));
}

/**
 * Every route needs a bearer token unless it is marked `PublicRoute`; the route's `RequireAuth` rule says
 * which kind. A device token must belong to an active device of the same generation (checked on every
 * request, so a revocation takes effect at once); an operator token must carry the role and not be revoked.
 * The principal, with the workspace taken from the token alone, is attached to the request.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly reflector = new Reflector();

  constructor(private readonly deps: AuthDeps) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const rule = this.reflector.getAllAndOverride<AuthRule | undefined>(AUTH_RULE, targets);
    if (!rule) throw forbidden('this route declares no access rule, so nobody may call it', 'no-rule');
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined>; [PRINCIPAL]?: Principal; [UNCONFIRMED_DEVICE]?: UnconfirmedDevice }>();
    if (rule.kind === 'device' && rule.standing === 'route') {
      // Only the token is checked here; the route confirms the standing (never attached as a principal before).
      request[UNCONFIRMED_DEVICE] = { unconfirmed: await this.verifyDevice(request.headers.authorization, request) };
      return true;
    }
    request[PRINCIPAL] = await this.authenticate(request.headers.authorization, rule, request);
    return true;
  }

  /** The device principal of a verified device token, its standing not checked (a `RequireDeviceToken` route). */
  private async verifyDevice(header: string | string[] | undefined, request: object): Promise<DevicePrincipal> {
    const verified = await this.verify(header, request);
    if (verified.kind !== 'device') throw forbidden('this route needs a device token; an operator token was sent', 'wrong-token-kind');
    return {
      kind: 'device',
      workspace: verified.workspace,
      deviceId: verified.deviceId,
      site: verified.site,
      tokenId: verified.tokenId,
      generation: verified.generation,
      expiresAt: verified.expiresAt,
    };
  }

  private async verify(header: string | string[] | undefined, request: object | undefined): Promise<VerifiedToken> {
    const value = Array.isArray(header) ? header[0] : header;
    if (!value) throw unauthorized('send an Authorization: Bearer <token> header', 'token-missing');
    const match = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)$/i.exec(value.trim());
    if (!match) throw unauthorized('the Authorization header must be "Bearer <token>"', 'token-malformed');
    try {
      // The push admission hook may have verified this very token already (verifyRequestToken remembers it).
      return request ? await verifyRequestToken(this.deps.tokens, request, match[1]!, this.deps.now()) : await this.deps.tokens.verify(match[1]!, this.deps.now());
    } catch (error) {
      if (error instanceof TokenError) throw unauthorized(error.message, `token-${error.failure}`);
      throw error;
    }
  }

  async authenticate(header: string | string[] | undefined, rule: AuthRule, request?: object): Promise<Principal> {
    const verified = await this.verify(header, request);
    if (verified.kind === 'device') {
      if (rule.kind === 'operator') throw forbidden('this route needs an operator token; a device token was sent', 'wrong-token-kind');
      const principal: DevicePrincipal = {
        kind: 'device',
        workspace: verified.workspace,
        deviceId: verified.deviceId,
        site: verified.site,
        tokenId: verified.tokenId,
        generation: verified.generation,
        expiresAt: verified.expiresAt,
      };
      return confirmStanding({ unconfirmed: principal }, await this.deps.standing.deviceStanding(principal.workspace, principal.deviceId));
    }
    if (rule.kind === 'device') throw forbidden('this route needs a device token; an operator token was sent', 'wrong-token-kind');
    if (await this.deps.standing.operatorTokenRevoked(verified.tokenId)) throw unauthorized('this operator token has been revoked', 'token-revoked');
    if (!verified.roles.includes(rule.role) && !verified.roles.includes('admin'))
      throw forbidden(`this route needs the "${rule.role}" role; the token has ${verified.roles.join(', ') || 'none'}`, 'missing-role');
    return { kind: 'operator', name: verified.name, roles: verified.roles, tokenId: verified.tokenId };
  }
}

/** Whether a device of this standing may use a token of this generation: it exists, is active, and is of the generation. */
export function standingHolds(principal: DevicePrincipal, standing: DeviceStanding | undefined): boolean {
  return standing !== undefined && standing.status === 'active' && standing.generation === principal.generation;
}

/**
 * A verified device token becomes a principal once its device's standing (read by the route) holds; else 401
 * `token-revoked`, the guard's answer.
 */
export function confirmStanding(device: UnconfirmedDevice, standing: DeviceStanding | undefined): DevicePrincipal {
  if (!standingHolds(device.unconfirmed, standing)) throw unauthorized('the device has been revoked or re-enrolled; this token no longer works', 'token-revoked');
  return device.unconfirmed;
}

/**
 * Whether a device principal still holds: its device is active and of the token's generation. The guard
 * asks on every request; a long-lived answer (a live stream) asks again while it runs.
 */
export async function deviceInStanding(standing: StandingPort, principal: DevicePrincipal): Promise<boolean> {
  return standingHolds(principal, await standing.deviceStanding(principal.workspace, principal.deviceId));
}

/** The provider that installs the guard for every route of a service. */
export function authGuardProvider(deps: AuthDeps): ValueProvider {
  return { provide: APP_GUARD, useValue: new AuthGuard(deps) };
}

/** The standing checks, read from the identity tables (`DevicesRepository`). */
export function sqlStanding(db: SqlExecutor): StandingPort {
  const devices = new DevicesRepository(db);
  return {
    deviceStanding: (workspace, deviceId) => devices.standing(workspace, deviceId),
    operatorTokenRevoked: (tokenId) => devices.operatorTokenRevoked(tokenId),
  };
}

/** The guard provider for a service that verifies tokens against the identity tables in Postgres. */
export function authFromConfig(config: { AUTH_SIGNING_KEYS: string }, db: SqlExecutor, now: () => Date = () => new Date()): ValueProvider {
  return authGuardProvider({ tokens: new TokenService(config.AUTH_SIGNING_KEYS), standing: sqlStanding(db), now });
}
