import { Client } from 'pg';
import { connectionSettings, type DataSource } from '@tidemark/persistence';
import { isNotFound, mergeConsumerConfig, type JetStreamManager, type PullBinding } from '@tidemark/messaging';
import type { Logger } from '@tidemark/telemetry';

const LOCK_SPACE = 0x746d; // 'tm'
/** Every replica holds a shared advisory lock on (MEMBER_SPACE, 0) on its claims session: pg_locks counts the live replicas. */
const MEMBER_SPACE = 0x746e;

/**
 * Partition ownership across merge-service replicas: a session-level Postgres advisory lock per
 * partition, held on one dedicated connection. If this process dies or loses that connection, Postgres
 * releases every lock at once and another replica claims the partitions within its claim interval.
 * The checkpoint row lock in each batch transaction is the second fence: a stale owner can never apply a
 * message that the new owner has already committed.
 *
 * Replicas share the partitions: each also holds a shared "member" lock on its claims session, so every
 * replica can count the live ones in `pg_locks` and claims no more than its fair share (`share`), handing
 * partitions beyond it back for a newly started replica to take. The session's `application_name` names the
 * instance, so `pg_locks` joined with `pg_stat_activity` shows which replica holds which partition.
 */
export class PartitionClaims {
  private client: Client | undefined;
  private healthy = false;
  /** The claim session's backend pid: the holder of the advisory locks, as `pg_locks` names it. */
  private pid: number | undefined;
  private readonly held = new Set<number>();

  constructor(
    private readonly database: { url: string; connectTimeoutMs?: number },
    private readonly ds: DataSource,
    private readonly jsm: () => JetStreamManager,
    private readonly stream: string,
    private readonly logger: Logger,
    private readonly consumerPrefix = 'merge',
    private readonly instance?: string,
  ) {}

  private async session(): Promise<Client> {
    if (this.client && this.healthy) return this.client;
    // application_name is at most 63 bytes; Postgres truncates a longer one.
    const client = new Client({
      connectionString: this.database.url,
      ...connectionSettings({ connectTimeoutMs: this.database.connectTimeoutMs, applicationName: this.instance ? `tidemark-merge-claims ${this.instance}` : 'tidemark-merge-claims' }),
    });
    client.on('error', (error) => {
      this.logger.error({ err: error }, 'partition-claim session failed; releasing every partition');
      this.healthy = false;
      this.held.clear();
    });
    client.on('end', () => {
      this.healthy = false;
      this.held.clear();
    });
    await client.connect();
    const backend = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    this.pid = backend.rows[0]!.pid;
    await client.query('SELECT pg_advisory_lock_shared($1, 0)', [MEMBER_SPACE]);
    this.client = client;
    this.healthy = true;
    return client;
  }

  /**
   * This replica's fair share of `total` partitions: `ceil(total / live replicas)`, the live replicas being
   * the sessions holding the member lock in this database (this one included).
   */
  async share(total: number): Promise<number> {
    const client = await this.session();
    const rows = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND classid = $1 AND objid = 0 AND objsubid = 2 AND granted",
      [MEMBER_SPACE],
    );
    return Math.ceil(total / Math.max(1, rows.rows[0]?.n ?? 1));
  }

  /** The partitions some replica's claim session holds now, as `pg_locks` says (this database only). */
  async heldPartitions(): Promise<Set<number>> {
    const rows: { partition: number }[] = await this.ds.query(
      "SELECT objid::int AS partition FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND classid = $1::int::oid AND objsubid = 2 AND granted",
      [LOCK_SPACE],
    );
    return new Set(rows.map((r) => r.partition));
  }

  owns(partition: number): boolean {
    return this.healthy && this.held.has(partition);
  }

  /**
   * Whether the claim session still holds the partition's lock, as Postgres itself says (`pg_locks`), asked
   * through `q` (a transaction about to take a decision only the owner may take, such as parking). Stricter
   * than {@link owns}: a claim session that died a moment ago may not have told this process yet.
   */
  async holds(partition: number, q: { query(sql: string, params?: unknown[]): Promise<unknown> }): Promise<boolean> {
    if (!this.owns(partition) || this.pid === undefined) return false;
    const rows = (await q.query(
      "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int::oid AND objid = $2::int::oid AND objsubid = 2 AND pid = $3 AND granted) AS held",
      [LOCK_SPACE, partition, this.pid],
    )) as { held: boolean }[];
    return rows[0]?.held === true;
  }

  /**
   * Claims a partition and aligns its durable consumer with the Postgres checkpoint: unless the
   * consumer's ack floor already equals the checkpoint with nothing in flight, it is recreated to start
   * right after the checkpoint, so messages are always applied in stream order.
   */
  async claim(partition: number, binding: PullBinding): Promise<boolean> {
    const client = await this.session();
    if (!this.held.has(partition)) {
      const rows = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [LOCK_SPACE, partition]);
      if (!rows.rows[0]?.ok) return false;
      this.held.add(partition);
    }
    try {
      await this.align(binding.durable, partition);
      return true;
    } catch (error) {
      this.logger.warn({ err: error, durable: binding.durable }, 'could not align consumer; will retry');
      await this.release(partition);
      return false;
    }
  }

  /**
   * Re-creates the partition's consumer to start right after the checkpoint, whatever its state. Only
   * while this replica holds the partition: after a lost claim it would pull the consumer from under the
   * new owner, so it throws instead, and the consumer waits to be stopped.
   */
  async realign(partition: number, durable: string): Promise<void> {
    if (!this.owns(partition)) throw new Error(`partition ${partition} is no longer claimed by this replica; not re-aligning ${durable}`);
    await this.align(durable, partition, true);
  }

  private async align(durable: string, partition: number, force = false): Promise<void> {
    const rows: { stream_seq: string }[] = await this.ds.query('SELECT stream_seq FROM consumer_checkpoints WHERE consumer = $1', [durable]);
    const checkpoint = Number(rows[0]?.stream_seq ?? 0);
    const jsm = this.jsm();
    const info = await jsm.consumers.info(this.stream, durable).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    const aligned = !force && info && info.ack_floor.stream_seq === checkpoint && info.num_ack_pending === 0 && info.num_redelivered === 0;
    if (aligned) return;
    if (info) await jsm.consumers.delete(this.stream, durable);
    await jsm.consumers.add(this.stream, mergeConsumerConfig(partition, checkpoint, this.consumerPrefix));
    this.logger.info({ durable, checkpoint }, 'consumer aligned with the checkpoint');
  }

  async release(partition: number): Promise<void> {
    if (!this.held.delete(partition) || !this.client || !this.healthy) return;
    await this.client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_SPACE, partition]).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.held.clear();
    this.healthy = false;
    await this.client?.end().catch(() => undefined);
  }
}
