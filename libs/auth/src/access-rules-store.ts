import { accessOfRole, validateAccessRules, type Access, type AccessRules, type RoleRules } from '@tidemark/access';
import { canonicalJson, type InvalidParam } from '@tidemark/contracts';
import { recordAudit, type SqlExecutor } from './audit';
import type { IdentityDb } from './identity-store';
import { ACCESS_COLUMNS, ACCESS_JOIN, AccessRulesRepository, type AccessColumns, type PublishedAccessRules } from './repositories/access-rules-repository';
import type { DeviceAuthority } from './standing-cache';
import type { OperatorPrincipal } from './principal';

export { ACCESS_COLUMNS, ACCESS_JOIN, type AccessColumns, type PublishedAccessRules };

export type PublishRulesOutcome =
  | { kind: 'created' | 'identical'; record: PublishedAccessRules }
  | { kind: 'invalid'; errors: InvalidParam[] }
  /** The version is taken by other rules, or is not the next one: `next` is the version to publish. */
  | { kind: 'conflict'; detail: string; next: number }
  | { kind: 'no-workspace' };

/** The device's access from `ACCESS_COLUMNS` (the role's rules were validated when published). */
export function accessFromRow(row: AccessColumns): Access {
  return accessOfRole(row.rules_version === null ? null : Number(row.rules_version), row.acting_role, row.role_rules === null ? undefined : (JSON.parse(row.role_rules) as RoleRules));
}

/**
 * Each workspace's access rules in Postgres (`access_rules`): every published version is kept, the highest is in
 * force. The gateway caches what a device may do (`StandingCache`) and forgets it on the notice its admin API sends
 * after a publish, so a publish takes effect on the next request. Publishes of a workspace are
 * serialised by a lock on its row; each is the version after the one in force, audited in its own transaction.
 */
export class AccessRulesStore {
  private readonly repository: AccessRulesRepository;

  constructor(private readonly db: IdentityDb) {
    this.repository = new AccessRulesRepository(db);
  }

  /** The rules in force in a workspace (undefined: none published; every device writes everything). */
  current(workspace: string, q: SqlExecutor = this.db): Promise<PublishedAccessRules | undefined> {
    return (q === this.db ? this.repository : new AccessRulesRepository(q)).current(workspace);
  }

  /** Every published version of a workspace's rules, oldest first. */
  versions(workspace: string): Promise<PublishedAccessRules[]> {
    return this.repository.versions(workspace);
  }

  /** What a device may do now, in one statement (`ACCESS_COLUMNS`). */
  async access(workspace: string, deviceId: string): Promise<Access> {
    return accessFromRow(await this.repository.accessColumns(workspace, deviceId));
  }

  /**
   * A device's standing (undefined: no such device) and what it may do now, in one statement: what a gateway caches
   * per device (`StandingCache`).
   */
  async authority(workspace: string, deviceId: string): Promise<DeviceAuthority> {
    const row = await this.repository.authorityColumns(workspace, deviceId);
    const standing = row.status !== null && row.generation !== null ? { status: row.status, generation: Number(row.generation) } : undefined;
    return { standing, access: accessFromRow(row) };
  }

  /**
   * Publishes rules as the workspace's next version: `created`, or `identical` when exactly these rules are that
   * version already (a retried publish), `conflict` when the version is taken by other rules or is not the next.
   */
  async publish(workspace: string, input: unknown, actor: OperatorPrincipal, reason: string): Promise<PublishRulesOutcome> {
    const errors = validateAccessRules(input);
    if (errors.length > 0) return { kind: 'invalid', errors };
    const rules = input as AccessRules;
    return this.db.transaction(async (q): Promise<PublishRulesOutcome> => {
      const repository = new AccessRulesRepository(q);
      if (!(await repository.lockWorkspace(workspace))) return { kind: 'no-workspace' };
      const current = await repository.current(workspace);
      const next = (current?.version ?? 0) + 1;
      if (rules.version < next) {
        const taken = await repository.version(workspace, rules.version);
        if (taken && canonicalJson(taken.rules) === canonicalJson(rules)) return { kind: 'identical', record: taken };
        return { kind: 'conflict', detail: `version ${rules.version} of the access rules of "${workspace}" is published with other rules; publish these as version ${next}`, next };
      }
      if (rules.version > next) return { kind: 'conflict', detail: `the access rules of "${workspace}" are at version ${next - 1}; the next version is ${next}, not ${rules.version}`, next };
      const record = await repository.insert(workspace, rules, actor.name);
      await recordAudit(q, { actor, action: 'access-rules.publish', target: { workspace, version: rules.version }, reason, detail: { previous: current?.version ?? null, rules } });
      return { kind: 'created', record };
    });
  }
}
