import type { Sql } from './sql';
import { scopeBacklog, type ScopeBacklog } from './device-activity-repository';
import type { ScopeSelection } from './snapshot-repository';

/** The read-scope part of a workspace's access rules in force, as stored. */
export interface StoredScopeRules {
  version: number;
  scopes?: Record<string, { types: string[]; partition?: { values: unknown } }>;
  roles?: Record<string, { read?: unknown }>;
}

/** One subscription key of a workspace's devices: a scope, a value ('' for a whole scope), and who holds it. */
export interface SubscriptionFact {
  scope: string;
  value: string;
  devices: string[];
}

/** A subscriber of one value of a scope, with the cursor the gateway last delivered to it (null: never read). */
export interface ScopeReader {
  deviceId: string;
  cursor: string | null;
  readAt: Date | null;
}

/**
 * Read scopes as operators see them: the rules in force, every subscription grouped by scope and value, each
 * value's subscribers with their read positions, and how far behind in the scope each one is.
 */
export class ScopeFactsRepository {
  constructor(private readonly sql: Sql) {}

  /** The rules in force in a workspace (null: none) and every subscription its devices hold, by scope and value. */
  async facts(workspace: string): Promise<{ rules: StoredScopeRules | null; subscriptions: SubscriptionFact[] }> {
    const rules = (await this.sql.query('SELECT rules FROM access_rules WHERE workspace = $1 ORDER BY version DESC LIMIT 1', [workspace])) as { rules: StoredScopeRules }[];
    const subscriptions = (await this.sql.query(
      `SELECT scope, value, array_agg(device_id ORDER BY device_id) AS devices FROM device_subscriptions
        WHERE workspace = $1 GROUP BY scope, value ORDER BY scope, value`,
      [workspace],
    )) as SubscriptionFact[];
    return { rules: rules[0]?.rules ?? null, subscriptions };
  }

  /**
   * The subscribed values of one scope after `after` (value order; '' is a whole-scope subscription), at most
   * `limit` values, each with every subscriber and its read position; `value` picks one value only.
   */
  async readers(workspace: string, scope: string, page: { after?: string; limit: number; value?: string }): Promise<{ value: string; readers: ScopeReader[] }[]> {
    const rows = (await this.sql.query(
      `WITH v AS (SELECT DISTINCT value FROM device_subscriptions
                   WHERE workspace = $1 AND scope = $2 AND ($3::text IS NULL OR value > $3) AND ($5::text IS NULL OR value = $5)
                   ORDER BY value LIMIT $4)
       SELECT s.value, s.device_id, p.cursor::text AS cursor, p.read_at
         FROM v JOIN device_subscriptions s ON s.workspace = $1 AND s.scope = $2 AND s.value = v.value
         LEFT JOIN device_read_positions p ON p.workspace = $1 AND p.device_id = s.device_id
        ORDER BY s.value, s.device_id`,
      [workspace, scope, page.after ?? null, page.limit, page.value ?? null],
    )) as { value: string; device_id: string; cursor: string | null; read_at: Date | null }[];
    const byValue = new Map<string, ScopeReader[]>();
    for (const r of rows) {
      const list = byValue.get(r.value) ?? [];
      list.push({ deviceId: r.device_id, cursor: r.cursor, readAt: r.read_at });
      byValue.set(r.value, list);
    }
    return [...byValue].map(([value, readers]) => ({ value, readers }));
  }

  /** How far behind in `selection` each reader is (counted up to `cap`), and the selection's newest cursor. */
  backlog(workspace: string, selection: ScopeSelection, readers: readonly ScopeReader[], cap: number): Promise<ScopeBacklog> {
    return scopeBacklog(this.sql, workspace, selection, readers, cap);
  }
}
