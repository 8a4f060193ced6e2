import { Client } from 'pg';
import { connectionSettings } from './data-source';
import type { Sql } from './sql';

const LOCK_SPACE = 0x746d; // 'tm'
/** Every replica holds a shared advisory lock on (MEMBER_SPACE, 0) on its claims session: pg_locks counts the live replicas. */
const MEMBER_SPACE = 0x746e;

/** One claims session: a dedicated connection whose session-level advisory locks are the partitions it owns. */
export interface LockSession {
  /** The session's backend pid: the holder of its locks, as `pg_locks` names it. */
  readonly pid: number;
  /** Takes a partition's lock if no other session holds it. */
  tryLock(partition: number): Promise<boolean>;
  /** Gives a partition's lock back (a lost session already gave everything back). */
  unlock(partition: number): Promise<void>;
  /** The live replicas: the sessions holding the member lock in this database (this one included). */
  members(): Promise<number>;
  end(): Promise<void>;
}

/**
 * Partition ownership in Postgres: a session-level advisory lock per partition on one dedicated connection, and a
 * shared "member" lock per replica so every replica can count the live ones. If the process dies or loses the
 * connection, Postgres releases every lock at once. The session's `application_name` names the instance, so
 * `pg_locks` joined with `pg_stat_activity` shows which replica holds which partition.
 */
export class PartitionLocks {
  constructor(
    private readonly database: { url: string; connectTimeoutMs?: number },
    private readonly sql: Sql,
  ) {}

  /** Opens a claims session, which joins the members; `lost` is told once when the connection fails or ends. */
  async open(instance: string | undefined, lost: (error?: Error) => void): Promise<LockSession> {
    // application_name is at most 63 bytes; Postgres truncates a longer one.
    const client = new Client({
      connectionString: this.database.url,
      ...connectionSettings({ connectTimeoutMs: this.database.connectTimeoutMs, applicationName: instance ? `tidemark-merge-claims ${instance}` : 'tidemark-merge-claims' }),
    });
    client.on('error', (error) => lost(error));
    client.on('end', () => lost());
    await client.connect();
    const backend = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await client.query('SELECT pg_advisory_lock_shared($1, 0)', [MEMBER_SPACE]);
    return {
      pid: backend.rows[0]!.pid,
      tryLock: async (partition) => (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [LOCK_SPACE, partition])).rows[0]?.ok === true,
      unlock: async (partition) => void (await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_SPACE, partition]).catch(() => undefined)),
      members: async () => {
        const rows = await client.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND classid = $1 AND objid = 0 AND objsubid = 2 AND granted",
          [MEMBER_SPACE],
        );
        return rows.rows[0]?.n ?? 1;
      },
      end: () => client.end().catch(() => undefined),
    };
  }

  /** The partitions some replica's claims session holds now, as `pg_locks` says (this database only). */
  async held(): Promise<Set<number>> {
    const rows = (await this.sql.query(
      "SELECT objid::int AS partition FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND classid = $1::int::oid AND objsubid = 2 AND granted",
      [LOCK_SPACE],
    )) as { partition: number }[];
    return new Set(rows.map((r) => r.partition));
  }

  /** Whether the session `pid` holds the partition's lock now, asked through `q` (e.g. a transaction about to decide). */
  async holds(q: Sql, partition: number, pid: number): Promise<boolean> {
    const rows = (await q.query(
      "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int::oid AND objid = $2::int::oid AND objsubid = 2 AND pid = $3 AND granted) AS held",
      [LOCK_SPACE, partition, pid],
    )) as { held: boolean }[];
    return rows[0]?.held === true;
  }

  /** The consumer's checkpoint: the last journal sequence it committed (0: none). */
  async checkpoint(consumer: string): Promise<number> {
    const rows = (await this.sql.query('SELECT stream_seq FROM consumer_checkpoints WHERE consumer = $1', [consumer])) as { stream_seq: string }[];
    return Number(rows[0]?.stream_seq ?? 0);
  }
}
