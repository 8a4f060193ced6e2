export {
  ROLE_NAME_PATTERN,
  MAX_RULES_VERSION,
  typeGrant,
  roleResolves,
  roleResolvesAny,
  effectiveRole,
  roleRules,
  type AccessRules,
  type RoleRules,
  type TypeWrite,
  type TypeWriteDetail,
  type TypeGrant,
} from './rules/declaration';
export { validateAccessRules, isAccessRules, pointerToken, MAX_ROLES } from './rules/validate';
export { accessOf, accessOfRole, checkResolve, describeRole, UNRESTRICTED, type Access, type ResolveVerdict } from './evaluate/access';
export { checkWrite, checkBatchWrite, WRITE_DENIAL_CODES, type WriteDenial, type WriteDenialCode, type WriteVerdict } from './evaluate/check-write';
