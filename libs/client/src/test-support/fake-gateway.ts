import type { Change, DeviceEvent, EventResult } from '@tidemark/contracts';
import type { Fetch } from '../http';
import { snapshotPage } from './snapshot-page';

type FetchInit = Parameters<Fetch>[1];

/** What the fake answers one request with, when a test scripts it. */
export interface Scripted {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Throw instead of answering (a network error). */
  fail?: Error;
}

/**
 * An in-memory stand-in for the gateway's push and pull routes, for unit tests of the client: it journals
 * pushed events (answering `duplicate` for a known eventId), turns each into a change, and can be scripted to
 * fail requests. Not a model of merge: a change's state is the event's `set` values.
 */
export class FakeGateway {
  readonly journal: DeviceEvent[] = [];
  readonly changes: Change[] = [];
  readonly requests: { method: string; url: string; body?: string; headers: Record<string, string> }[] = [];
  /** Answers for the next requests, consumed first-in first-out (then the fake behaves normally). */
  readonly script: Array<Scripted | ((url: string, init: FetchInit) => Scripted | undefined)> = [];
  /** When true every request fails with a network error. */
  offline = false;
  private readonly versions = new Map<string, number>();

  readonly fetch: Fetch = (url, init) => {
    this.requests.push({ method: init.method, url, headers: init.headers, ...(init.body !== undefined ? { body: init.body } : {}) });
    if (init.signal.aborted) return Promise.reject(init.signal.reason as Error);
    if (this.offline) return Promise.reject(new TypeError('fetch failed'));
    const next = this.script.shift();
    const scripted = typeof next === 'function' ? next(url, init) : next;
    if (scripted?.fail) return Promise.reject(scripted.fail);
    const answer = scripted ?? this.handle(url, init);
    const headers = new Map(Object.entries({ 'content-type': 'application/json', ...answer.headers }).map(([k, v]) => [k.toLowerCase(), v]));
    return Promise.resolve({
      status: answer.status,
      headers: { get: (name: string) => headers.get(name.toLowerCase()) ?? null },
      text: () => Promise.resolve(answer.body === undefined ? '' : JSON.stringify(answer.body)),
    });
  };

  /** The events of the push requests so far, by request. */
  pushedBatches(): DeviceEvent[][] {
    return this.requests.filter((r) => r.method === 'POST' && r.body !== undefined).map((r) => (JSON.parse(r.body!) as { events: DeviceEvent[] }).events);
  }

  /** Journals events as the gateway would; returns the per-event results. */
  accept(events: DeviceEvent[]): EventResult[] {
    return events.map((event) => {
      const known = this.journal.findIndex((e) => e.eventId === event.eventId);
      if (known >= 0) return { eventId: event.eventId, status: 'duplicate', seq: known + 1 };
      this.journal.push(event);
      const key = `${event.entity.type}/${event.entity.id}`;
      const version = (this.versions.get(key) ?? 0) + 1;
      this.versions.set(key, version);
      const previous = [...this.changes].reverse().find((c) => `${c.entity.type}/${c.entity.id}` === key);
      const state = { ...(previous?.state ?? {}) };
      for (const [name, change] of Object.entries(event.fields ?? {})) if (change.op === 'set') state[name] = change.value;
      this.changes.push({
        cursor: String(this.changes.length + 1),
        entity: event.entity,
        version,
        deleted: event.op === 'delete',
        state,
        inConflict: [],
        eventId: event.eventId,
        deviceId: event.deviceId,
      });
      return { eventId: event.eventId, status: 'accepted', seq: this.journal.length };
    });
  }

  private handle(url: string, init: FetchInit): Scripted {
    const { pathname, searchParams } = new URL(url);
    if (init.method === 'POST' && pathname === '/v1/events') {
      const { events } = JSON.parse(init.body ?? '{}') as { events: DeviceEvent[] };
      return { status: 200, body: { results: this.accept(events) } };
    }
    if (init.method === 'GET' && pathname === '/v1/changes') {
      const after = Number(searchParams.get('after') ?? '0');
      const limit = Number(searchParams.get('limit') ?? '100');
      const rest = this.changes.filter((c) => Number(c.cursor) > after);
      const page = rest.slice(0, limit);
      return { status: 200, body: { changes: page, next: page.length > 0 ? page[page.length - 1]!.cursor : String(after), hasMore: rest.length > limit } };
    }
    if (init.method === 'GET' && pathname === '/v1/snapshot') return snapshotPage(this.changes, searchParams);
    return { status: 404, body: { type: 'https://tidemark.dev/problems/not-found', title: 'Not found', status: 404 }, headers: { 'content-type': 'application/problem+json' } };
  }
}
