export { TokenService, TokenError, parseSigningKeys, generateSigningKey, newRefreshToken, hashRefreshToken, OPERATOR_ROLES, type OperatorRole, type DeviceClaims, type OperatorClaims, type VerifiedToken, type TokenFailure } from './tokens';
export { RequireAuth, CurrentPrincipal, principalOf, deviceWorkspaceOf, PRINCIPAL, AUTH_RULE, type AuthRule, type Principal, type DevicePrincipal, type OperatorPrincipal } from './principal';
export { AuthGuard, authGuardProvider, authFromConfig, deviceInStanding, sqlStanding, type AuthDeps, type StandingPort } from './guard';
export { IdentityStore, type DeviceCredentials, type DeviceRecord, type IdentityOptions, type IdentityDb, type AuditInTransaction } from './identity-store';
export { recordAudit, type AuditEntry, type SqlExecutor } from './audit';
export { PublicRoute } from '@tidemark/platform';
