import type { DataSource } from '@tidemark/persistence';

type Sql = Pick<DataSource, 'query'>;

/** One subscription key of a workspace's devices: a scope, a value ('' for a whole scope), and who holds it. */
export interface SubscriptionFact {
  scope: string;
  value: string;
  devices: string[];
}

/** The rules in force in a workspace (null: none) and every subscription its devices hold, grouped by scope and value. */
export async function readScopeFacts(sql: Sql, workspace: string): Promise<{ rules: { version: number; scopes?: Record<string, { types: string[]; partition?: { values: unknown } }> } | null; subscriptions: SubscriptionFact[] }> {
  const rules: { rules: { version: number; scopes?: Record<string, { types: string[]; partition?: { values: unknown } }> } }[] = await sql.query(
    'SELECT rules FROM access_rules WHERE workspace = $1 ORDER BY version DESC LIMIT 1',
    [workspace],
  );
  const subscriptions: SubscriptionFact[] = await sql.query(
    `SELECT scope, value, array_agg(device_id ORDER BY device_id) AS devices FROM device_subscriptions
      WHERE workspace = $1 GROUP BY scope, value ORDER BY scope, value`,
    [workspace],
  );
  return { rules: rules[0]?.rules ?? null, subscriptions };
}
