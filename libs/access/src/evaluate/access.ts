import { effectiveRole, roleResolves, roleResolvesAny, roleRules, type AccessRules, type RoleRules } from '../rules/declaration';

/**
 * What a device may do in its workspace, decided from the workspace's access rules and the device's role:
 * - `unrestricted`: the workspace has no rules; every device writes and resolves everything;
 * - `role`: the device acts in a declared role (its own, or the rules' default role);
 * - `undeclared`: the workspace has rules, and the device's role is not one of them (or it has no role and the
 *   rules declare no default): it may write nothing and resolve nothing.
 */
export type Access = { kind: 'unrestricted' } | { kind: 'role'; version: number; role: string; rules: RoleRules } | { kind: 'undeclared'; version: number; role: string | null };

export const UNRESTRICTED: Access = Object.freeze({ kind: 'unrestricted' });

/** The access of a device holding `deviceRole` (null: none) under a workspace's rules (undefined: none published). */
export function accessOf(rules: AccessRules | undefined, deviceRole: string | null): Access {
  if (!rules) return UNRESTRICTED;
  const role = effectiveRole(rules, deviceRole);
  return accessOfRole(rules.version, role, role === null ? undefined : roleRules(rules, role));
}

/**
 * The same access from its parts, as a store reads them in one statement: the version of the workspace's rules
 * (null: none published), the role the device acts in (`effectiveRole`) and that role's rules (undefined: the
 * role is not declared).
 */
export function accessOfRole(version: number | null, role: string | null, rules: RoleRules | undefined): Access {
  if (version === null) return UNRESTRICTED;
  if (role === null || rules === undefined) return { kind: 'undeclared', version, role };
  return { kind: 'role', version, role, rules };
}

/** How a denial names the role: `role "pipeline" (access rules v3)`. */
export function describeRole(access: Exclude<Access, { kind: 'unrestricted' }>): string {
  return `role "${access.role ?? '(none)'}" (access rules v${access.version})`;
}

export function describeUndeclared(access: Extract<Access, { kind: 'undeclared' }>, what: 'write' | 'resolve'): string {
  return access.role === null
    ? `the device has no role, and the workspace's access rules (v${access.version}) declare no default role; it may ${what} nothing`
    : `role "${access.role}" is not declared in the workspace's access rules (v${access.version}); a device in it may ${what} nothing`;
}

export type ResolveVerdict = { ok: true } | { ok: false; code: 'role-undeclared' | 'resolve-not-allowed'; detail: string };

/**
 * Whether a device with `access` may resolve conflicts on entities of `entityType`; without a type, whether it may
 * resolve conflicts of some type at all (a refusal that needs no look at the conflict).
 */
export function checkResolve(access: Access, entityType?: string): ResolveVerdict {
  switch (access.kind) {
    case 'unrestricted':
      return { ok: true };
    case 'undeclared':
      return { ok: false, code: 'role-undeclared', detail: describeUndeclared(access, 'resolve') };
    case 'role': {
      const allowed = entityType === undefined ? roleResolvesAny(access.rules) : roleResolves(access.rules, entityType);
      if (allowed) return { ok: true };
      return { ok: false, code: 'resolve-not-allowed', detail: `${describeRole(access)} may not resolve conflicts${entityType === undefined ? '' : ` of ${entityType}`}` };
    }
    default:
      return assertNever(access);
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected ${JSON.stringify(value)}`);
}
