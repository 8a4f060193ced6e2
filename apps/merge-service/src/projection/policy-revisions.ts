import { DECLARED_REVISION, type PolicyRevision } from '@tidemark/merge';
import { PolicyRevisionRepository, type DataSource, type SqlRunner } from '@tidemark/persistence';
import type { Logger } from '@tidemark/telemetry';

/** Runs a query: the pool, or a batch transaction's own connection. */
type Sql = SqlRunner;

const key = (workspace: string, type: string) => `${workspace}\u0000${type}`;

/**
 * The policy revision each workspace merges each entity type with (`policy_activations`, the latest row
 * of a workspace and type; none: revision 1, the declared policies). `revisionFor` is what the merge
 * function reads, synchronously, inside a batch.
 *
 * Before every batch, after the batch transaction has locked its partition's checkpoint row, the
 * projector calls `ensureCurrent` with that transaction's connection (so a batch never waits on the pool
 * while holding one), which compares the activations' generation (their highest id) with the one loaded
 * and reloads when it moved. A replay swap activates revisions in a transaction that holds
 * every live checkpoint row, so a batch either committed before the swap or sees its activation.
 */
export class PolicyRevisionCache {
  private generation = -1;
  private active = new Map<string, PolicyRevision>();
  private readonly definitions = new Map<string, PolicyRevision>();
  private loading: Promise<void> | undefined;
  private readonly revisions: PolicyRevisionRepository;

  constructor(
    private readonly ds: DataSource,
    private readonly logger: Logger,
  ) {
    this.revisions = new PolicyRevisionRepository(ds);
  }

  /** The revision `workspace` merges `type` with; undefined for the declared policies. */
  revisionFor(workspace: string, type: string): PolicyRevision | undefined {
    return this.active.get(key(workspace, type));
  }

  /** The revision number in force for a workspace and type. */
  activeRevision(workspace: string, type: string): number {
    return this.active.get(key(workspace, type))?.revision ?? DECLARED_REVISION;
  }

  /**
   * Reloads when an activation was recorded since the last load. A load already running may have read
   * before that activation committed, so after waiting for it the generation is checked again.
   */
  async ensureCurrent(sql: Sql = this.ds): Promise<void> {
    for (;;) {
      if ((await this.revisions.generation(sql)) === this.generation) return;
      if (this.loading) {
        await this.loading.catch(() => undefined);
        continue;
      }
      this.loading = this.load(sql).finally(() => (this.loading = undefined));
      await this.loading;
    }
  }

  /** A published revision's definition (1, the declared policies, is undefined); throws when it is not published. */
  async definition(type: string, revision: number, sql: Sql = this.ds): Promise<PolicyRevision | undefined> {
    if (revision === DECLARED_REVISION) return undefined;
    const cached = this.definitions.get(`${type}@${revision}`);
    if (cached) return cached;
    const definition = await this.revisions.definition(type, revision, sql);
    if (!definition) throw new Error(`policy revision ${type} r${revision} is not published`);
    this.definitions.set(`${type}@${revision}`, definition);
    return definition;
  }

  private async load(sql: Sql): Promise<void> {
    const rows = await this.revisions.current(sql);
    const active = new Map<string, PolicyRevision>();
    for (const row of rows) {
      const definition = await this.definition(row.type, row.revision, sql);
      if (definition) active.set(key(row.workspace, row.type), definition);
    }
    const generation = rows.reduce((max, r) => Math.max(max, r.id), 0);
    if (generation !== this.generation && this.generation !== -1) this.logger.info({ generation, active: rows.map((r) => `${r.workspace}/${r.type}@${r.revision}`) }, 'policy revisions activated');
    this.active = active;
    this.generation = generation;
  }
}
