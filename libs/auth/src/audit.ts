import { AuditRepository, type AuditEntry, type SqlExecutor } from './repositories/audit-repository';

export type { AuditEntry, SqlExecutor };

/** Records a state-changing call; run it in the change's own transaction so both land or neither does. */
export async function recordAudit(executor: SqlExecutor, entry: AuditEntry): Promise<void> {
  await new AuditRepository(executor).record(entry);
}
