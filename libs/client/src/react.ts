// `@tidemark/client/react`: React bindings of the local replica. `react` is an optional peer dependency: only this
// entry imports it. Both hooks read through `client.live(…)`, whose `current()` keeps its identity while the answer
// does not change, and re-render only when a pull, a local write or an acknowledgement changed the answer.
import { useMemo, useSyncExternalStore } from 'react';
import type { TidemarkClient } from './client';
import { queryKey, type EntityRead, type ReplicaQuery } from './replica/query';

/** One entity of the replica (undefined while the device has neither pulled nor written it); re-renders when it changes. */
export function useEntity(client: TidemarkClient, type: string, id: string): EntityRead | undefined {
  const view = useMemo(() => client.live({ type, id }), [client, type, id]);
  return useSyncExternalStore(view.subscribe, view.current, view.current);
}

/**
 * The answer to a query over the replica; re-renders when it changes. The query may be written inline: it is
 * compared by value (canonical JSON), not by identity.
 */
export function useQuery(client: TidemarkClient, query: ReplicaQuery): EntityRead[] {
  const key = queryKey(query);
  // keyed by the query's value: an inline query object is new on every render
  const view = useMemo(() => client.live(JSON.parse(key) as ReplicaQuery), [client, key]);
  return useSyncExternalStore(view.subscribe, view.current, view.current);
}

export type { EntityRead, ReplicaQuery } from './replica/query';
