import { accessOfRole, validateAccessRules, type Access, type AccessRules, type RoleRules } from '@tidemark/access';
import { canonicalJson, type InvalidParam } from '@tidemark/contracts';
import { recordAudit, type SqlExecutor } from './audit';
import type { IdentityDb } from './identity-store';
import type { DeviceAuthority } from './standing-cache';
import type { OperatorPrincipal } from './principal';

/** One published version of a workspace's access rules, as the admin API shows it. */
export interface PublishedAccessRules {
  workspace: string;
  version: number;
  rules: AccessRules;
  publishedAt: string;
  publishedBy: string;
}

export type PublishRulesOutcome =
  | { kind: 'created' | 'identical'; record: PublishedAccessRules }
  | { kind: 'invalid'; errors: InvalidParam[] }
  /** The version is taken by other rules, or is not the next one: `next` is the version to publish. */
  | { kind: 'conflict'; detail: string; next: number }
  | { kind: 'no-workspace' };

interface RulesRow {
  workspace: string;
  version: number;
  rules: AccessRules;
  published_at: Date;
  published_by: string;
}

const COLUMNS = 'workspace, version, rules, published_at, published_by';
const toRecord = (row: RulesRow): PublishedAccessRules => ({ workspace: row.workspace, version: row.version, rules: row.rules, publishedAt: row.published_at.toISOString(), publishedBy: row.published_by });

/**
 * What a device may do, as columns of a statement that has joined the device's row as `d` (its workspace is `$1`):
 * the version of the workspace's rules in force (null: none), the role the device acts in (its own, else the
 * rules' `defaultRole`: `effectiveRole` in `@tidemark/access`) and that role's rules as JSON text (null: not
 * declared). A statement adds `ACCESS_JOIN` after the device's join; `accessFromRow` reads the columns.
 */
export const ACCESS_COLUMNS = `a.version AS rules_version, coalesce(d.role, a.rules ->> 'defaultRole') AS acting_role, (a.rules -> 'roles' -> coalesce(d.role, a.rules ->> 'defaultRole'))::text AS role_rules`;
/** The workspace's rules in force (its highest version), one index probe; `$1` is the workspace. */
export const ACCESS_JOIN = 'LEFT JOIN LATERAL (SELECT version, rules FROM access_rules WHERE workspace = $1 ORDER BY version DESC LIMIT 1) a ON true';

export interface AccessColumns {
  rules_version: number | null;
  acting_role: string | null;
  role_rules: string | null;
}

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
  constructor(private readonly db: IdentityDb) {}

  /** The rules in force in a workspace (undefined: none published; every device writes everything). */
  async current(workspace: string, q: SqlExecutor = this.db): Promise<PublishedAccessRules | undefined> {
    const rows: RulesRow[] = await q.query(`SELECT ${COLUMNS} FROM access_rules WHERE workspace = $1 ORDER BY version DESC LIMIT 1`, [workspace]);
    return rows[0] && toRecord(rows[0]);
  }

  /** Every published version of a workspace's rules, oldest first. */
  async versions(workspace: string): Promise<PublishedAccessRules[]> {
    const rows: RulesRow[] = await this.db.query(`SELECT ${COLUMNS} FROM access_rules WHERE workspace = $1 ORDER BY version`, [workspace]);
    return rows.map(toRecord);
  }

  /** What a device may do now, in one statement (`ACCESS_COLUMNS`). */
  async access(workspace: string, deviceId: string): Promise<Access> {
    const rows: AccessColumns[] = await this.db.query(`SELECT ${ACCESS_COLUMNS} FROM (SELECT 1) AS one LEFT JOIN devices d ON d.workspace = $1 AND d.device_id = $2 ${ACCESS_JOIN}`, [workspace, deviceId]);
    return accessFromRow(rows[0]!);
  }

  /**
   * A device's standing (undefined: no such device) and what it may do now, in one statement: what a gateway caches
   * per device (`StandingCache`).
   */
  async authority(workspace: string, deviceId: string): Promise<DeviceAuthority> {
    const rows: (AccessColumns & { status: string | null; generation: number | null })[] = await this.db.query(
      `SELECT d.status, d.generation, ${ACCESS_COLUMNS} FROM (SELECT 1) AS one LEFT JOIN devices d ON d.workspace = $1 AND d.device_id = $2 ${ACCESS_JOIN}`,
      [workspace, deviceId],
    );
    const row = rows[0]!;
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
      // NO KEY UPDATE: publishes of a workspace wait for each other, device registrations (a foreign key's KEY SHARE) do not.
      const locked: unknown[] = await q.query('SELECT 1 FROM workspaces WHERE workspace = $1 FOR NO KEY UPDATE', [workspace]);
      if (locked.length === 0) return { kind: 'no-workspace' };
      const current = await this.current(workspace, q);
      const next = (current?.version ?? 0) + 1;
      if (rules.version < next) {
        const [taken]: RulesRow[] = await q.query(`SELECT ${COLUMNS} FROM access_rules WHERE workspace = $1 AND version = $2`, [workspace, rules.version]);
        if (taken && canonicalJson(taken.rules) === canonicalJson(rules)) return { kind: 'identical', record: toRecord(taken) };
        return { kind: 'conflict', detail: `version ${rules.version} of the access rules of "${workspace}" is published with other rules; publish these as version ${next}`, next };
      }
      if (rules.version > next) return { kind: 'conflict', detail: `the access rules of "${workspace}" are at version ${next - 1}; the next version is ${next}, not ${rules.version}`, next };
      const [row]: RulesRow[] = await q.query(`INSERT INTO access_rules (workspace, version, rules, published_by) VALUES ($1, $2, $3::jsonb, $4) RETURNING ${COLUMNS}`, [workspace, rules.version, JSON.stringify(rules), actor.name]);
      await recordAudit(q, { actor, action: 'access-rules.publish', target: { workspace, version: rules.version }, reason, detail: { previous: current?.version ?? null, rules } });
      return { kind: 'created', record: toRecord(row!) };
    });
  }
}
