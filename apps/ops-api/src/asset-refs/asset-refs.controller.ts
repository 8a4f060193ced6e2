import { Controller, Get, Inject, Query } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { RequireAuth } from '@tidemark/auth';
import { TypeName, compileValidator } from '@tidemark/contracts';
import { waitingAssetRefs, type WaitingAssetRef } from '@tidemark/persistence';
import { ProblemError } from '@tidemark/platform';
import { OPS_DEPS, type OpsDeps } from '../streams/streams.controller';

const MAX_PAGE = 500;
export const WaitingQuery = Type.Object(
  {
    workspace: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
    entityType: Type.Optional(TypeName),
    status: Type.Optional(Type.Union([Type.Literal('uploading'), Type.Literal('missing')])),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: `page size, 1–${MAX_PAGE} (default 100)` })),
    after: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: '`next` of the previous page' })),
  },
  { additionalProperties: false },
);
const validate = compileValidator(WaitingQuery);

/** The keyset cursor of a page: the last row's key, as base64url JSON. */
const cursorOf = (r: WaitingAssetRef) => Buffer.from(JSON.stringify([r.workspace, r.entityType, r.entityId, r.field, r.sha256])).toString('base64url');

function afterOf(cursor: string | undefined): { workspace: string; entityType: string; entityId: string; field: string; sha256: string } | undefined {
  if (cursor === undefined) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  if (!Array.isArray(key) || key.length !== 5 || !key.every((k) => typeof k === 'string')) throw ProblemError.validation([{ pointer: 'query:after', detail: 'is not a `next` this API gave' }]);
  const [workspace, entityType, entityId, field, sha256] = key as string[];
  return { workspace: workspace!, entityType: entityType!, entityId: entityId!, field: field!, sha256: sha256! };
}

/**
 * Records waiting for their bytes: entity fields declared `valueType: 'asset'` whose referenced asset is
 * not verified in the workspace's asset ledger (`uploading`: an upload is open; `missing`: none is).
 * Metadata never waits on a blob, so these records are already merged and pulled; this is what a device
 * shows as "waiting for upload", seen across devices and workspaces.
 */
@RequireAuth('operator')
@Controller('v1/assets')
export class AssetRefsController {
  constructor(@Inject(OPS_DEPS) private readonly deps: OpsDeps) {}

  @Get('waiting')
  async waiting(@Query() query: Record<string, unknown>): Promise<unknown> {
    const parsed = validate(query);
    if (!parsed.ok)
      throw ProblemError.validation(
        parsed.errors.map((e) => ({ pointer: `query:${e.pointer.replace(/^\//, '').split('/')[0]}`, detail: e.detail === 'unknown field' ? 'unknown parameter' : e.detail })),
      );
    const q = parsed.value;
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (limit < 1 || limit > MAX_PAGE) throw ProblemError.validation([{ pointer: 'query:limit', detail: `must be from 1 to ${MAX_PAGE}` }]);
    const rows = await waitingAssetRefs(this.deps.ds, { workspace: q.workspace, entityType: q.entityType, status: q.status, limit: limit + 1, after: afterOf(q.after) });
    const page = rows.slice(0, limit);
    const hasMore = rows.length > limit;
    return {
      waiting: page.map((r) => ({ workspace: r.workspace, entity: { type: r.entityType, id: r.entityId }, field: r.field, sha256: r.sha256, status: r.status })),
      hasMore,
      ...(hasMore ? { next: cursorOf(page.at(-1)!) } : {}),
    };
  }
}
