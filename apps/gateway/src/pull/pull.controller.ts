import { Controller, Get, Headers, Inject, Query } from '@nestjs/common';
import { LIMITS, PullQuery, compileValidator, type Change, type PullResponse } from '@tidemark/contracts';
import type { DataSource } from '@tidemark/persistence';
import { ProblemError } from '@tidemark/platform';
import { WORKSPACE_HEADER, workspaceOf } from '../workspace';
import { DEFAULT_WORKSPACE } from '../push/push.controller';

export const PULL_DB = Symbol('PULL_DB');
const validateQuery = compileValidator(PullQuery);

@Controller('v1')
export class PullController {
  constructor(
    @Inject(PULL_DB) private readonly ds: DataSource,
    @Inject(DEFAULT_WORKSPACE) private readonly defaultWorkspace: string,
  ) {}

  /** Changes after a cursor, oldest first, in pages of at most `limit` (default 100, at most 1000). */
  @Get('changes')
  async changes(@Query() query: Record<string, string>, @Headers(WORKSPACE_HEADER) header: string | undefined): Promise<PullResponse> {
    const workspace = workspaceOf(header, this.defaultWorkspace);
    const parsed = validateQuery({ ...query, ...(query.limit !== undefined ? { limit: /^\d+$/.test(query.limit) ? Number(query.limit) : query.limit } : {}) });
    if (!parsed.ok) throw ProblemError.validation(parsed.errors.map((e) => ({ ...e, pointer: `query:${e.pointer.replace(/^\//, '')}` })));
    const after = parsed.value.after ?? '0';
    const limit = Math.min(parsed.value.limit ?? 100, LIMITS.maxPullLimit);
    const rows: { cursor: string; entity_type: string; entity_id: string; version: string; deleted: boolean; view: { values: Record<string, unknown>; inConflict: string[]; job?: { state: string; attempt: number; error?: string } }; event_id: string; device_id: string }[] = await this.ds.query(
      `SELECT cursor, entity_type, entity_id, version, deleted, view, event_id, device_id
         FROM change_log WHERE workspace = $1 AND cursor > $2 ORDER BY cursor LIMIT $3`,
      [workspace, after, limit + 1],
    );
    const page = rows.slice(0, limit);
    const changes: Change[] = page.map((r) => ({
      cursor: r.cursor,
      entity: { type: r.entity_type, id: r.entity_id },
      version: Number(r.version),
      deleted: r.deleted,
      state: r.view.values,
      inConflict: r.view.inConflict,
      ...(r.view.job ? { job: r.view.job } : {}),
      eventId: r.event_id,
      deviceId: r.device_id,
    }));
    return { changes, next: page.length > 0 ? page[page.length - 1]!.cursor : after, hasMore: rows.length > limit };
  }
}
