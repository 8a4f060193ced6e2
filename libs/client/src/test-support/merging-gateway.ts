import type { Change, ConflictView, DeviceEvent, Receipt } from '@tidemark/contracts';
import { defaultRegistry, mergeWithRegistry, view, type ConflictDraft, type EntityState, type SchemaRegistry } from '@tidemark/merge';
import type { Fetch } from '../http';
import { snapshotPage } from './snapshot-page';

type FetchInit = Parameters<Fetch>[1];

/**
 * An in-memory gateway with merge-service behind it, for unit tests of the local replica: pushed events are
 * journaled and (unless `hold` is set) merged at once with `@tidemark/merge`, as merge-service does — changes with
 * the entity's view, the device's receipts, conflicts opened and resolved, and `POST /v1/conflicts/{id}/resolve`.
 * Each device talks through its own `fetchFor(deviceId)` (the device a real gateway reads from the token).
 */
export class MergingGateway {
  readonly changes: Change[] = [];
  readonly receipts: Receipt[] = [];
  readonly conflicts = new Map<string, ConflictView>();
  /** Journaled, not merged yet (while `hold`). */
  readonly inbox: DeviceEvent[] = [];
  private readonly seen = new Set<string>();
  private readonly states = new Map<string, EntityState>();
  private seq = 0;
  /** While true, pushed events are journaled (acknowledged) but not merged: call `mergeAll()`. */
  hold = false;
  offline = false;
  /** Events for which the push answers `rejected` (refused for good), with the reason. */
  refuse: (event: DeviceEvent) => string | undefined = () => undefined;

  constructor(private readonly registry: SchemaRegistry = defaultRegistry) {}

  fetchFor(deviceId: string): Fetch {
    return (url, init) => {
      if (init.signal.aborted) return Promise.reject(init.signal.reason as Error);
      if (this.offline) return Promise.reject(new TypeError('fetch failed'));
      const answer = this.handle(deviceId, url, init);
      return Promise.resolve({
        status: answer.status,
        headers: { get: (name: string) => (name.toLowerCase() === 'content-type' ? 'application/json' : null) },
        text: () => Promise.resolve(JSON.stringify(answer.body)),
      });
    };
  }

  /** Merges what `hold` kept back, in journal order. */
  mergeAll(): void {
    for (const event of this.inbox.splice(0)) this.merge(event);
  }

  /** Journals (and merges unless held) an event as another device would have pushed it. */
  journal(event: DeviceEvent): void {
    if (this.seen.has(event.eventId)) return;
    this.seen.add(event.eventId);
    if (this.hold) this.inbox.push(event);
    else this.merge(event);
  }

  private merge(event: DeviceEvent): void {
    const key = `${event.entity.type}/${event.entity.id}`;
    const streamSeq = ++this.seq;
    const acceptedAt = new Date(event.hlc.wall).toISOString();
    const result = mergeWithRegistry(this.states.get(key), { event, workspace: 'default', acceptedAt, streamSeq }, this.registry);
    const accepted = result.outcome === 'applied' || result.outcome === 'merged' || result.outcome === 'conflicted';
    const status =
      result.outcome === 'applied' || result.outcome === 'merged' || result.outcome === 'conflicted' || result.outcome === 'noop' || result.outcome === 'rejected' || result.outcome === 'repair'
        ? result.outcome
        : 'rejected';
    this.receipts.push({
      eventId: event.eventId,
      deviceId: event.deviceId,
      deviceSeq: event.deviceSeq,
      entity: event.entity,
      status,
      reason: result.reason ?? null,
      version: accepted ? result.state!.version : null,
      streamSeq,
      acceptedAt,
    });
    if (!accepted) return;
    const state = result.state!;
    this.states.set(key, state);
    const shown = view(state);
    this.changes.push({
      cursor: String(this.changes.length + 1),
      entity: event.entity,
      version: shown.version,
      deleted: shown.deleted,
      state: shown.values,
      inConflict: shown.inConflict,
      ...(shown.job ? { job: shown.job } : {}),
      eventId: event.eventId,
      deviceId: event.deviceId,
    });
    for (const draft of result.conflicts) this.conflicts.set(draft.id, conflictView(draft, event, streamSeq, state.version));
    for (const id of result.resolved) {
      const open = this.conflicts.get(id);
      if (open) this.conflicts.set(id, { ...open, status: 'resolved', resolved: { eventId: event.eventId, seq: streamSeq } });
    }
  }

  private handle(deviceId: string, url: string, init: FetchInit): { status: number; body: unknown } {
    const { pathname, searchParams } = new URL(url);
    if (init.method === 'POST' && pathname === '/v1/events') {
      const { events } = JSON.parse(init.body ?? '{}') as { events: DeviceEvent[] };
      const results = events.map((event) => {
        const refused = this.refuse(event);
        if (refused !== undefined) return { eventId: event.eventId, status: 'rejected', reason: refused };
        const known = this.seen.has(event.eventId);
        this.journal(event);
        return { eventId: event.eventId, status: known ? 'duplicate' : 'accepted', seq: this.seq };
      });
      return { status: 200, body: { results } };
    }
    if (init.method === 'GET' && pathname === '/v1/changes') {
      const after = Number(searchParams.get('after') ?? '0');
      const limit = Number(searchParams.get('limit') ?? '100');
      const receiptsAfter = Number(searchParams.get('receiptsAfter') ?? '0');
      const rest = this.changes.filter((c) => Number(c.cursor) > after);
      const page = rest.slice(0, limit);
      const ids = new Set(page.map((c) => c.eventId));
      const conflicts = [...this.conflicts.values()].filter((c) => ids.has(c.opened.eventId) || (c.resolved && ids.has(c.resolved.eventId)));
      const receipts = this.receipts
        .filter((r) => r.deviceId === deviceId && r.deviceSeq > receiptsAfter)
        .sort((a, b) => a.deviceSeq - b.deviceSeq)
        .slice(0, limit);
      return { status: 200, body: { changes: page, conflicts, receipts, next: page.length > 0 ? page[page.length - 1]!.cursor : String(after), hasMore: rest.length > limit } };
    }
    if (init.method === 'GET' && pathname === '/v1/snapshot') {
      return snapshotPage(this.changes, searchParams, (keys) => [...this.conflicts.values()].filter((c) => c.status === 'open' && keys.has(`${c.entity.type}/${c.entity.id}`)));
    }
    const resolve = /^\/v1\/conflicts\/([^/]+)\/resolve$/.exec(pathname);
    if (init.method === 'POST' && resolve) {
      const id = decodeURIComponent(resolve[1]!);
      const conflict = this.conflicts.get(id);
      if (!conflict) return { status: 404, body: { type: 'https://tidemark.dev/problems/not-found', title: 'no such conflict', status: 404 } };
      if (conflict.status === 'resolved') return { status: 409, body: { type: 'https://tidemark.dev/problems/conflict-already-resolved', title: 'already resolved', status: 409 } };
      const body = JSON.parse(init.body ?? '{}') as { pick: 'ours' | 'theirs' | 'value'; value?: unknown; eventId: string; hlc: DeviceEvent['hlc'] };
      this.journal({
        eventId: body.eventId,
        deviceId: `resolver:${deviceId}`,
        deviceSeq: this.seq + 1,
        hlc: body.hlc,
        entity: conflict.entity,
        op: 'resolve',
        baseVersion: 0,
        resolution: { conflictId: id, pick: body.pick, ...(body.value !== undefined ? { value: body.value } : {}) },
        schemaVersion: 1,
      });
      return { status: 202, body: { eventId: body.eventId, seq: this.seq, status: 'accepted' } };
    }
    return { status: 404, body: { type: 'https://tidemark.dev/problems/not-found', title: 'Not found', status: 404 } };
  }
}

function conflictView(draft: ConflictDraft, event: DeviceEvent, seq: number, version: number): ConflictView {
  const common = {
    id: draft.id,
    entity: draft.entity,
    field: draft.field,
    rule: draft.rule,
    status: 'open' as const,
    opened: { eventId: event.eventId, seq, version, acceptedAt: draft.acceptedAt },
    cursor: `${seq}:${draft.id}`,
  };
  if (draft.kind === 'delete') {
    return {
      ...common,
      kind: 'delete',
      ours: { eventId: draft.ours.eventId, deviceId: draft.ours.deviceId, hlc: draft.ours.hlc, version: draft.ours.version },
      theirs: { eventId: draft.theirs.eventId, deviceId: draft.theirs.deviceId, hlc: draft.theirs.hlc, baseVersion: draft.theirs.baseVersion, fields: draft.theirs.fields },
    };
  }
  return {
    ...common,
    kind: 'field',
    base: draft.base,
    ours: { eventId: draft.ours.eventId, deviceId: draft.ours.deviceId, hlc: draft.ours.hlc, value: draft.ours.value, version: draft.ours.version },
    theirs: { eventId: draft.theirs.eventId, deviceId: draft.theirs.deviceId, hlc: draft.theirs.hlc, value: draft.theirs.value, baseVersion: draft.theirs.baseVersion },
  };
}
