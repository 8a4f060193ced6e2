import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { PullQuery, compileValidator, type Validated } from '@tidemark/contracts';
import { CurrentPrincipal, RequireAuth, type DevicePrincipal, type StandingPort } from '@tidemark/auth';
import type { SnapshotRepository } from '@tidemark/persistence';
import type { Logger } from '@tidemark/telemetry';
import { parseQuery } from '@tidemark/platform';
import { changePage, type ChangePage, type SyncReads } from './changes';
import { interestOf, type ChangeNotifier } from './change-notifier';
import type { ReadFilter } from '@tidemark/access';
import type { ReadScopeStore } from '../subscriptions/read-scope-store';
import type { DeviceActivityLog } from '../activity/device-activity';

export const PULL_DEPS = Symbol('PULL_DEPS');
export interface PullDeps {
  /** The change log, conflicts, receipts and asset references a device reads. */
  reads: SyncReads;
  /** Reads the device snapshot (`GET /v1/snapshot`). */
  snapshots: SnapshotRepository;
  notifier: ChangeNotifier;
  /** Each device's subscriptions and what it may read under the workspace's access rules (listed, replaced). */
  scopes: ReadScopeStore;
  /**
   * What a device reads now (its read filter), for every page of a pull, long-poll or live stream: cached per
   * device and forgotten on the standing notice of a rules publish, role or claims change, or subscription change.
   */
  readFilter: (workspace: string, deviceId: string) => Promise<ReadFilter>;
  /** Tells every gateway that a device's subscriptions changed (its cached read filter is forgotten everywhere). */
  announce: (change: { workspace: string; deviceId: string }) => Promise<void>;
  /** The guard's standing checks: a live stream asks again while it runs. */
  standing: StandingPort;
  now: () => Date;
  /** Notes the cursor each device was last sent, for operators' lag per device and per scope. */
  activity?: Pick<DeviceActivityLog, 'read'>;
  /** Where a live stream's failure is logged (the client is told only that it failed and where to resume). */
  logger?: Logger;
}

const validateQuery = compileValidator(PullQuery);
const INTEGER_PARAMS = ['limit', 'wait', 'receiptsAfter'];

/** A sync query: the integer parameters arrive as text and are converted before the schema checks them. */
export const parseSyncQuery = <T>(validate: (input: unknown) => Validated<T>, query: Record<string, string>): T => parseQuery(validate, query, INTEGER_PARAMS);

@RequireAuth('device')
@Controller('v1')
export class PullController {
  constructor(@Inject(PULL_DEPS) private readonly deps: PullDeps) {}

  /**
   * Changes after a cursor, oldest first, in pages of at most `limit` (default 100) — of the records the device
   * reads (its subscriptions; the whole workspace when it has none and its role reads everything) — with the conflicts
   * their events opened or resolved and, given `receiptsAfter`, the device's own receipts. With `wait`,
   * an empty answer is held until a change arrives or `wait` seconds pass (long-poll).
   */
  @Get('changes')
  async changes(@Query() query: Record<string, string>, @CurrentPrincipal() device: DevicePrincipal, @Res({ passthrough: true }) reply: FastifyReply): Promise<ChangePage> {
    const q = parseSyncQuery(validateQuery, query);
    const after = q.after ?? '0';
    const limit = q.limit ?? 100;
    const deadline = Date.now() + (q.wait ?? 0) * 1000;
    const gone = new AbortController();
    if (q.wait) reply.raw.once('close', () => gone.abort());
    for (;;) {
      const mark = this.deps.notifier.mark(device.workspace);
      const filter = await this.deps.readFilter(device.workspace, device.deviceId);
      const page: ChangePage = await changePage(this.deps.reads, device.workspace, after, limit, filter);
      if (q.receiptsAfter !== undefined) page.receipts = await this.deps.reads.receipts.above(device.workspace, device.deviceId, q.receiptsAfter, limit);
      // Receipts end a long-poll only when the next one in sequence is there: receipts above a gap the device
      // already holds would otherwise answer every long-poll at once.
      const news = page.changes.length > 0 || (page.receipts ?? []).some((r) => r.deviceSeq === (q.receiptsAfter ?? 0) + 1);
      if (news || Date.now() >= deadline || this.deps.notifier.stopped || gone.signal.aborted) {
        this.deps.activity?.read(device.workspace, device.deviceId, page.next, this.deps.now());
        return page;
      }
      await this.deps.notifier.wait(device.workspace, deadline, gone.signal, mark, interestOf(filter));
    }
  }
}
