import type { Principal } from '../principal';

/** Anything that runs SQL: a DataSource, a QueryRunner (inside a transaction) or an EntityManager. */
export interface SqlExecutor {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows are typed where they are read, as with TypeORM's and pg's own query()
  query(sql: string, parameters?: unknown[]): Promise<any>;
}

export interface AuditEntry {
  actor: Principal;
  /** What was done, dotted: `device.revoke`, `parked.redrive`, `replay.swap` … */
  action: string;
  /** What it was done to. */
  target: Record<string, unknown>;
  /** Why, as the operator stated it. */
  reason: string | null;
  detail?: unknown;
  outcome?: string;
}

/** The audit log (`audit_log`): who changed what, why, and how it ended. */
export class AuditRepository {
  constructor(private readonly sql: SqlExecutor) {}

  /** Records a state-changing call; built on a transaction's executor, the entry lands with the change or not at all. */
  async record(entry: AuditEntry): Promise<void> {
    const actor = entry.actor.kind === 'operator' ? entry.actor.name : `${entry.actor.workspace}/${entry.actor.deviceId}`;
    await this.sql.query('INSERT INTO audit_log (actor, actor_kind, token_id, action, target, reason, detail, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      actor,
      entry.actor.kind,
      entry.actor.tokenId,
      entry.action,
      JSON.stringify(entry.target),
      entry.reason,
      entry.detail === undefined ? null : JSON.stringify(entry.detail),
      entry.outcome ?? 'ok',
    ]);
  }
}
