export {
  TokenService,
  TokenError,
  verifyRequestToken,
  CLOCK_TOLERANCE_SECONDS,
  parseSigningKeys,
  generateSigningKey,
  newRefreshToken,
  hashRefreshToken,
  OPERATOR_ROLES,
  type OperatorRole,
  type DeviceClaims,
  type OperatorClaims,
  type VerifiedToken,
  type TokenFailure,
} from './tokens';
export {
  RequireAuth,
  RequireDeviceToken,
  CurrentPrincipal,
  CurrentUnconfirmedDevice,
  principalOf,
  deviceWorkspaceOf,
  PRINCIPAL,
  AUTH_RULE,
  type AuthRule,
  type UnconfirmedDevice,
  type Principal,
  type DevicePrincipal,
  type OperatorPrincipal,
} from './principal';
export { AuthGuard, authGuardProvider, authFromConfig, deviceInStanding, standingHolds, confirmStanding, sqlStanding, type AuthDeps, type StandingPort, type DeviceStanding } from './guard';
export {
  IdentityStore,
  type DeviceCredentials,
  type DeviceRecord,
  type IdentityOptions,
  type IdentityDb,
  type AuditInTransaction,
  type IdentityResult,
  type IdentityFailure,
  type IdentityFailureCode,
} from './identity-store';
export { recordAudit, type AuditEntry, type SqlExecutor } from './audit';
export { PublicRoute } from '@tidemark/platform';
export { AccessRulesStore, ACCESS_COLUMNS, ACCESS_JOIN, accessFromRow, type AccessColumns, type PublishedAccessRules, type PublishRulesOutcome } from './access-rules-store';
export { StandingCache, type DeviceAuthority, type StandingCacheOptions } from './standing-cache';
export { DevicesRepository, type RefreshTokenRow } from './repositories/devices-repository';
export { AccessRulesRepository } from './repositories/access-rules-repository';
export { AuditRepository } from './repositories/audit-repository';
