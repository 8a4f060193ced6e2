import type { PolicyRevision } from '@tidemark/merge';
import type { DataSource } from 'typeorm';
import type { SqlRunner } from './replay-job-repository';

/** One activation: from it on, `workspace` merges `type` with `revision`. Its id is the activations' generation. */
export interface PolicyActivation {
  id: number;
  workspace: string;
  type: string;
  revision: number;
}

/**
 * Published policy revisions (`policy_revisions`) and their activations per workspace (`policy_activations`).
 * Each read takes the connection to run on (default: the pool), so a batch transaction reads through its own.
 */
export class PolicyRevisionRepository {
  constructor(private readonly ds: DataSource) {}

  /** The activations' generation: their highest id (0: none). */
  async generation(sql: SqlRunner = this.ds): Promise<number> {
    const rows = (await sql.query('SELECT coalesce(max(id), 0) AS g FROM policy_activations')) as { g: string }[];
    return Number(rows[0]!.g);
  }

  /** A published revision's definition; undefined when it is not published. */
  async definition(type: string, revision: number, sql: SqlRunner = this.ds): Promise<PolicyRevision | undefined> {
    const rows = (await sql.query('SELECT definition FROM policy_revisions WHERE type = $1 AND revision = $2', [type, revision])) as { definition: PolicyRevision }[];
    return rows[0]?.definition;
  }

  /** The activation in force per workspace and type (the latest of each). */
  async current(sql: SqlRunner = this.ds): Promise<PolicyActivation[]> {
    const rows = (await sql.query('SELECT DISTINCT ON (workspace, type) id, workspace, type, revision FROM policy_activations ORDER BY workspace, type, id DESC')) as {
      id: string;
      workspace: string;
      type: string;
      revision: number;
    }[];
    return rows.map((r) => ({ id: Number(r.id), workspace: r.workspace, type: r.type, revision: r.revision }));
  }
}
