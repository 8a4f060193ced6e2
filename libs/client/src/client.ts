import type { Change, ConflictView, DeviceEvent, EntityRef, FieldChange, JobState, ResolveResponse, SubscriptionRef, SubscriptionsResponse } from '@tidemark/contracts';
import { defaultRegistry, schemaRegistryOf, type EntityTypeSchema } from '@tidemark/merge';
import { TokenKeeper, type DeviceCredentials } from './auth/token-keeper';
import type { HybridClock, WallClock } from './clock/hybrid-clock';
import { defaultSleep, expectOk, send, sendWithRetry, type Fetch, type HttpContext, type Sleep } from './http';
import { CLIENT_LIMITS } from './limits';
import { Outbox, type EventDraft, type QuarantinedEvent } from './outbox/outbox';
import { PULL_KEY, entityKey, loadPullState, pullChanges, type PullState, type PullSummary, type Released } from './pull/puller';
import { dropBackfills, dueReleases, evictionOf, fetchSubscriptions, queueBackfills, reclaim, release, replaceSubscriptions, withAdded, without } from './pull/scopes';
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy } from './push/backoff';
import { pushOutbox, type PushedBatch, type PushSummary, type Rejection } from './push/pusher';
import type { LiveView } from './replica/live';
import type { EntityRead, ReplicaQuery } from './replica/query';
import { Replica, type Divergence } from './replica/replica';
import type { Storage } from './storage/storage';
import { TabCoordinator, type TabNews } from './tabs/tab-coordinator';
import { ClientAssets, type AssetOptions, type Attached, type AttachOptions, type UploadProgress } from './assets/assets';
import type { AssetBytes } from './assets/sha256';

/** What a client emits. Listeners of `change` and `conflict` may be async; the pull waits for them. */
export interface ClientEvents {
  /** A pulled change, in cursor order (at least once: see {@link TidemarkClient.pull}). */
  change: (change: Change) => void | Promise<void>;
  /** A pulled change whose entity has fields in conflict (`change.inConflict`; `$entity` for a delete conflict). */
  conflict: (change: Change) => void | Promise<void>;
  /** A conflict of the ledger opened or resolved by a pulled change (at least once; key it by `id` and `status`). */
  conflictUpdate: (conflict: ConflictView) => void | Promise<void>;
  /** One of this device's own write receipts (at least once; key it by `eventId`). */
  receipt: (receipt: Receipt) => void | Promise<void>;
  /** Events the server refused for good; they left the outbox for quarantine. */
  rejected: (rejection: Rejection) => void;
  /** One push batch was answered and the outbox updated. */
  pushed: (batch: PushedBatch) => void;
  /** A failure of the background loop (it keeps running and tries again with backoff). */
  error: (error: Error) => void;
  /**
   * With `tabs: 'auto'`: another tab of this device changed the outbox (`outbox`: an enqueue, or a push that
   * acknowledged events) or pulled changes (`pull`), and this client has re-read it from storage. Re-render
   * what you show (the tab that syncs hears `change` listeners; the others hear this).
   */
  tabChange: (news: TabNews) => void;
  /** The server settled some of this device's writes otherwise than the replica showed; the replica now shows the server's. */
  diverged: (divergence: Divergence) => void;
  /** An attached file's upload moved (status, bytes sent of total). */
  upload: (progress: UploadProgress) => void;
}

export interface ClientOptions {
  /** The gateway, e.g. `http://127.0.0.1:3001`. */
  baseUrl: string;
  /** Where the device's identity, outbox and cursor live: `await FileStorage.open(dir)` on Node, `await IndexedDbStorage.open(name)` in a browser. */
  storage: Storage;
  /**
   * `auto`: the tabs of one browser profile that open the same named storage (IndexedDbStorage) share the device
   * safely — appends to the outbox are serialised across tabs (Web Locks), `start()` syncs in one tab at a time (the
   * leader; another takes over when it closes) and the others hear of changes (`tabChange`). Outside a browser (Node)
   * it does nothing; a browser page without Web Locks (secure contexts only) is refused. Default `off`: one client
   * per storage.
   */
  tabs?: 'auto' | 'off';
  /**
   * The device's credentials from its enrolment (workspace, device id, access and refresh token). Stored on
   * first open; later opens continue with the stored (rotated) ones, so pass the enrolment again or not at all.
   */
  credentials?: DeviceCredentials;
  /** Workspace of a storage without credentials (tests against an open gateway). Default `default`. */
  workspace?: string;
  /** Device id for a new storage without credentials (default: a random UUID). An existing storage keeps its own. */
  deviceId?: string;
  /** `schemaVersion` of events whose draft names none. Default 1. */
  schemaVersion?: number;
  /** Extra request headers (e.g. authorisation). */
  headers?: Record<string, string>;
  retry?: Partial<RetryPolicy>;
  /** Timeout of one HTTP request. Default 30 000 ms. */
  requestTimeoutMs?: number;
  /** Changes per pull page, and entities per snapshot page (1–1000). Default 500. */
  pullPageSize?: number;
  /**
   * How a device that never pulled starts: `true` (default) reads `GET /v1/snapshot` — one entry per entity,
   * its current state, delivered to the `change` listeners like any pulled change — then pulls the changes since
   * its cursor; `false` pulls every change from the beginning (every version of every entity). A pull cursor of
   * 0 (a fresh storage, or a workspace that was empty) bootstraps; a snapshot interrupted by a crash or `close()`
   * continues at its next page. A device with a cursor keeps pulling changes, which also carry deletions.
   */
  bootstrapFromSnapshot?: boolean;
  /** Events per push request (1–500). Default 500. */
  maxBatchEvents?: number;
  /** Bytes per push request body. Default 1 MiB (the gateway's default limit). */
  maxBatchBytes?: number;
  /** Physical clock in milliseconds. Default `Date.now`. */
  now?: WallClock;
  /** Uniform random numbers in [0, 1) for backoff jitter. Default `Math.random`. */
  random?: () => number;
  /** UUIDs for event ids (and a new device id). Default `crypto.randomUUID`. */
  randomUUID?: () => string;
  /** Default: the global `fetch`. */
  fetch?: Fetch;
  /** Default: a timer. */
  sleep?: Sleep;
  onChange?: ClientEvents['change'];
  onConflict?: ClientEvents['conflict'];
  onConflictUpdate?: ClientEvents['conflictUpdate'];
  onReceipt?: ClientEvents['receipt'];
  onRejected?: ClientEvents['rejected'];
  onPushed?: ClientEvents['pushed'];
  onError?: ClientEvents['error'];
  onDiverged?: ClientEvents['diverged'];
  /**
   * The local replica (`get`, `query`, `subscribe`): on by default. `schemas` are the entity type schemas the
   * optimistic merge uses (default: the schemas tidemark ships, `DEFAULT_SCHEMAS` of `@tidemark/merge`); pass the
   * ones your server publishes. `false`: no replica (a pipeline that only pushes and pulls).
   */
  replica?: false | { schemas?: readonly EntityTypeSchema[] };
  onUpload?: ClientEvents['upload'];
  /** Binaries: the asset-service, the local cache and its policy. Without it `attach` and `assets` are unavailable. */
  assets?: AssetOptions;
}

/** The answer of `resolve`: the resolve event the gateway journaled. */
export type Resolution = ResolveResponse;

/**
 * One write receipt: the fate of one event as merge-service recorded it (`GET /v1/receipts?deviceId=`).
 * Statuses: `applied`, `merged`, `conflicted`, `repair`, `rejected`, `duplicate`, `noop`, `parked`
 * (see `libs/merge/README.md`). An event with no receipt yet was journaled but not projected yet.
 */
export interface Receipt {
  eventId: string;
  deviceId: string;
  deviceSeq: number;
  entity: { type: string; id: string };
  status: string;
  reason: string | null;
  /** Entity version the event produced (null when it changed nothing). */
  version: number | null;
  streamSeq: number;
  acceptedAt: string;
}

/** A page of a device's receipts, in device-sequence order. */
export interface ReceiptsPage {
  receipts: Receipt[];
  /** Pass as `after` for the next page. */
  next?: string;
  hasMore: boolean;
}

type Listeners = { [K in keyof ClientEvents]: Set<ClientEvents[K]> };

/**
 * The device side of tidemark: enqueue edits offline (each one durable before `enqueue` resolves), push them
 * with retries that re-send the same event ids, pull changes by a persisted cursor, and run both in the
 * background. Open it with {@link TidemarkClient.open}; everything it needs to continue after a crash is in
 * its storage.
 */
export class TidemarkClient {
  private readonly listeners: Listeners = {
    change: new Set(),
    conflict: new Set(),
    conflictUpdate: new Set(),
    receipt: new Set(),
    rejected: new Set(),
    pushed: new Set(),
    error: new Set(),
    diverged: new Set(),
    tabChange: new Set(),
    upload: new Set(),
  };
  private readonly http: HttpContext;
  private pushing: Promise<PushSummary> | undefined;
  private pulling: Promise<PullSummary> | undefined;
  /** True while the pull in flight is the live loop's long-poll, which may hold for its whole wait. */
  private liveLongPoll = false;
  private readonly abort = new AbortController();
  private loop: { done: Promise<void>; stop: AbortController; wake: () => void } | undefined;
  private closed = false;
  /** With `tabs: 'auto'` in a browser: the other tabs of this device, and how to stop leading them. */
  private tabs: { coordinator: TabCoordinator; resign?: () => Promise<void> } | undefined;
  private files: ClientAssets | undefined;

  private constructor(
    private readonly options: ClientOptions,
    private readonly outbox: Outbox,
    private readonly pullState: PullState,
    private readonly tokens: TokenKeeper | undefined,
    private readonly replica: Replica | undefined,
  ) {
    const retry = { ...DEFAULT_RETRY, ...options.retry };
    this.http = {
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      headers: { ...options.headers },
      // called through a wrapper: a browser's fetch refuses to run with another `this`
      fetch: options.fetch ?? ((url, init) => globalThis.fetch(url, init)),
      sleep: options.sleep ?? defaultSleep,
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
      retry,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    };
    if (options.onChange) this.listeners.change.add(options.onChange);
    if (options.onConflict) this.listeners.conflict.add(options.onConflict);
    if (options.onConflictUpdate) this.listeners.conflictUpdate.add(options.onConflictUpdate);
    if (options.onReceipt) this.listeners.receipt.add(options.onReceipt);
    if (tokens) {
      const plain: HttpContext = { ...this.http };
      this.http.auth = {
        authorization: () => tokens.authorization(),
        refresh: (signal) =>
          tokens.refresh(async (refreshToken, s) => {
            const answer = await send(plain, 'POST', '/v1/auth/refresh', JSON.stringify({ refreshToken }), s);
            expectOk(answer, '/v1/auth/refresh');
            return answer.body as DeviceCredentials;
          }, signal),
      };
    }
    if (options.onRejected) this.listeners.rejected.add(options.onRejected);
    if (options.onPushed) this.listeners.pushed.add(options.onPushed);
    if (options.onError) this.listeners.error.add(options.onError);
    if (options.onDiverged) this.listeners.diverged.add(options.onDiverged);
    if (options.onUpload) this.listeners.upload.add(options.onUpload);
  }

  /**
   * Opens a client over its storage: a new storage gets a device id; an existing one continues its device id,
   * sequence, clock, unacknowledged events and pull cursor.
   */
  static async open(options: ClientOptions): Promise<TidemarkClient> {
    const newId = options.randomUUID ?? (() => globalThis.crypto.randomUUID());
    const coordinator = options.tabs === 'auto' ? tabCoordinatorFor(options.storage) : undefined;
    const exclusive = coordinator && (<T>(work: () => Promise<T>) => coordinator.exclusive('outbox', work));
    const tokens = await TokenKeeper.open(options.storage, options.credentials);
    if (tokens && coordinator) tokens.exclusive = (work) => coordinator.exclusive('credentials', work);
    const identity = tokens
      ? { workspace: tokens.current.workspace, deviceId: tokens.current.deviceId }
      : { workspace: options.workspace ?? 'default', ...(options.deviceId !== undefined ? { deviceId: options.deviceId } : {}) };
    const outbox = await Outbox.open(options.storage, {
      ...identity,
      wallClock: options.now ?? Date.now,
      newId,
      ...(exclusive ? { exclusive } : {}),
    });
    const pullState = await loadPullState(options.storage);
    // The replica reports to the client's listeners, and is opened before the client exists.
    const events: { client?: TidemarkClient } = {};
    const replica =
      options.replica === false
        ? undefined
        : await Replica.open(options.storage, {
            deviceId: outbox.deviceId,
            workspace: outbox.workspace,
            registry: options.replica?.schemas ? schemaRegistryOf(options.replica.schemas) : defaultRegistry,
            pending: outbox.pending().map((entry) => entry.event),
            quarantined: new Set((await outbox.quarantined()).map((q) => q.event.deviceSeq)),
            onDiverged: (divergence) => events.client?.emit('diverged', divergence),
            onError: (error) => events.client?.emit('error', error instanceof Error ? error : new Error(String(error))),
          });
    const client = new TidemarkClient(options, outbox, pullState, tokens, replica);
    events.client = client;
    if (options.assets) {
      const http = client.http;
      const files = await ClientAssets.open(
        {
          storage: options.storage,
          auth: http.auth,
          enqueue: (draft) => client.enqueue(draft),
          upload: (p) => client.emit('upload', p),
          error: (e) => client.emit('error', e),
          retry: http.retry,
          random: http.random,
          sleep: http.sleep,
          now: http.now,
          signal: client.abort.signal,
        },
        options.assets,
      );
      client.files = files;
      client.on('change', (change) => files.changed(change));
    }
    if (coordinator) client.joinTabs(coordinator);
    return client;
  }

  /** Binaries: downloads through the cache (`get`), pins, cache stats, `flush()` of waiting uploads. Needs `options.assets`. */
  get assets(): ClientAssets {
    if (!this.files) throw new Error('assets are not configured: pass `assets: { baseUrl }` (the asset-service) to TidemarkClient.open');
    return this.files;
  }

  /**
   * Attaches a file (Blob/File, or bytes) to a record field: hashed, its upload intent stored, the bytes kept in the
   * asset cache, the field set to the asset's sha256 in an outbox event; uploaded over tus in the background loop
   * (or `assets.flush()`), resuming across restarts. See {@link ClientAssets.attach}.
   */
  async attach(entity: { type: string; id: string }, field: string, file: AssetBytes, options?: AttachOptions): Promise<Attached> {
    this.checkOpen();
    return this.assets.attach(entity, field, file, options);
  }

  /** Uploads of attached files this client knows of (waiting, uploading, verified, failed), with progress. */
  uploads(): UploadProgress[] {
    return this.files?.uploads() ?? [];
  }

  get deviceId(): string {
    return this.outbox.deviceId;
  }

  get workspace(): string {
    return this.outbox.workspace;
  }

  /** The device's hybrid logical clock (stamps of its events; `observe` stamps received from elsewhere). */
  get clock(): HybridClock {
    return this.outbox.clock;
  }

  /** Highest device sequence number assigned so far. */
  get lastSeq(): number {
    return this.outbox.lastSeq;
  }

  /** The pull cursor (`undefined` before the first pull). */
  get cursor(): string | undefined {
    return this.pullState.after;
  }

  /** The version of an entity this device last pulled (0: never seen). */
  knownVersion(type: string, id: string): number {
    return this.pullState.versions[entityKey(type, id)] ?? 0;
  }

  /**
   * The read scopes this device subscribes to, as the server holds them (and whether each is still allowed), and
   * those among them the app released and keeps warm until a time (`removeScopes(…, { keepForMs })`).
   */
  async scopes(signal: AbortSignal = this.abort.signal): Promise<SubscriptionsResponse & { released: Released[] }> {
    const answer = await fetchSubscriptions(this.http, signal);
    return { ...answer, released: [...(this.pullState.released ?? [])] };
  }

  /**
   * Subscribes to read scopes (declared by the workspace's access rules; a partitioned one with its `value`), in
   * addition to those held, then pulls: the records of each new subscription arrive first (its backfill, from the
   * snapshot, resumed after a crash), then everything after by pull. A subscription released and still kept warm is
   * simply kept (nothing to backfill). Refused all or nothing (`ServerProblemError`, 403 or 400 naming each
   * subscription) when the device's role or claims do not allow one.
   */
  async addScopes(subscriptions: readonly SubscriptionRef[], signal: AbortSignal = this.abort.signal): Promise<SubscriptionsResponse> {
    const held = (await fetchSubscriptions(this.http, signal)).subscriptions;
    const answer = await replaceSubscriptions(this.http, withAdded(held, subscriptions), signal);
    const reclaimed = reclaim(this.pullState, subscriptions);
    if (queueBackfills(this.pullState, held, subscriptions).length > 0 || reclaimed) await this.options.storage.put(PULL_KEY, JSON.stringify(this.pullState));
    await this.pull(signal);
    return answer;
  }

  /**
   * Unsubscribes from read scopes, and drops from the local replica the records no subscription left covers (the
   * device's own unsettled writes stay in the outbox). Returns the server's answer and the entity keys evicted.
   *
   * With `keepForMs`, the subscriptions are released but kept warm that long (as PowerSync's TTL): the server keeps
   * them and their records stay current in the replica, so subscribing again within that time costs nothing; once
   * the time is up (checked at each pull, and by `expireScopes()`), they are unsubscribed and evicted. Nothing is
   * evicted now (`evicted` is empty and `keptUntil` says until when).
   */
  async removeScopes(
    subscriptions: readonly SubscriptionRef[],
    options: AbortSignal | { keepForMs?: number; signal?: AbortSignal } = {},
  ): Promise<SubscriptionsResponse & { evicted: string[]; keptUntil?: number }> {
    const { keepForMs, signal = this.abort.signal } = options instanceof AbortSignal ? { signal: options } : options;
    if (keepForMs !== undefined && keepForMs > 0) {
      const until = this.wallClock() + keepForMs;
      release(this.pullState, subscriptions, until);
      await this.options.storage.put(PULL_KEY, JSON.stringify(this.pullState));
      this.tabs?.coordinator.announce('pull');
      return { ...(await fetchSubscriptions(this.http, signal)), evicted: [], keptUntil: until };
    }
    return this.unsubscribe(subscriptions, signal);
  }

  /**
   * Unsubscribes the released subscriptions whose keep-warm time is up, evicting what no subscription left covers;
   * returns the entity keys evicted. Runs before each pull; call it to expire them without pulling.
   */
  async expireScopes(signal: AbortSignal = this.abort.signal): Promise<string[]> {
    const due = dueReleases(this.pullState, this.wallClock());
    if (due.length === 0) return [];
    return (await this.unsubscribe(due, signal)).evicted;
  }

  private async unsubscribe(subscriptions: readonly SubscriptionRef[], signal: AbortSignal): Promise<SubscriptionsResponse & { evicted: string[] }> {
    const held = (await fetchSubscriptions(this.http, signal)).subscriptions;
    const answer = await replaceSubscriptions(this.http, without(held, subscriptions), signal);
    const removed = held.filter((h) => !answer.subscriptions.some((s) => s.scope === h.scope && s.value === h.value));
    const evicted = this.replica?.evict(evictionOf(answer, removed)) ?? [];
    for (const key of evicted) delete this.pullState.versions[key];
    dropBackfills(this.pullState, subscriptions);
    reclaim(this.pullState, subscriptions);
    await this.replica?.flush();
    await this.options.storage.put(PULL_KEY, JSON.stringify(this.pullState));
    return { ...answer, evicted };
  }

  /** Expires released subscriptions whose time is up (a pull's first step; nothing to do, no request). */
  private async expireDue(signal: AbortSignal): Promise<void> {
    if (dueReleases(this.pullState, this.wallClock()).length > 0) await this.expireScopes(signal);
  }

  private wallClock(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Subscribes a listener; returns the function that unsubscribes it. */
  on<K extends keyof ClientEvents>(name: K, listener: ClientEvents[K]): () => void {
    this.listeners[name].add(listener);
    return () => this.listeners[name].delete(listener);
  }

  /**
   * Adds an event to the outbox: assigns its id, the next device sequence number and an HLC stamp, and stores it
   * durably before resolving. `baseVersion` defaults to the version this device last pulled. Refuses (with
   * {@link InvalidEventError}, storing nothing) an event the server could never accept.
   */
  async enqueue(draft: EventDraft): Promise<DeviceEvent> {
    return (await this.enqueueAll([draft]))[0]!;
  }

  /** Enqueues several events in order, all or none: one commit for the lot. */
  async enqueueAll(drafts: readonly EventDraft[]): Promise<DeviceEvent[]> {
    this.checkOpen();
    const events = await this.outbox.append(
      drafts.map((draft) => ({
        ...draft,
        baseVersion: draft.baseVersion ?? this.knownVersion(draft.entity.type, draft.entity.id),
        schemaVersion: draft.schemaVersion ?? this.options.schemaVersion ?? 1,
      })),
    );
    if (this.replica) {
      const waiting = new Set(this.outbox.pending().map((entry) => entry.event.eventId));
      // The events are committed: a failure to store the replica's copy must not make the enqueue look failed (the
      // copy stays dirty and the next flush writes it; the overlay shows the events meanwhile).
      await this.replica.track(events).catch((error: unknown) => this.emit('error', error instanceof Error ? error : new Error(String(error))));
      this.replica.acknowledge(events.filter((event) => !waiting.has(event.eventId)).map((event) => ({ eventId: event.eventId, status: 'accepted' })));
    }
    this.loop?.wake();
    this.tabs?.coordinator.announce('outbox');
    return events;
  }

  /** Enqueues an upsert whose every field is a `set`. */
  upsert(type: string, id: string, values: Record<string, unknown>, baseVersion?: number): Promise<DeviceEvent> {
    const fields: Record<string, FieldChange> = Object.fromEntries(Object.entries(values).map(([name, value]) => [name, { op: 'set' as const, value }]));
    return this.enqueue({ entity: { type, id }, op: 'upsert', fields, ...(baseVersion !== undefined ? { baseVersion } : {}) });
  }

  /** Enqueues a delete (a tombstone). */
  remove(type: string, id: string, baseVersion?: number): Promise<DeviceEvent> {
    return this.enqueue({ entity: { type, id }, op: 'delete', ...(baseVersion !== undefined ? { baseVersion } : {}) });
  }

  /** Enqueues a job state-machine step. */
  transition(type: string, id: string, to: JobState, attempt: number, extra: { error?: string; fields?: Record<string, FieldChange>; baseVersion?: number } = {}): Promise<DeviceEvent> {
    return this.enqueue({
      entity: { type, id },
      op: 'transition',
      job: { to, attempt, ...(extra.error !== undefined ? { error: extra.error } : {}) },
      ...(extra.fields ? { fields: extra.fields } : {}),
      ...(extra.baseVersion !== undefined ? { baseVersion: extra.baseVersion } : {}),
    });
  }

  /** Events waiting for the server's acknowledgement, oldest first. */
  pending(): DeviceEvent[] {
    return this.outbox.pending().map((entry) => entry.event);
  }

  /** Events the server refused for good (they are not re-sent). */
  quarantined(): Promise<QuarantinedEvent[]> {
    return this.outbox.quarantined();
  }

  /**
   * Deletes quarantined events (all, or those with these ids) once the application has dealt with them. Their
   * sequences will never be pushed, so the server is told first (`POST /v1/sequence/abandoned`) and operations
   * show them as abandoned instead of missing. That needs the server: when it cannot be reached (after the
   * usual retries) or refuses, this throws and nothing is deleted — call it again later. Returns how many.
   */
  async discardQuarantined(eventIds?: Iterable<string>, signal: AbortSignal = this.abort.signal): Promise<number> {
    this.checkOpen();
    const only = eventIds ? new Set(eventIds) : undefined;
    const items = (await this.outbox.quarantined()).filter((item) => !only || only.has(item.event.eventId));
    if (items.length === 0) return 0;
    const ranges = seqRanges(items.map((item) => item.event.deviceSeq));
    for (let at = 0; at < ranges.length; at += CLIENT_LIMITS.maxAbandonedRanges) {
      const body = JSON.stringify({
        ranges: ranges.slice(at, at + CLIENT_LIMITS.maxAbandonedRanges).map(([from, to]) => ({ from, to })),
        reason: 'refused by the server and discarded from the device quarantine',
      });
      const answer = (await sendWithRetry(this.http, 'POST', '/v1/sequence/abandoned', body, signal))!;
      expectOk(answer, '/v1/sequence/abandoned');
    }
    return this.outbox.discardQuarantined(items.map((item) => item.event.eventId));
  }

  /**
   * Sends the outbox (see `pushOutbox` for what each answer does). One push at a time: a call while a push
   * runs gets that push's promise. Throws {@link ServerUnavailableError} when the server stayed unreachable for
   * `retry.maxAttempts` attempts, {@link ServerProblemError} on a refusal retrying cannot fix; either way the
   * unacknowledged events stay and the next push sends them with the same ids.
   */
  push(signal: AbortSignal = this.abort.signal): Promise<PushSummary> {
    this.checkOpen();
    this.pushing ??= pushOutbox(
      this.http,
      this.outbox,
      {
        maxEvents: Math.min(this.options.maxBatchEvents ?? CLIENT_LIMITS.maxEventsPerBatch, CLIENT_LIMITS.maxEventsPerBatch),
        maxBytes: this.options.maxBatchBytes ?? CLIENT_LIMITS.maxBodyBytes,
      },
      {
        pushed: (batch) => {
          this.replica?.acknowledge(batch.results);
          this.emit('pushed', batch);
        },
        rejected: (rejection) => {
          this.replica?.refuse(rejection.events);
          this.emit('rejected', rejection);
        },
      },
      signal,
    ).finally(() => (this.pushing = undefined));
    return this.pushing;
  }

  /**
   * Pulls every change after the saved cursor, page by page, calling the `change` and `conflict` listeners, and
   * saves the cursor after each page. Delivery is at least once: a crash (or a listener that throws) before a
   * page's cursor is saved delivers that page again, so apply changes by entity `version`.
   */
  pull(signal: AbortSignal = this.abort.signal, waitSeconds?: number): Promise<PullSummary> {
    this.checkOpen();
    if (this.pulling && this.liveLongPoll && waitSeconds === undefined) {
      // Not behind the live loop's long-poll: wake the loop (which ends it quietly), then pull at once.
      this.loop?.wake();
      return this.pulling.then(
        () => this.pull(signal),
        () => this.pull(signal),
      );
    }
    const pageSize = Math.min(Math.max(this.options.pullPageSize ?? 500, 1), CLIENT_LIMITS.maxPullLimit);
    this.pulling ??= this.expireDue(signal)
      .then(() => this.outbox.quarantined())
      .then((refused) =>
        pullChanges(
          this.http,
          this.replica ? this.replica.committingAfter(this.options.storage) : this.options.storage,
          this.pullState,
          pageSize,
          {
            change: async (change) => {
              this.replica?.applyChange(change);
              for (const listener of this.listeners.change) await listener(change);
            },
            conflict: async (change) => {
              for (const listener of this.listeners.conflict) await listener(change);
            },
            conflictUpdate: async (conflict) => {
              this.replica?.applyConflict(conflict);
              for (const listener of this.listeners.conflictUpdate) await listener(conflict);
            },
            receipt: async (receipt) => {
              this.replica?.applyReceipt(receipt);
              for (const listener of this.listeners.receipt) await listener(receipt);
            },
          },
          signal,
          waitSeconds,
          new Set(refused.map((q) => q.event.deviceSeq)),
          this.options.bootstrapFromSnapshot ?? true,
        ),
      )
      .then((summary) => {
        if (summary.changes > 0 || summary.receipts > 0) this.tabs?.coordinator.announce('pull');
        return summary;
      })
      .finally(() => (this.pulling = undefined));
    return this.pulling;
  }

  /** Pushes, then pulls (so the pull already sees what the push journaled, once it is projected). */
  async sync(): Promise<{ push: PushSummary; pull: PullSummary }> {
    const push = await this.push();
    const pull = await this.pull();
    return { push, pull };
  }

  /**
   * One page of this device's write receipts, oldest sequence first: `GET /v1/receipts?deviceId=<id>` with
   * `after` (a previous page's `next`) and `limit` when given. Throws {@link ServerProblemError} with status
   * 404 when the gateway has no receipts route.
   */
  async receipts(query: { after?: string; limit?: number } = {}): Promise<ReceiptsPage> {
    this.checkOpen();
    const params = new URLSearchParams({ deviceId: this.deviceId, ...(query.after !== undefined ? { after: query.after } : {}), ...(query.limit !== undefined ? { limit: String(query.limit) } : {}) });
    const answer = (await sendWithRetry(this.http, 'GET', `/v1/receipts?${params.toString()}`, undefined, this.abort.signal))!;
    expectOk(answer, '/v1/receipts');
    return answer.body as ReceiptsPage;
  }

  /** Every receipt of this device (all pages). */
  async allReceipts(): Promise<Receipt[]> {
    const all: Receipt[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.receipts({ ...(after !== undefined ? { after } : {}), limit: 500 });
      all.push(...page.receipts);
      if (!page.hasMore || page.next === undefined) return all;
      after = page.next;
    }
  }

  /**
   * Runs `sync()` in the background every `intervalMs` (default 5 000), and at once after each enqueue. A failed
   * sync is reported to `error` listeners and tried again after a backoff that grows with each failure in a row
   * (`retry` policy, up to `retry.maxDelayMs`). Calling `start` on a running loop does nothing.
   */
  start(options: { intervalMs?: number; live?: boolean; waitSeconds?: number } = {}): void {
    this.checkOpen();
    if (this.tabs) {
      // Several tabs: the loop runs in the one holding the leader lock, which re-reads what the others wrote first.
      const tabs = this.tabs;
      tabs.resign ??= tabs.coordinator.lead(
        {
          acquired: async () => {
            await this.reloadShared();
            this.runLoop(options);
          },
          released: () => this.stopLoop(),
        },
        (error) => this.emit('error', error),
      );
      return;
    }
    this.runLoop(options);
  }

  private runLoop(options: { intervalMs?: number; live?: boolean; waitSeconds?: number }): void {
    if (this.loop || this.closed) return;
    const intervalMs = options.intervalMs ?? 5_000;
    const waitSeconds = Math.min(Math.max(options.waitSeconds ?? 25, 1), CLIENT_LIMITS.maxWaitSeconds);
    const stop = new AbortController();
    const signal = AbortSignal.any([this.abort.signal, stop.signal]);
    const pause = new Pause();
    const done = (async () => {
      let failures = 0;
      while (!signal.aborted) {
        pause.reset();
        try {
          await this.push(signal);
          await this.pull(signal);
          failures = 0;
        } catch (error) {
          if (signal.aborted) break;
          failures++;
          this.emit('error', error instanceof Error ? error : new Error(String(error)));
        }
        if (options.live && failures === 0 && !pause.isWoken()) {
          // Live: a long-poll holds until a change arrives (delivered as a pull) or an enqueue wakes the loop.
          const woken = new AbortController();
          const unhook = pause.onWake(() => woken.abort(new Error('woken')));
          try {
            const polling = this.pull(AbortSignal.any([signal, woken.signal]), waitSeconds);
            this.liveLongPoll = true;
            await polling;
          } catch (error) {
            if (!signal.aborted && !woken.signal.aborted) {
              failures++;
              this.emit('error', error instanceof Error ? error : new Error(String(error)));
            }
          } finally {
            this.liveLongPoll = false;
            unhook();
          }
          if (failures === 0) continue;
        }
        await pause.wait(failures === 0 ? intervalMs : backoffDelay(failures, this.http.retry, this.http.random), signal);
      }
    })();
    this.loop = { done, stop, wake: () => pause.wake() };
    this.files?.start();
  }

  /** Stops the background loop and waits for it; a request it has in flight is abandoned (nothing is lost). */
  async stop(): Promise<void> {
    const resign = this.tabs?.resign;
    if (this.tabs) this.tabs.resign = undefined;
    await resign?.(); // gives the leader lock up: another tab's client that was started takes over
    await this.stopLoop();
  }

  private async stopLoop(): Promise<void> {
    await this.files?.stop();
    const loop = this.loop;
    if (!loop) return;
    this.loop = undefined;
    loop.stop.abort(new Error('sync loop stopped'));
    await loop.done;
  }

  /** Stops the loop, abandons requests in flight and closes the storage. The client cannot be used after. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.stop();
    this.closed = true;
    this.abort.abort(new Error('client closed'));
    await Promise.allSettled([this.pushing, this.pulling]);
    await this.replica?.flush().catch(() => undefined);
    await this.files?.close();
    this.tabs?.coordinator.close();
    await this.options.storage.close?.();
  }

  /** Listens to the other tabs of this device: re-reads what they changed, and wakes the loop for their events. */
  private joinTabs(coordinator: TabCoordinator): void {
    this.tabs = { coordinator };
    const announce = () => coordinator.announce('outbox');
    this.listeners.pushed.add(announce);
    this.listeners.rejected.add(announce);
    coordinator.onNews((news) => {
      const reread = (news === 'outbox' ? this.outbox.refresh() : loadPullState(this.options.storage).then((state) => void Object.assign(this.pullState, state))).then(() =>
        // what the leader pulled is taken in by the tabs that do not pull; the leader's records are its own
        this.replica?.refresh(() => this.outbox.refresh().then(() => this.pending()), { records: !coordinator.isLeader }),
      );
      reread.then(
        () => {
          if (news === 'outbox') this.loop?.wake();
          this.emit('tabChange', news);
        },
        (error: unknown) => this.emit('error', error instanceof Error ? error : new Error(String(error))),
      );
    });
  }

  /** What other tabs may have written while this one was not syncing: their events, the pull state, rotated tokens. */
  private async reloadShared(): Promise<void> {
    await this.outbox.refresh();
    Object.assign(this.pullState, await loadPullState(this.options.storage));
    await this.replica?.refresh(() => this.outbox.refresh().then(() => this.pending()), { records: true });
    await this.tokens?.reload();
  }

  // ── local replica ──────────────────────────────────────────────────────────────────────────────────

  /**
   * One entity as this device sees it: the server's state with this device's writes not yet shown by it merged
   * over (by the server's merge rules), its sync status and open conflicts. Undefined for an entity the device
   * never pulled nor wrote. Synchronous: a map lookup.
   */
  get(type: string, id: string): EntityRead | undefined {
    return this.replicaOrThrow().get(type, id);
  }

  /** Entities of one type matching `where`, ordered by `orderBy`, at most `limit` (see {@link ReplicaQuery}). */
  query(query: ReplicaQuery): EntityRead[] {
    return this.replicaOrThrow().query(query);
  }

  /**
   * A live answer to a query or for one entity: `current()` and `subscribe(listener)`, the same object while the
   * answer does not change (what `useSyncExternalStore` needs; the React hooks of `@tidemark/client/react` use it).
   */
  live(target: EntityRef): LiveView<EntityRead | undefined>;
  live(target: ReplicaQuery): LiveView<EntityRead[]>;
  live(target: ReplicaQuery | EntityRef): LiveView<EntityRead | undefined> | LiveView<EntityRead[]> {
    return this.replicaOrThrow().live(target);
  }

  /**
   * Calls `listener` with the new answer each time the answer to `target` (a query, or `{ type, id }`) changes — by
   * a pull, a local write, an acknowledgement or a receipt; never when it stays the same. Returns the unsubscribe.
   */
  subscribe(target: EntityRef, listener: (entity: EntityRead | undefined) => void): () => void;
  subscribe(target: ReplicaQuery, listener: (entities: EntityRead[]) => void): () => void;
  subscribe(target: ReplicaQuery | EntityRef, listener: ((entity: EntityRead | undefined) => void) | ((entities: EntityRead[]) => void)): () => void {
    const view = this.replicaOrThrow().live(target) as LiveView<unknown>;
    return view.subscribe(listener as (value: unknown) => void);
  }

  /**
   * Resolves an open conflict (`POST /v1/conflicts/{id}/resolve`): `ours` keeps the stored value, `theirs` takes the
   * incoming one, `value` sets `value`. The gateway journals it as this device's resolver (`resolver:<deviceId>`);
   * it needs the server (retried like a push, same event id; `ServerUnavailableError` / `ServerProblemError` when
   * it cannot be done — 409 when the conflict is already resolved). Once journaled, the replica shows the
   * resolution until the pull brings the server's state.
   */
  async resolve(conflictId: string, pick: 'ours' | 'theirs' | 'value', value?: unknown, signal: AbortSignal = this.abort.signal): Promise<Resolution> {
    this.checkOpen();
    const eventId = (this.options.randomUUID ?? (() => globalThis.crypto.randomUUID()))();
    const hlc = this.clock.now();
    const body = JSON.stringify({ pick, ...(value !== undefined ? { value } : {}), eventId, hlc });
    const path = `/v1/conflicts/${encodeURIComponent(conflictId)}/resolve`;
    const answer = (await sendWithRetry(this.http, 'POST', path, body, signal))!;
    expectOk(answer, path);
    const conflict = this.replica?.conflict(conflictId);
    if (this.replica && conflict) {
      const synced = this.get(conflict.entity.type, conflict.entity.id);
      await this.replica.addResolution(
        {
          eventId,
          deviceId: `resolver:${this.deviceId}`,
          deviceSeq: 1,
          hlc,
          entity: { type: conflict.entity.type, id: conflict.entity.id },
          op: 'resolve',
          baseVersion: synced?.version ?? 0,
          resolution: { conflictId, pick, ...(value !== undefined ? { value } : {}) },
          schemaVersion: this.replica.schemaVersionOf(conflict.entity.type) ?? this.options.schemaVersion ?? 1,
        },
        this.lastSeq,
      );
    }
    return answer.body as Resolution;
  }

  private replicaOrThrow(): Replica {
    if (!this.replica) throw new Error('this client was opened with replica: false; it keeps no local replica');
    return this.replica;
  }

  private emit<K extends 'rejected' | 'pushed' | 'error' | 'diverged' | 'tabChange' | 'upload'>(name: K, value: Parameters<ClientEvents[K]>[0]): void {
    for (const listener of this.listeners[name]) {
      try {
        (listener as (v: typeof value) => void)(value);
      } catch (error) {
        if (name !== 'error') this.emit('error', error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('the client is closed');
  }
}

/** A coordinator of the tabs sharing `storage` (named by the storage), or none outside a browser. */
function tabCoordinatorFor(storage: Storage): TabCoordinator | undefined {
  if (!TabCoordinator.available()) {
    // A browser without Web Locks (a page on plain http other than localhost: they exist in secure contexts only)
    // would let two tabs hand out one sequence number: refuse rather than share unsafely.
    if ((globalThis as { indexedDB?: unknown }).indexedDB !== undefined)
      throw new Error("tabs: 'auto' needs Web Locks (navigator.locks) and BroadcastChannel, which this page lacks: Web Locks exist only in secure contexts (https, localhost)");
    return undefined;
  }
  if (typeof storage.name !== 'string' || storage.name === '') throw new TypeError("tabs: 'auto' needs a storage with a name shared by the tabs (IndexedDbStorage)");
  return TabCoordinator.detect(storage.name);
}

/** The background loop's wait: ends after its time, when woken (an enqueue) or when the loop stops. */
class Pause {
  private woken = false;
  private end: (() => void) | undefined;

  private readonly hooks = new Set<() => void>();

  reset(): void {
    this.woken = false;
  }

  isWoken(): boolean {
    return this.woken;
  }

  /** Calls `hook` on the next wake; returns the function that removes it. */
  onWake(hook: () => void): () => void {
    this.hooks.add(hook);
    return () => this.hooks.delete(hook);
  }

  wake(): void {
    this.woken = true;
    this.end?.();
    for (const hook of this.hooks) hook();
  }

  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.woken || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', finish);
        this.end = undefined;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.end = finish;
      signal.addEventListener('abort', finish, { once: true });
    });
  }
}

/** Sorted, merged inclusive ranges of a set of sequence numbers. */
function seqRanges(seqs: readonly number[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const seq of [...new Set(seqs)].sort((a, b) => a - b)) {
    const last = ranges.at(-1);
    if (last && seq === last[1] + 1) last[1] = seq;
    else ranges.push([seq, seq]);
  }
  return ranges;
}
