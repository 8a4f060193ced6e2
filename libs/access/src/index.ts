export {
  ROLE_NAME_PATTERN,
  MAX_RULES_VERSION,
  typeGrant,
  roleResolves,
  roleResolvesAny,
  effectiveRole,
  roleRules,
  scopeDeclaration,
  type ScopeDeclaration,
  type AccessRules,
  type RoleRules,
  type TypeWrite,
  type TypeWriteDetail,
  type TypeGrant,
} from './rules/declaration';
export { validateAccessRules, isAccessRules, pointerToken, MAX_ROLES, MAX_SCOPES, MAX_SCOPE_TYPES } from './rules/validate';
export { accessOf, accessOfRole, checkResolve, describeRole, UNRESTRICTED, type Access, type ResolveVerdict } from './evaluate/access';
export { checkWrite, checkBatchWrite, WRITE_DENIAL_CODES, type WriteDenial, type WriteDenialCode, type WriteVerdict } from './evaluate/check-write';
export {
  checkSubscription,
  scopeSelection,
  readFilter,
  filterAdmits,
  READ_ALL,
  type Subscription,
  type Claims,
  type ReadFilter,
  type SubscriptionVerdict,
  type SubscriptionDenialCode,
} from './evaluate/read';
