import type { Change, ConflictView } from '@tidemark/contracts';

/**
 * `GET /v1/snapshot` over an in-memory change log, as the gateway answers it: each entity's latest change at or
 * before the cursor the first page fixes (deleted ones left out), by entity key, with the conflicts `openOn` says
 * are open on the page's entities.
 */
export function snapshotPage(changes: readonly Change[], params: URLSearchParams, openOn: (keys: Set<string>) => ConflictView[] = () => []): { status: number; body: unknown } {
  const cursor = Number(params.get('cursor') ?? String(changes.length));
  const after = params.get('after');
  const limit = Number(params.get('limit') ?? '500');
  const latest = new Map<string, Change>();
  for (const c of changes.slice(0, cursor)) latest.set(`${c.entity.type}/${c.entity.id}`, c);
  const rest = [...latest.entries()].filter(([key, c]) => !c.deleted && (after === null || key > after)).sort(([a], [b]) => (a < b ? -1 : 1));
  const page = rest.slice(0, limit);
  const hasMore = rest.length > limit;
  return {
    status: 200,
    body: { cursor: String(cursor), changes: page.map(([, c]) => c), conflicts: openOn(new Set(page.map(([key]) => key))), ...(hasMore ? { next: page[page.length - 1]![0] } : {}), hasMore },
  };
}
