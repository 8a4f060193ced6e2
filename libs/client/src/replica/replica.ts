import type { Change, ConflictView, DeviceEvent, EntityRef, Receipt } from '@tidemark/contracts';
import { canonicalJson } from '@tidemark/contracts/core';
import { latestSchema, type PolicyName, type SchemaRegistry } from '@tidemark/merge';
import { StorageFormatError } from '../errors';
import { parseRecord } from '../storage/records';
import type { Storage } from '../storage/storage';
import { ENTITY_PREFIX, entityStorageKey, RESOLUTION_PREFIX, resolutionStorageKey, WRITE_PREFIX, writeStorageKey } from './keys';
import { liveView, type LiveView } from './live';
import { overlay } from './overlay';
import { runQuery, queryKey, type EntityRead, type ReplicaQuery, type SyncStatus } from './query';
import { absorbChange, absorbConflict, emptyRecord, type EntityRecord, type PolicyOf } from './record';

/** The server settled some of this device's writes differently from what the device showed. */
export interface Divergence {
  /** The entity as it is now (undefined: it no longer exists, e.g. a create the server refused). */
  entity: EntityRead | undefined;
  /** What the device showed before. */
  previous: EntityRead;
  /**
   * Fields the settled writes touched whose value or conflict state is not what the device showed (`$deleted` for
   * the deleted flag, `$job` for the job state, `$entity` for a delete conflict).
   */
  fields: string[];
  /** `merged`: the server merged them differently (a later write won, a conflict opened, …); `rejected`: it refused them. */
  reason: 'merged' | 'rejected';
}

/** Receipt statuses of an event that changed the entity (the others leave it as it was). */
const ACCEPTED = new Set(['applied', 'merged', 'conflicted']);

interface Unsettled {
  event: DeviceEvent;
  kind: 'write' | 'resolution';
  /** Position among the entity's unsettled events: the device sequence (a resolution: the sequence it followed + 0.5). */
  order: number;
  /** The server journaled it (a resolution always is). */
  acked: boolean;
  receipt?: { status: string; version: number | null };
}

interface Slot {
  record: EntityRecord;
  key: string;
  unsettled: Unsettled[];
  read: EntityRead | undefined;
  divergence?: { previous: EntityRead; fields: Set<string>; reason: Divergence['reason'] };
}

interface StoredWrite {
  v: 1;
  event: DeviceEvent;
  receipt?: { status: string; version: number | null };
}

interface StoredResolution {
  v: 1;
  event: DeviceEvent;
  order: number;
}

export interface ReplicaOptions {
  deviceId: string;
  workspace: string;
  registry: SchemaRegistry;
  /** Events of the outbox (not acknowledged yet), oldest first. */
  pending: readonly DeviceEvent[];
  /** Device sequences in quarantine (refused for good). */
  quarantined: ReadonlySet<number>;
  onDiverged(divergence: Divergence): void;
  onError(error: unknown): void;
}

/** Reads of this many records at a time while opening. */
const OPEN_CONCURRENCY = 64;

async function readAll<T>(storage: Storage, prefix: string): Promise<{ key: string; value: T }[]> {
  const keys = await storage.list(prefix);
  const out: { key: string; value: T }[] = [];
  for (let at = 0; at < keys.length; at += OPEN_CONCURRENCY) {
    const chunk = keys.slice(at, at + OPEN_CONCURRENCY);
    const texts = await Promise.all(chunk.map((key) => storage.get(key)));
    chunk.forEach((key, i) => {
      const value = parseRecord<T>(texts[i], key);
      if (value !== undefined) out.push({ key, value });
    });
  }
  return out;
}

/** The fields an event touches, as a divergence names them. */
function touched(event: DeviceEvent): string[] {
  switch (event.op) {
    case 'upsert':
      return ['$deleted', ...Object.keys(event.fields ?? {})];
    case 'delete':
      return ['$deleted'];
    case 'transition':
      return ['$job', ...Object.keys(event.fields ?? {})];
    case 'resolve': {
      const id = event.resolution?.conflictId ?? '';
      const field = id.slice(id.lastIndexOf(':') + 1);
      return field === '$entity' ? ['$entity', '$deleted'] : [field];
    }
    default:
      return [];
  }
}

function differs(previous: EntityRead, next: EntityRead | undefined, field: string): boolean {
  switch (field) {
    case '$deleted':
      return previous.deleted !== (next?.deleted ?? true);
    case '$job':
      return canonicalJson(previous.job ?? null) !== canonicalJson(next?.job ?? null);
    default:
      return canonicalJson(previous.values[field] ?? null) !== canonicalJson(next?.values[field] ?? null) || previous.inConflict.includes(field) !== (next?.inConflict.includes(field) ?? false);
  }
}

/**
 * The device's local replica: the synced state of every entity it pulled (stored as `replica/e/<type>/<id>`), this
 * device's writes the server's state does not show yet (`replica/w/<seq>`, written at enqueue, so they survive the
 * outbox forgetting them when the server acknowledges them) and journaled resolutions (`replica/r/<eventId>`).
 *
 * Everything is held in memory, indexed by type then id, and loaded at open: a read is a map lookup, a query one
 * pass over its type. Each entity's read (synced state with unsettled writes merged over it) is computed when the
 * entity changes and kept, with a stable identity while it does not change, which is also how subscriptions know
 * whether an answer changed.
 *
 * Writes to storage are gathered and flushed together: by the pull before it commits a page's cursor (so the
 * cursor never passes a change the replica has not stored), by an enqueue before it returns.
 */
export class Replica {
  private readonly types = new Map<string, Map<string, Slot>>();
  private readonly keysInUse = new Set<string>();
  private readonly byEventId = new Map<string, Slot>();
  /** Open conflicts by id → the entity holding them. */
  private readonly conflicts = new Map<string, Slot>();
  private readonly generations = new Map<string, number>();
  /** Per type, its reads as an array and the generation they are of. */
  private readonly readCache = new Map<string, { generation: number; reads: EntityRead[] }>();
  private readonly watchers = new Map<string, Set<() => void>>();
  private readonly changed = new Set<Slot>();
  private readonly dirtySlots = new Set<Slot>();
  private readonly dirtyKeys = new Map<string, string | null>();
  /** Keys a flush has taken but not yet written (how many flushes hold each): not yet in storage, not gone from it. */
  private readonly queued = new Map<string, number>();
  /** A refresh asked for and not started yet: later asks join it (it reads what they would). */
  private refreshing: Promise<void> | undefined;
  private refreshRecords = false;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly policyOf: PolicyOf;

  private constructor(
    private readonly storage: Storage,
    private readonly options: ReplicaOptions,
  ) {
    const fieldsOf = new Map<string, Record<string, { policy: PolicyName }> | undefined>();
    this.policyOf = (type, field) => {
      if (!fieldsOf.has(type)) fieldsOf.set(type, latestSchema(options.registry, type)?.fields);
      const fields = fieldsOf.get(type);
      return fields && Object.prototype.hasOwnProperty.call(fields, field) ? fields[field]!.policy : undefined;
    };
  }

  static async open(storage: Storage, options: ReplicaOptions): Promise<Replica> {
    const replica = new Replica(storage, options);
    for (const { key, value } of await readAll<EntityRecord>(storage, ENTITY_PREFIX)) {
      if (value.v !== 1) throw new StorageFormatError(`${key} has version ${String(value.v)}; this client reads version 1`);
      const slot = replica.slot(value.type, value.id, key);
      slot.record = value;
      for (const conflict of value.conflicts) replica.conflicts.set(conflict.id, slot);
    }
    const pending = new Map(options.pending.map((event) => [event.deviceSeq, event]));
    for (const { key, value } of await readAll<StoredWrite>(storage, WRITE_PREFIX)) {
      const seq = value.event.deviceSeq;
      if (options.quarantined.has(seq)) {
        await storage.delete(key);
        continue;
      }
      replica.addUnsettled({ event: value.event, kind: 'write', order: seq, acked: !pending.has(seq), ...(value.receipt ? { receipt: value.receipt } : {}) });
      pending.delete(seq);
    }
    // Outbox events with no record of their own (written by a client without the replica, or a crash between the
    // outbox's commit and the replica's write).
    for (const event of pending.values()) {
      replica.addUnsettled({ event, kind: 'write', order: event.deviceSeq, acked: false });
      replica.dirtyKeys.set(writeStorageKey(event.deviceSeq), JSON.stringify({ v: 1, event } satisfies StoredWrite));
    }
    for (const { value } of await readAll<StoredResolution>(storage, RESOLUTION_PREFIX)) {
      replica.addUnsettled({ event: value.event, kind: 'resolution', order: value.order, acked: true });
    }
    for (const slots of replica.types.values()) {
      for (const slot of [...slots.values()]) {
        replica.settle(slot);
        slot.read = replica.buildRead(slot);
        if (!slot.read && slot.unsettled.length === 0 && !slot.record.synced && slot.record.conflicts.length === 0) {
          slots.delete(slot.record.id);
          replica.keysInUse.delete(slot.key);
        }
      }
    }
    replica.changed.clear();
    await replica.flush();
    return replica;
  }

  // ── reads ──────────────────────────────────────────────────────────────────────────────────────────

  get(type: string, id: string): EntityRead | undefined {
    return this.types.get(type)?.get(id)?.read;
  }

  query(query: ReplicaQuery): EntityRead[] {
    const slots = this.types.get(query.type);
    if (!slots) return [];
    return runQuery(this.readsOf(query.type, slots), query);
  }

  /** Entities held, per type (for the memory estimate and tests). */
  count(type?: string): number {
    if (type !== undefined) return this.types.get(type)?.size ?? 0;
    let n = 0;
    for (const slots of this.types.values()) n += slots.size;
    return n;
  }

  live(target: ReplicaQuery | EntityRef): LiveView<EntityRead | undefined> | LiveView<EntityRead[]> {
    const type = target.type;
    const common = {
      generation: () => this.generations.get(type) ?? 0,
      watch: (changed: () => void) => {
        const set = this.watchers.get(type) ?? new Set();
        set.add(changed);
        this.watchers.set(type, set);
        return () => {
          set.delete(changed);
          if (set.size === 0) this.watchers.delete(type);
        };
      },
    };
    if ('id' in target) {
      const { id } = target;
      return liveView<EntityRead | undefined>({ ...common, compute: () => this.get(type, id), same: (a, b) => a === b }, this.options.onError);
    }
    const query = JSON.parse(queryKey(target)) as ReplicaQuery;
    return liveView<EntityRead[]>({ ...common, compute: () => this.query(query), same: (a, b) => a.length === b.length && a.every((read, i) => read === b[i]) }, this.options.onError);
  }

  // ── what happens to the device and what it pulls ───────────────────────────────────────────────────

  /** This device enqueued events (durable in the outbox): they show at once, and are kept until the server's state shows them. */
  async track(events: readonly DeviceEvent[]): Promise<void> {
    for (const event of events) {
      const slot = this.addUnsettled({ event, kind: 'write', order: event.deviceSeq, acked: false });
      this.changed.add(slot);
      this.dirtyKeys.set(writeStorageKey(event.deviceSeq), JSON.stringify({ v: 1, event } satisfies StoredWrite));
    }
    await this.flush();
  }

  /** The server answered a push: accepted and duplicate events are journaled (`acknowledged`). */
  acknowledge(results: readonly { eventId: string; status: string }[]): void {
    for (const result of results) {
      if (result.status !== 'accepted' && result.status !== 'duplicate') continue;
      const slot = this.byEventId.get(result.eventId);
      const item = slot?.unsettled.find((u) => u.event.eventId === result.eventId);
      if (!slot || !item || item.acked) continue;
      item.acked = true;
      this.changed.add(slot);
    }
    this.notify();
  }

  /** The server refused events for good (they went to quarantine): they no longer show. */
  refuse(events: readonly DeviceEvent[]): void {
    for (const event of events) {
      const slot = this.byEventId.get(event.eventId);
      const item = slot?.unsettled.find((u) => u.event.eventId === event.eventId);
      if (slot && item) this.drop(slot, [item], 'rejected');
    }
    this.flush().catch((error: unknown) => this.options.onError(error));
  }

  /** A pulled change (or snapshot entry: the entity's latest change). Stored with the page; subscribers hear at the page's end. */
  applyChange(change: Change): void {
    const slot = this.slot(change.entity.type, change.entity.id);
    if (change.outOfScope) {
      this.evictSlot(slot);
      return;
    }
    this.watchDivergence(slot);
    const record = absorbChange(slot.record, change, this.policyOf);
    if (record !== slot.record) {
      slot.record = record;
      this.dirtySlots.add(slot);
      this.changed.add(slot);
    }
    // The change of one of this device's events: that event and every earlier one on the entity are settled (one
    // entity's events of one device are merged in device order).
    const own = slot.unsettled.find((u) => u.event.eventId === change.eventId);
    if (own)
      this.drop(
        slot,
        slot.unsettled.filter((u) => u === own || (own.kind === 'write' && u.kind === 'write' && u.order <= own.order)),
        'merged',
      );
    this.settle(slot);
  }

  /**
   * Drops what the server sent of every record `which` names (by type and partition): the device unsubscribed from
   * it. Returns the entity keys (`type/id`) evicted. Stored with the next flush; subscribers hear at once.
   */
  evict(which: (type: string, partition: string | undefined) => boolean): string[] {
    const evicted: string[] = [];
    for (const slots of this.types.values()) {
      for (const slot of slots.values()) {
        const synced = slot.record.synced;
        if (!synced || !which(slot.record.type, synced.partition)) continue;
        this.evictSlot(slot);
        evicted.push(`${slot.record.type}/${slot.record.id}`);
      }
    }
    if (evicted.length > 0) this.flush().catch((error: unknown) => this.options.onError(error));
    return evicted;
  }

  private evictSlot(slot: Slot): void {
    if (!slot.record.synced && slot.record.conflicts.length === 0) return;
    for (const conflict of slot.record.conflicts) this.conflicts.delete(conflict.id);
    // Nothing the server sent is kept, so it disappears from queries; the device's own unsettled writes stay.
    slot.record = emptyRecord(slot.record.type, slot.record.id);
    this.dirtySlots.add(slot);
    this.changed.add(slot);
    this.settle(slot);
  }

  /** A pulled conflict update (opened or resolved). */
  applyConflict(conflict: ConflictView): void {
    const slot = this.slot(conflict.entity.type, conflict.entity.id);
    this.watchDivergence(slot);
    const record = absorbConflict(slot.record, conflict);
    if (conflict.status === 'open') this.conflicts.set(conflict.id, slot);
    else this.conflicts.delete(conflict.id);
    if (record !== slot.record) {
      slot.record = record;
      this.dirtySlots.add(slot);
      this.changed.add(slot);
    }
    this.settle(slot);
  }

  /** One of this device's receipts. */
  applyReceipt(receipt: Receipt): void {
    const slot = this.byEventId.get(receipt.eventId);
    const item = slot?.unsettled.find((u) => u.event.eventId === receipt.eventId);
    if (!slot || !item) return;
    item.receipt = { status: receipt.status, version: receipt.version };
    item.acked = true;
    this.changed.add(slot);
    if (!this.settle(slot).includes(item)) this.dirtyKeys.set(writeStorageKey(item.event.deviceSeq), JSON.stringify({ v: 1, event: item.event, receipt: item.receipt } satisfies StoredWrite));
  }

  /** A resolution this device journaled (`POST /v1/conflicts/{id}/resolve` answered): it shows until it is pulled. */
  async addResolution(event: DeviceEvent, after: number): Promise<void> {
    const slot = this.addUnsettled({ event, kind: 'resolution', order: after + 0.5, acked: true });
    this.changed.add(slot);
    this.dirtyKeys.set(resolutionStorageKey(event.eventId), JSON.stringify({ v: 1, event, order: after + 0.5 } satisfies StoredResolution));
    await this.flush();
  }

  /**
   * Another tab of this device changed the shared storage: takes in its writes and resolutions (and the
   * acknowledgements its pushes brought), drops what it settled, and — with `records`, for a tab that does not pull
   * itself — the entity records its pulls stored. Runs after this replica's own flushes; what this tab added
   * meanwhile is left alone. `pending` re-reads the outbox; it is called after the writes are read, so every write
   * read is in the outbox then unless it was acknowledged (an enqueue appends to the outbox before the replica).
   */
  refresh(pending: () => Promise<readonly DeviceEvent[]>, options: { records: boolean }): Promise<void> {
    this.refreshRecords ||= options.records;
    if (this.refreshing) return this.refreshing;
    const work = async () => {
      const withRecords = this.refreshRecords;
      this.refreshing = undefined;
      this.refreshRecords = false;
      const before = new Map(this.byEventId);
      const [records, writes, resolutions] = await Promise.all([
        withRecords ? readAll<EntityRecord>(this.storage, ENTITY_PREFIX) : Promise.resolve([]),
        readAll<StoredWrite>(this.storage, WRITE_PREFIX),
        readAll<StoredResolution>(this.storage, RESOLUTION_PREFIX),
      ]);
      const touched = new Set<Slot>();
      for (const { key, value } of records) {
        if (value.v !== 1) throw new StorageFormatError(`${key} has version ${String(value.v)}; this client reads version 1`);
        const slot = this.slot(value.type, value.id, this.types.get(value.type)?.has(value.id) ? undefined : key);
        if (this.dirtySlots.has(slot) || JSON.stringify(slot.record) === JSON.stringify(value)) continue;
        this.watchDivergence(slot);
        for (const conflict of slot.record.conflicts) this.conflicts.delete(conflict.id);
        slot.record = value;
        for (const conflict of value.conflicts) this.conflicts.set(conflict.id, slot);
        touched.add(slot);
      }
      const waiting = new Set((await pending()).map((event) => event.deviceSeq));
      const stored = new Set<string>();
      for (const { value } of writes) {
        const { event } = value;
        stored.add(event.eventId);
        const acked = !waiting.has(event.deviceSeq) || value.receipt !== undefined;
        const slot = this.byEventId.get(event.eventId);
        const item = slot?.unsettled.find((u) => u.event.eventId === event.eventId);
        if (!slot || !item) {
          touched.add(this.addUnsettled({ event, kind: 'write', order: event.deviceSeq, acked, ...(value.receipt ? { receipt: value.receipt } : {}) }));
        } else if ((acked && !item.acked) || (value.receipt && !item.receipt)) {
          item.acked ||= acked;
          if (value.receipt) item.receipt = value.receipt;
          touched.add(slot);
        }
      }
      for (const { value } of resolutions) {
        stored.add(value.event.eventId);
        if (!this.byEventId.has(value.event.eventId)) touched.add(this.addUnsettled({ event: value.event, kind: 'resolution', order: value.order, acked: true }));
      }
      // What was here before and is gone from storage now, another tab settled (or the server refused).
      for (const [eventId, slot] of before) {
        const item = slot.unsettled.find((u) => u.event.eventId === eventId);
        if (!item || stored.has(eventId)) continue;
        const key = item.kind === 'write' ? writeStorageKey(item.event.deviceSeq) : resolutionStorageKey(eventId);
        if (this.dirtyKeys.has(key) || this.queued.has(key)) continue;
        this.drop(slot, [item], 'merged');
        this.dirtyKeys.delete(key);
      }
      for (const slot of touched) {
        this.changed.add(slot);
        this.settle(slot);
      }
    };
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    this.refreshing = run.then(() => this.flush());
    return this.refreshing;
  }

  /** The open conflict with this id, wherever it is. */
  conflict(conflictId: string): ConflictView | undefined {
    return this.conflicts.get(conflictId)?.record.conflicts.find((c) => c.id === conflictId);
  }

  /** The schema version a resolution of an entity of this type is merged under (the latest the client knows). */
  schemaVersionOf(type: string): number | undefined {
    return latestSchema(this.options.registry, type)?.version;
  }

  /**
   * Tells subscribers what changed, then stores what is dirty (records, writes, resolutions). Flushes run one after
   * another; a failed one puts its work back, so the next flush tries it again.
   */
  flush(): Promise<void> {
    this.notify();
    const slots = [...this.dirtySlots];
    const keys = new Map(this.dirtyKeys);
    this.dirtySlots.clear();
    this.dirtyKeys.clear();
    if (slots.length === 0 && keys.size === 0) return this.tail.then(() => undefined);
    for (const key of keys.keys()) this.queued.set(key, (this.queued.get(key) ?? 0) + 1);
    const work = async () => {
      try {
        await Promise.all([
          ...slots.map((slot) => (slot.record.synced || slot.record.conflicts.length > 0 ? this.storage.put(slot.key, JSON.stringify(slot.record)) : this.storage.delete(slot.key))),
          ...[...keys].map(([key, value]) => (value === null ? this.storage.delete(key) : this.storage.put(key, value))),
        ]);
      } catch (error) {
        for (const slot of slots) this.dirtySlots.add(slot);
        for (const [key, value] of keys) if (!this.dirtyKeys.has(key)) this.dirtyKeys.set(key, value);
        throw error;
      } finally {
        for (const key of keys.keys()) {
          const left = (this.queued.get(key) ?? 1) - 1;
          if (left > 0) this.queued.set(key, left);
          else this.queued.delete(key);
        }
      }
    };
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * A storage whose `put` first flushes the replica: handed to the pull, whose only put is the cursor record, so a
   * page's cursor is stored after (never before) what the replica took from that page.
   */
  committingAfter(storage: Storage): Storage {
    return {
      get: (key) => storage.get(key),
      put: async (key, value) => {
        await this.flush();
        await storage.put(key, value);
      },
      delete: (key) => storage.delete(key),
      list: (prefix) => storage.list(prefix),
    };
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────────────────

  /** The reads of a type as an array, rebuilt only when the type's generation moved. */
  private readsOf(type: string, slots: Map<string, Slot>): readonly EntityRead[] {
    const generation = this.generations.get(type) ?? 0;
    const cached = this.readCache.get(type);
    if (cached && cached.generation === generation) return cached.reads;
    const reads: EntityRead[] = [];
    for (const slot of slots.values()) if (slot.read) reads.push(slot.read);
    this.readCache.set(type, { generation, reads });
    return reads;
  }

  private slot(type: string, id: string, key?: string): Slot {
    let slots = this.types.get(type);
    if (!slots) {
      slots = new Map();
      this.types.set(type, slots);
    }
    let slot = slots.get(id);
    if (!slot) {
      const assigned = key ?? entityStorageKey(type, id, (k) => this.keysInUse.has(k));
      this.keysInUse.add(assigned);
      slot = { record: emptyRecord(type, id), key: assigned, unsettled: [], read: undefined };
      slots.set(id, slot);
    }
    return slot;
  }

  private addUnsettled(item: Unsettled): Slot {
    const slot = this.slot(item.event.entity.type, item.event.entity.id);
    if (slot.unsettled.some((u) => u.event.eventId === item.event.eventId)) return slot;
    slot.unsettled.push(item);
    slot.unsettled.sort((a, b) => a.order - b.order);
    this.byEventId.set(item.event.eventId, slot);
    return slot;
  }

  /**
   * Before the synced state moves under writes still unsettled (a pulled change or conflict): remembers what the
   * device shows for the fields they touch, so a change that overturns them (a later write won, a conflict opened
   * on them) is reported as `diverged` at the next notify. Fields whose shown value did not change are not reported.
   */
  private watchDivergence(slot: Slot): void {
    if (!slot.read) return;
    const writes = slot.unsettled.filter((u) => u.kind === 'write');
    if (writes.length === 0) return;
    slot.divergence ??= { previous: slot.read, fields: new Set(), reason: 'merged' };
    for (const item of writes) for (const field of touched(item.event)) slot.divergence.fields.add(field);
  }

  /** Drops events the server's state now shows (or refused), remembering what the device showed for the divergence check. */
  private drop(slot: Slot, items: readonly Unsettled[], reason: Divergence['reason']): void {
    if (items.length === 0) return;
    if (slot.read) {
      slot.divergence ??= { previous: slot.read, fields: new Set(), reason };
      if (reason === 'rejected') slot.divergence.reason = 'rejected';
      for (const item of items) for (const field of touched(item.event)) slot.divergence.fields.add(field);
    }
    slot.unsettled = slot.unsettled.filter((u) => !items.includes(u));
    for (const item of items) {
      this.byEventId.delete(item.event.eventId);
      this.dirtyKeys.set(item.kind === 'write' ? writeStorageKey(item.event.deviceSeq) : resolutionStorageKey(item.event.eventId), null);
    }
    this.changed.add(slot);
  }

  /**
   * Drops what the synced state shows: writes whose receipt says they changed the entity at a version the synced
   * state has reached, writes whose receipt says they changed nothing, resolutions of conflicts no longer open.
   */
  private settle(slot: Slot): Unsettled[] {
    const version = slot.record.synced?.version ?? 0;
    const open = new Set(slot.record.conflicts.map((c) => c.id));
    const done = slot.unsettled.filter((u) => {
      if (u.kind === 'resolution') return !open.has(u.event.resolution?.conflictId ?? '');
      if (!u.receipt) return false;
      return !ACCEPTED.has(u.receipt.status) || (u.receipt.version !== null && version >= u.receipt.version);
    });
    this.drop(slot, done, 'merged');
    return done;
  }

  private status(slot: Slot, inConflict: readonly string[]): SyncStatus {
    if (inConflict.length > 0) return 'conflicted';
    if (slot.unsettled.some((u) => !u.acked)) return 'pending';
    return slot.unsettled.length > 0 ? 'acknowledged' : 'applied';
  }

  private buildRead(slot: Slot): EntityRead | undefined {
    const { record } = slot;
    const synced = record.synced;
    let shown: { version: number; deleted: boolean; values: Record<string, unknown>; inConflict: string[]; job?: EntityRead['job'] };
    if (slot.unsettled.length === 0) {
      if (!synced) return undefined;
      shown = { version: synced.version, deleted: synced.deleted, values: synced.deleted ? {} : synced.state, inConflict: synced.inConflict, ...(synced.job ? { job: synced.job } : {}) };
    } else {
      const result = overlay(
        record,
        slot.unsettled.map((u) => u.event),
        this.options.registry,
        this.options.workspace,
      );
      if (!result.view) return undefined;
      shown = result.view;
    }
    const resolving = new Set(slot.unsettled.filter((u) => u.kind === 'resolution').map((u) => u.event.resolution?.conflictId));
    const read: EntityRead = {
      type: record.type,
      id: record.id,
      version: synced?.version ?? 0,
      deleted: shown.deleted,
      values: shown.values,
      inConflict: shown.inConflict,
      ...(shown.job ? { job: shown.job } : {}),
      ...(synced?.assets ? { assets: synced.assets } : {}),
      status: this.status(slot, shown.inConflict),
      conflicts: record.conflicts.filter((c) => !resolving.has(c.id)),
      unsettled: slot.unsettled.length,
    };
    return read;
  }

  /** Recomputes the reads of changed entities, reports divergences, and wakes the live views of their types. */
  private notify(): void {
    if (this.changed.size === 0) return;
    const slots = [...this.changed];
    this.changed.clear();
    const types = new Set<string>();
    const divergences: Divergence[] = [];
    for (const slot of slots) {
      const before = slot.read;
      const next = this.buildRead(slot);
      if (!(before && next && canonicalJson(before) === canonicalJson(next))) {
        slot.read = next;
        types.add(slot.record.type);
      }
      const divergence = slot.divergence;
      slot.divergence = undefined;
      if (divergence) {
        const fields = [...divergence.fields].filter((field) => differs(divergence.previous, slot.read, field)).sort();
        if (fields.length > 0) divergences.push({ entity: slot.read, previous: divergence.previous, fields, reason: divergence.reason });
      }
      if (!slot.read && slot.unsettled.length === 0 && !slot.record.synced && slot.record.conflicts.length === 0) {
        this.types.get(slot.record.type)?.delete(slot.record.id);
        this.keysInUse.delete(slot.key);
      }
    }
    for (const type of types) this.generations.set(type, (this.generations.get(type) ?? 0) + 1);
    for (const type of types) {
      for (const wake of [...(this.watchers.get(type) ?? [])]) {
        try {
          wake();
        } catch (error) {
          this.options.onError(error);
        }
      }
    }
    for (const divergence of divergences) {
      try {
        this.options.onDiverged(divergence);
      } catch (error) {
        this.options.onError(error);
      }
    }
  }
}
