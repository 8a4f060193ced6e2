import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { OperatorRole } from './tokens';

/** Who a request acts as, established by the guard from its bearer token. */
export interface DevicePrincipal {
  kind: 'device';
  workspace: string;
  deviceId: string;
  site: string | null;
  tokenId: string;
  /** The device generation the token was issued for (a revocation or re-enrolment moves it on). */
  generation: number;
  /** When the access token expires, in seconds since the epoch. */
  expiresAt: number;
}

export interface OperatorPrincipal {
  kind: 'operator';
  name: string;
  roles: OperatorRole[];
  tokenId: string;
}

export type Principal = DevicePrincipal | OperatorPrincipal;

export const AUTH_RULE = 'tidemark:auth-rule';

/**
 * A device rule with `standing: 'route'` leaves the standing check (is the device still active, of the token's
 * generation?) to the route, which confirms it in the same database round trip as its own reads
 * (`RequireDeviceToken`, `UnconfirmedDevice`, `confirmStanding`).
 */
export type AuthRule = { kind: 'device'; standing?: 'route' } | { kind: 'operator'; role: OperatorRole } | { kind: 'any'; role: OperatorRole };

/**
 * The token a route needs: `RequireAuth('device')`, `RequireAuth('operator')` (role ops),
 * `RequireAuth('operator', 'admin')`, or `RequireAuth('any')` (a device, or an operator with the role).
 */
export function RequireAuth(kind: 'device' | 'operator' | 'any', role: OperatorRole = 'ops'): MethodDecorator & ClassDecorator {
  const rule: AuthRule = kind === 'device' ? { kind } : { kind, role };
  return SetMetadata(AUTH_RULE, rule);
}

/**
 * A device token whose signature, expiry and claims were verified, on a route that confirms the device's
 * standing itself: the route reads the standing with its own query and calls `confirmStanding`, which
 * answers 401 exactly as the guard would. Used where a request already makes a round trip to Postgres (a push
 * reads its events' receipts), so the standing check costs none of its own.
 */
export function RequireDeviceToken(): MethodDecorator & ClassDecorator {
  const rule: AuthRule = { kind: 'device', standing: 'route' };
  return SetMetadata(AUTH_RULE, rule);
}

/** A verified device token whose device's standing is not confirmed yet: `confirmStanding` turns it into a principal. */
export interface UnconfirmedDevice {
  readonly unconfirmed: DevicePrincipal;
}

export const PRINCIPAL = Symbol('tidemark.principal');
export const UNCONFIRMED_DEVICE = Symbol('tidemark.unconfirmed-device');

/** The verified device token of a `RequireDeviceToken` route (set by the guard). */
export const CurrentUnconfirmedDevice = createParamDecorator((_: unknown, ctx: ExecutionContext): UnconfirmedDevice => {
  const request = ctx.switchToHttp().getRequest<{ [UNCONFIRMED_DEVICE]?: UnconfirmedDevice }>();
  const device = request[UNCONFIRMED_DEVICE];
  if (!device) throw new Error('no unconfirmed device on this request: the route declares no RequireDeviceToken rule');
  return device;
});

/** The request's principal (set by the guard). */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const request = ctx.switchToHttp().getRequest<{ [PRINCIPAL]?: Principal }>();
  const principal = request[PRINCIPAL];
  if (!principal) throw new Error('no principal on this request: the route declares no RequireAuth rule');
  return principal;
});

/** The principal the guard attached to a raw request (for handlers that take the request itself). */
export function principalOf(request: object): Principal | undefined {
  return (request as { [PRINCIPAL]?: Principal })[PRINCIPAL];
}

/** The workspace of the device a raw request acts for; the guard guarantees it on device routes. */
export function deviceWorkspaceOf(request: object): string {
  const principal = principalOf(request);
  if (principal?.kind !== 'device') throw new Error('no device principal on this request: the route declares no RequireAuth("device") rule');
  return principal.workspace;
}
