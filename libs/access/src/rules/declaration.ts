/**
 * A workspace's access rules: the roles its devices may hold and what each role may do. Pure data, published
 * through the gateway's admin API, validated with `validateAccessRules` and versioned: each publish of a
 * workspace's rules is the next version, and versions are never changed once published.
 *
 * A workspace without rules keeps the open default: every device may write and resolve everything.
 */
export interface AccessRules {
  /** 1, 2, 3 … per workspace: each publish is the version after the current one. */
  version: number;
  /** Roles by name (`ROLE_NAME_PATTERN`). */
  roles: Readonly<Record<string, RoleRules>>;
  /**
   * The role of a device that holds none (enrolled without one, or before the workspace had rules). Absent: such
   * a device may write nothing and resolve nothing.
   */
  defaultRole?: string;
  /**
   * Read scopes by name (`ROLE_NAME_PATTERN`): the parts of the workspace a device may subscribe to. A device's
   * pull, long-poll, live stream and snapshot carry only the records of the scopes it subscribed to.
   */
  scopes?: Readonly<Record<string, ScopeDeclaration>>;
  description?: string;
}

/**
 * A read scope: records of some entity types, either all of them or those of one partition at a time.
 * - without `partition`: every record of `types`; a subscription names only the scope;
 * - with `partition`: the records of `types` whose partition field (the type's `partitionBy` in its schema) holds
 *   the value a subscription names. `values` says which values a device may subscribe to: any (`'*'`), or those its
 *   claims list under a name (`{ claim: 'projects' }`: the device's `claims.projects`, a string or a list).
 * A type that declares no partition field has no records in a partitioned scope.
 */
export interface ScopeDeclaration {
  types: readonly string[];
  partition?: { values: '*' | { claim: string } };
  description?: string;
}

/** What devices of one role may do. */
export interface RoleRules {
  /** `'*'`: every entity type, every field, every operation. Otherwise per entity type, a type not named is not writable. */
  write: '*' | Readonly<Record<string, TypeWrite>>;
  /** May resolve conflicts: `true` of every entity type, a list of entity types, or `false` (the default). */
  resolve?: boolean | readonly string[];
  /**
   * What the role may read: `'*'` (the default) the whole workspace — a device that subscribes to scopes narrows
   * what it receives to them; a list of scope names: only what the device subscribed to among those.
   */
  read?: '*' | readonly string[];
  description?: string;
}

/**
 * What a role may write of one entity type:
 * - `'*'`: every field, deletes and (for a job type) state transitions;
 * - a list of fields: upserts of those fields only (no delete, no transition);
 * - an object for anything in between: `fields` (`'*'` or a list; default none), `delete`, `transition`.
 */
export type TypeWrite = '*' | readonly string[] | TypeWriteDetail;

export interface TypeWriteDetail {
  fields?: '*' | readonly string[];
  /** May delete (tombstone) entities of the type. */
  delete?: boolean;
  /** May report job state transitions (`transition` events) of the type. */
  transition?: boolean;
}

/** Role names: lower-case letters, digits, `_` and `-`, starting with a letter (1–64). */
export const ROLE_NAME_PATTERN = '^[a-z][a-z0-9_-]{0,63}$';
/** The highest version a workspace's rules may have. */
export const MAX_RULES_VERSION = 1_000_000;

/** What a role may write of one entity type, every shorthand spelled out. */
export interface TypeGrant {
  fields: '*' | readonly string[];
  delete: boolean;
  transition: boolean;
}

const NOTHING: TypeGrant = Object.freeze({ fields: Object.freeze([]) as readonly string[], delete: false, transition: false });
const EVERYTHING: TypeGrant = Object.freeze({ fields: '*', delete: true, transition: true });

function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/** What `role` may write of `entityType`: nothing when the type is not named. */
export function typeGrant(role: RoleRules, entityType: string): TypeGrant {
  if (role.write === '*') return EVERYTHING;
  const declared = own(role.write, entityType);
  if (declared === undefined) return NOTHING;
  if (declared === '*') return EVERYTHING;
  if (Array.isArray(declared)) return { fields: declared, delete: false, transition: false };
  const detail = declared as TypeWriteDetail;
  return { fields: detail.fields ?? [], delete: detail.delete === true, transition: detail.transition === true };
}

/** Whether a role may resolve conflicts on entities of `entityType`. */
export function roleResolves(role: RoleRules, entityType: string): boolean {
  const resolve = role.resolve ?? false;
  return typeof resolve === 'boolean' ? resolve : resolve.includes(entityType);
}

/** Whether a role may resolve conflicts of some entity type at all. */
export function roleResolvesAny(role: RoleRules): boolean {
  const resolve = role.resolve ?? false;
  return typeof resolve === 'boolean' ? resolve : resolve.length > 0;
}

/** The role a device acts in under `rules`: its own, else the rules' default role, else none. */
export function effectiveRole(rules: AccessRules, deviceRole: string | null): string | null {
  return deviceRole ?? rules.defaultRole ?? null;
}

/** A scope by name (undefined: not declared). */
export function scopeDeclaration(rules: AccessRules, scope: string): ScopeDeclaration | undefined {
  return rules.scopes ? own(rules.scopes, scope) : undefined;
}

/** The rules of a role by name (undefined: not declared). */
export function roleRules(rules: AccessRules, role: string): RoleRules | undefined {
  return own(rules.roles, role);
}
