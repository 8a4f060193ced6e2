import { Controller, Get, Inject, Query } from '@nestjs/common';
import { SYNC_LIMITS, SnapshotQuery, compileValidator, type SnapshotResponse } from '@tidemark/contracts';
import { CurrentPrincipal, RequireAuth, type DevicePrincipal } from '@tidemark/auth';
import { ProblemError, parseQuery } from '@tidemark/platform';
import { annotateAssets, changeView } from './changes';
import { conflictView, type ScopeSelection } from '@tidemark/persistence';
import { checkSubscription, readFilter } from '@tidemark/access';
import { subscriptionProblem } from '../subscriptions/subscription-problem';
import { PULL_DEPS, type PullDeps } from './pull.controller';

const validateQuery = compileValidator(SnapshotQuery);

/**
 * The device snapshot: the current state of each entity of the token's workspace, so a new (or long-offline)
 * device starts from one entry per entity instead of every version. The first page fixes the change-log cursor
 * every page is taken at and answers it; the device passes it back with each page's `next`, then pulls
 * `/v1/changes?after=<cursor>` for everything written since (see `SnapshotRepository` for why that is exact).
 */
@RequireAuth('device')
@Controller('v1')
export class SnapshotController {
  constructor(@Inject(PULL_DEPS) private readonly deps: PullDeps) {}

  @Get('snapshot')
  async snapshot(@Query() query: Record<string, string>, @CurrentPrincipal() device: DevicePrincipal): Promise<SnapshotResponse> {
    const q = parseQuery(validateQuery, query, ['limit']);
    if (q.after !== undefined && q.cursor === undefined) {
      throw ProblemError.validation([{ pointer: 'query:cursor', detail: 'a page after the first needs the `cursor` the first page answered' }]);
    }
    const head = await this.deps.snapshots.head(device.workspace);
    if (q.cursor !== undefined && BigInt(q.cursor) > BigInt(head)) {
      throw ProblemError.validation([{ pointer: 'query:cursor', detail: `not a cursor of this workspace: its change log ends at ${head}; start the snapshot again without \`cursor\`` }]);
    }
    const cursor = q.cursor ?? head;
    const scope = await this.selection(device, q.scope, q.value);
    const slash = q.after?.indexOf('/') ?? -1;
    const after = q.after !== undefined ? { type: q.after.slice(0, slash), id: q.after.slice(slash + 1) } : undefined;
    const page = await this.deps.snapshots.page(device.workspace, cursor, after, q.limit ?? SYNC_LIMITS.defaultSnapshotLimit, scope);
    const changes = page.rows.map(changeView);
    await annotateAssets(this.deps.reads.assets, device.workspace, changes);
    const conflicts = (
      await this.deps.snapshots.openConflicts(
        device.workspace,
        changes.filter((c) => c.inConflict.length > 0).map((c) => c.entity),
      )
    ).map(conflictView);
    const last = page.rows[page.rows.length - 1];
    return { cursor, changes, conflicts, ...(page.hasMore && last ? { next: `${last.entity_type}/${last.entity_id}` } : {}), hasMore: page.hasMore };
  }

  /**
   * What the snapshot covers: with `scope`, that scope's records (the device must be allowed to read it; it need
   * not hold the subscription yet); without, everything the device reads. Undefined: the whole workspace.
   */
  private async selection(device: DevicePrincipal, scope: string | undefined, value: string | undefined): Promise<ScopeSelection | undefined> {
    if (scope === undefined && value !== undefined) throw ProblemError.validation([{ pointer: 'query:value', detail: 'a partition value needs the `scope` it belongs to' }]);
    const standing = await this.deps.scopes.standing(device.workspace, device.deviceId);
    if (scope !== undefined) {
      const subscription = value === undefined ? { scope } : { scope, value };
      const verdict = checkSubscription(standing.rules, standing.role, standing.claims, subscription);
      if (!verdict.ok) throw subscriptionProblem([{ pointer: 'query:scope', verdict, subscription }]);
      return { keys: verdict.keys, types: verdict.types };
    }
    const filter = readFilter(standing.rules, standing.role, standing.claims, standing.subscriptions);
    return filter.kind === 'all' ? undefined : filter;
  }
}
