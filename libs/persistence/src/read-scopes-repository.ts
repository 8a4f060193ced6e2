import type { AccessRules, Claims, Subscription } from '@tidemark/access';
import type { Sql } from './sql';

/** What decides what a device reads: the workspace's rules in force, the device's role and claims, its subscriptions. */
export interface ReadStanding {
  rules: AccessRules | undefined;
  role: string | null;
  claims: Claims;
  subscriptions: Subscription[];
}

interface StandingRow {
  role: string | null;
  claims: Claims | null;
  rules: AccessRules | null;
  subscriptions: { scope: string; value: string }[];
}

/**
 * The read side of access: a device's subscriptions (`device_subscriptions`, one row per scope and value; a whole
 * scope's value is stored as '') and, in one statement, everything a read filter needs. Nothing is cached.
 */
export class ReadScopesRepository {
  constructor(private readonly sql: Sql) {}

  /** The device's role, claims and subscriptions and its workspace's rules in force, in one statement. */
  async standing(workspace: string, deviceId: string): Promise<ReadStanding> {
    const rows = (await this.sql.query(
      `SELECT d.role, d.claims, a.rules,
              coalesce((SELECT jsonb_agg(jsonb_build_object('scope', s.scope, 'value', s.value) ORDER BY s.scope, s.value)
                          FROM device_subscriptions s WHERE s.workspace = $1 AND s.device_id = $2), '[]'::jsonb) AS subscriptions
         FROM (SELECT 1) AS one
         LEFT JOIN devices d ON d.workspace = $1 AND d.device_id = $2
         LEFT JOIN LATERAL (SELECT rules FROM access_rules WHERE workspace = $1 ORDER BY version DESC LIMIT 1) a ON true`,
      [workspace, deviceId],
    )) as StandingRow[];
    const row = rows[0]!;
    return {
      rules: row.rules ?? undefined,
      role: row.role,
      claims: row.claims ?? {},
      subscriptions: row.subscriptions.map((s) => (s.value === '' ? { scope: s.scope } : { scope: s.scope, value: s.value })),
    };
  }

  /** Replaces the device's subscriptions with `subscriptions` (already checked), in one statement. */
  async replace(workspace: string, deviceId: string, subscriptions: readonly Subscription[]): Promise<void> {
    await this.sql.query(
      `WITH gone AS (DELETE FROM device_subscriptions WHERE workspace = $1 AND device_id = $2
                       AND (scope, value) NOT IN (SELECT * FROM unnest($3::text[], $4::text[])))
       INSERT INTO device_subscriptions (workspace, device_id, scope, value)
       SELECT $1, $2, s, v FROM unnest($3::text[], $4::text[]) AS k(s, v)
       ON CONFLICT (workspace, device_id, scope, value) DO NOTHING`,
      [workspace, deviceId, subscriptions.map((s) => s.scope), subscriptions.map((s) => s.value ?? '')],
    );
  }
}
