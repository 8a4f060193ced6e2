import type { AccessRules } from '@tidemark/access';
import type { SqlExecutor } from './audit-repository';

/** One published version of a workspace's access rules, as the admin API shows it. */
export interface PublishedAccessRules {
  workspace: string;
  version: number;
  rules: AccessRules;
  publishedAt: string;
  publishedBy: string;
}

interface RulesRow {
  workspace: string;
  version: number;
  rules: AccessRules;
  published_at: Date;
  published_by: string;
}

const COLUMNS = 'workspace, version, rules, published_at, published_by';
const toRecord = (row: RulesRow): PublishedAccessRules => ({
  workspace: row.workspace,
  version: row.version,
  rules: row.rules,
  publishedAt: row.published_at.toISOString(),
  publishedBy: row.published_by,
});

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

/**
 * Each workspace's access rules (`access_rules`: every published version kept, the highest in force) and, joined
 * with a device's row, what that device may do. Built on a transaction's executor, it runs in that transaction.
 */
export class AccessRulesRepository {
  constructor(private readonly sql: SqlExecutor) {}

  /** The rules in force in a workspace (undefined: none published). */
  async current(workspace: string): Promise<PublishedAccessRules | undefined> {
    const rows: RulesRow[] = await this.sql.query(`SELECT ${COLUMNS} FROM access_rules WHERE workspace = $1 ORDER BY version DESC LIMIT 1`, [workspace]);
    return rows[0] && toRecord(rows[0]);
  }

  /** Every published version of a workspace's rules, oldest first. */
  async versions(workspace: string): Promise<PublishedAccessRules[]> {
    const rows: RulesRow[] = await this.sql.query(`SELECT ${COLUMNS} FROM access_rules WHERE workspace = $1 ORDER BY version`, [workspace]);
    return rows.map(toRecord);
  }

  async version(workspace: string, version: number): Promise<PublishedAccessRules | undefined> {
    const [row]: RulesRow[] = await this.sql.query(`SELECT ${COLUMNS} FROM access_rules WHERE workspace = $1 AND version = $2`, [workspace, version]);
    return row && toRecord(row);
  }

  async insert(workspace: string, rules: AccessRules, publishedBy: string): Promise<PublishedAccessRules> {
    const [row]: RulesRow[] = await this.sql.query(`INSERT INTO access_rules (workspace, version, rules, published_by) VALUES ($1, $2, $3::jsonb, $4) RETURNING ${COLUMNS}`, [
      workspace,
      rules.version,
      JSON.stringify(rules),
      publishedBy,
    ]);
    return toRecord(row!);
  }

  /**
   * Locks the workspace's row to the end of the transaction (false: no such workspace). NO KEY UPDATE: publishes
   * of a workspace wait for each other, device registrations (a foreign key's KEY SHARE) do not.
   */
  async lockWorkspace(workspace: string): Promise<boolean> {
    const locked: unknown[] = await this.sql.query('SELECT 1 FROM workspaces WHERE workspace = $1 FOR NO KEY UPDATE', [workspace]);
    return locked.length > 0;
  }

  /** What a device may do now, as `ACCESS_COLUMNS`, in one statement. */
  async accessColumns(workspace: string, deviceId: string): Promise<AccessColumns> {
    const rows: AccessColumns[] = await this.sql.query(`SELECT ${ACCESS_COLUMNS} FROM (SELECT 1) AS one LEFT JOIN devices d ON d.workspace = $1 AND d.device_id = $2 ${ACCESS_JOIN}`, [
      workspace,
      deviceId,
    ]);
    return rows[0]!;
  }

  /** A device's status and generation (null: no such device) with `ACCESS_COLUMNS`, in one statement. */
  async authorityColumns(workspace: string, deviceId: string): Promise<AccessColumns & { status: string | null; generation: number | null }> {
    const rows: (AccessColumns & { status: string | null; generation: number | null })[] = await this.sql.query(
      `SELECT d.status, d.generation, ${ACCESS_COLUMNS} FROM (SELECT 1) AS one LEFT JOIN devices d ON d.workspace = $1 AND d.device_id = $2 ${ACCESS_JOIN}`,
      [workspace, deviceId],
    );
    return rows[0]!;
  }
}
