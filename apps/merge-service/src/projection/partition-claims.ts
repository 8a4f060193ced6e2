import { PartitionLocks, type DataSource, type LockSession } from '@tidemark/persistence';
import { isNotFound, mergeConsumerConfig, type JetStreamManager, type PullBinding } from '@tidemark/messaging';
import type { Logger } from '@tidemark/telemetry';

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
  private current: LockSession | undefined;
  private healthy = false;
  private readonly held = new Set<number>();
  private readonly locks: PartitionLocks;

  constructor(
    database: { url: string; connectTimeoutMs?: number },
    ds: DataSource,
    private readonly jsm: () => JetStreamManager,
    private readonly stream: string,
    private readonly logger: Logger,
    private readonly consumerPrefix = 'merge',
    private readonly instance?: string,
  ) {
    this.locks = new PartitionLocks(database, ds);
  }

  private async session(): Promise<LockSession> {
    if (this.current && this.healthy) return this.current;
    const session = await this.locks.open(this.instance, (error) => {
      if (error) this.logger.error({ err: error }, 'partition-claim session failed; releasing every partition');
      this.healthy = false;
      this.held.clear();
    });
    this.current = session;
    this.healthy = true;
    return session;
  }

  /**
   * This replica's fair share of `total` partitions: `ceil(total / live replicas)`, the live replicas being
   * the sessions holding the member lock in this database (this one included).
   */
  async share(total: number): Promise<number> {
    const session = await this.session();
    return Math.ceil(total / Math.max(1, await session.members()));
  }

  /** The partitions some replica's claim session holds now, as `pg_locks` says (this database only). */
  heldPartitions(): Promise<Set<number>> {
    return this.locks.held();
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
    if (!this.owns(partition) || this.current === undefined) return false;
    return this.locks.holds(q, partition, this.current.pid);
  }

  /**
   * Claims a partition and aligns its durable consumer with the Postgres checkpoint: unless the
   * consumer's ack floor already equals the checkpoint with nothing in flight, it is recreated to start
   * right after the checkpoint, so messages are always applied in stream order.
   */
  async claim(partition: number, binding: PullBinding): Promise<boolean> {
    const session = await this.session();
    if (!this.held.has(partition)) {
      if (!(await session.tryLock(partition))) return false;
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
    const checkpoint = await this.locks.checkpoint(durable);
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
    if (!this.held.delete(partition) || !this.current || !this.healthy) return;
    await this.current.unlock(partition);
  }

  async close(): Promise<void> {
    this.held.clear();
    this.healthy = false;
    await this.current?.end();
  }
}
