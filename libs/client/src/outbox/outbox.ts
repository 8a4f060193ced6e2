import type { ConflictResolution, DeviceEvent, EntityRef, EventOp, FieldChange, HlcStamp, JobTransition, Problem } from '@tidemark/contracts';
import { HybridClock, type WallClock } from '../clock/hybrid-clock';
import { InvalidEventError, StorageFormatError } from '../errors';
import { parseRecord } from '../storage/records';
import type { Storage } from '../storage/storage';
import { checkEvent } from './check-event';

/** What the application says; the outbox adds the id, device, sequence and clock. */
export interface EventDraft {
  entity: EntityRef;
  op: EventOp;
  fields?: Record<string, FieldChange>;
  job?: JobTransition;
  resolution?: ConflictResolution;
  /** Entity version the device last saw; the client fills in the version it last pulled (0: never seen). */
  baseVersion?: number;
  /** Default: the client's `schemaVersion` option. */
  schemaVersion?: number;
}

/** An event waiting for the server's acknowledgement, with its serialised form. */
export interface OutboxEntry {
  event: DeviceEvent;
  json: string;
  bytes: number;
}

/** An event the server refused for good, kept (not re-sent) until the application discards it. */
export interface QuarantinedEvent {
  event: DeviceEvent;
  /**
   * `rejected`: the server answered the event `rejected`; `invalid`: it refused the request naming this event;
   * `forbidden`: the workspace's access rules do not let the device's role write it (`403 write-not-allowed`).
   */
  kind: 'rejected' | 'invalid' | 'forbidden';
  reason: string;
  status?: number;
  problem?: Problem;
  /** Wall-clock milliseconds when it was quarantined. */
  at: number;
}

/** The device record, rewritten as the commit point of every enqueue. */
interface Meta {
  v: 1;
  deviceId: string;
  workspace: string;
  /** Highest committed device sequence. */
  lastSeq: number;
  /** Latest HLC stamp issued, so the clock stays monotonic across restarts. */
  hlc: HlcStamp;
}

/** Runs work holding a lock shared by every tab of the device (see {@link Outbox.open}). */
export type Exclusive = <T>(work: () => Promise<T>) => Promise<T>;

export const META_KEY = 'meta';
export const OUTBOX_PREFIX = 'outbox/';
export const QUARANTINE_PREFIX = 'quarantine/';

/** Storage key of a sequence number: zero-padded to 16 digits so keys sort in sequence order. */
export function seqKey(prefix: string, seq: number): string {
  return `${prefix}${String(seq).padStart(16, '0')}`;
}

/**
 * The device's identity, sequence, clock and outbox over a {@link Storage}.
 *
 * An enqueue writes each event record (`outbox/<seq>`: `{ v: 1, event }`) and then rewrites `meta` with the new
 * `lastSeq` and clock: that second write is the commit. At open, records above `lastSeq` are the remains of an
 * enqueue that never returned and are deleted, so a crash can neither lose an acknowledged enqueue nor leave a
 * gap in the device sequence. Events leave the outbox when the server acknowledged them, or move to
 * `quarantine/<seq>` when it refused them for good (written before the outbox record is deleted).
 */
export class Outbox {
  private readonly entries: OutboxEntry[] = [];
  private tail: Promise<unknown> = Promise.resolve();
  /** Highest sequence whose record this outbox has read or written (records above it are another tab's). */
  private highWater = 0;

  private constructor(
    private readonly storage: Storage,
    private meta: Meta,
    readonly clock: HybridClock,
    private readonly newId: () => string,
    /** Set when other tabs append to the same storage: runs an append alone across all of them. */
    private readonly exclusive: Exclusive | undefined,
  ) {}

  /**
   * Opens the outbox. `exclusive`, when tabs share the storage, runs work holding a lock of the device across
   * every tab: the crash recovery here and each append run inside it, and an append re-reads `meta` first, so
   * two tabs never hand out one sequence number.
   */
  static open(storage: Storage, options: { workspace: string; deviceId?: string; wallClock: WallClock; newId: () => string; exclusive?: Exclusive }): Promise<Outbox> {
    return options.exclusive ? options.exclusive(() => Outbox.load(storage, options)) : Outbox.load(storage, options);
  }

  private static async load(storage: Storage, options: { workspace: string; deviceId?: string; wallClock: WallClock; newId: () => string; exclusive?: Exclusive }): Promise<Outbox> {
    let meta = parseRecord<Meta>(await storage.get(META_KEY), META_KEY);
    if (!meta) {
      meta = { v: 1, deviceId: options.deviceId ?? options.newId(), workspace: options.workspace, lastSeq: 0, hlc: { wall: 0, counter: 0 } };
      await storage.put(META_KEY, JSON.stringify(meta));
    } else {
      if (meta.v !== 1) throw new StorageFormatError(`${META_KEY} has version ${String(meta.v)}; this client reads version 1`);
      if (options.deviceId !== undefined && options.deviceId !== meta.deviceId) {
        throw new StorageFormatError(`this storage belongs to device ${meta.deviceId}, not ${options.deviceId}: a storage holds one device's sequence`);
      }
      if (meta.workspace !== options.workspace) {
        throw new StorageFormatError(`this storage belongs to workspace ${meta.workspace}, not ${options.workspace}: use one storage per workspace`);
      }
    }
    const outbox = new Outbox(storage, meta, new HybridClock(options.wallClock, meta.hlc), options.newId, options.exclusive);
    outbox.highWater = meta.lastSeq;
    const quarantined = new Set(await storage.list(QUARANTINE_PREFIX));
    for (const key of await storage.list(OUTBOX_PREFIX)) {
      const record = parseRecord<{ v: 1; event: DeviceEvent }>(await storage.get(key), key);
      if (!record) continue;
      const seq = record.event.deviceSeq;
      if (seq > meta.lastSeq || quarantined.has(seqKey(QUARANTINE_PREFIX, seq))) {
        // An enqueue that never committed, or a quarantine that did not finish deleting its outbox record.
        await storage.delete(key);
        continue;
      }
      const json = JSON.stringify(record.event);
      outbox.entries.push({ event: record.event, json, bytes: checkEvent(record.event).bytes });
    }
    outbox.entries.sort((a, b) => a.event.deviceSeq - b.event.deviceSeq);
    return outbox;
  }

  get deviceId(): string {
    return this.meta.deviceId;
  }

  get workspace(): string {
    return this.meta.workspace;
  }

  /** Highest device sequence assigned (and committed) so far. */
  get lastSeq(): number {
    return this.meta.lastSeq;
  }

  /** Events waiting for acknowledgement, in sequence order (a snapshot). */
  pending(): OutboxEntry[] {
    return [...this.entries];
  }

  /**
   * Assigns ids, sequence numbers and HLC stamps to the drafts, in order, and stores them durably; resolves
   * when all are committed (all or none: a crash before the commit leaves none of them).
   */
  append(drafts: readonly (EventDraft & { baseVersion: number; schemaVersion: number })[]): Promise<DeviceEvent[]> {
    return this.serially(() => (this.exclusive ? this.exclusive(() => this.catchUp().then(() => this.build(drafts))) : this.build(drafts)));
  }

  /**
   * Re-reads what other tabs did to the shared storage: events they appended (committed ones only) join the
   * pending list, events acknowledged or quarantined by the tab that syncs leave it, and `lastSeq` follows.
   */
  refresh(): Promise<void> {
    return this.serially(async () => {
      const lastSeq = await this.catchUp();
      const present = new Set(await this.storage.list(OUTBOX_PREFIX));
      for (let i = this.entries.length - 1; i >= 0; i--) {
        const seq = this.entries[i]!.event.deviceSeq;
        if (seq <= lastSeq && !present.has(seqKey(OUTBOX_PREFIX, seq))) this.entries.splice(i, 1);
      }
    });
  }

  /** Adopts the stored `meta` (sequence, clock) and the committed records above what this outbox has seen. */
  private async catchUp(): Promise<number> {
    const stored = parseRecord<Meta>(await this.storage.get(META_KEY), META_KEY);
    if (!stored) return this.meta.lastSeq;
    this.clock.observe(stored.hlc);
    if (stored.lastSeq <= this.meta.lastSeq && stored.lastSeq <= this.highWater) return stored.lastSeq;
    const quarantined = new Set(await this.storage.list(QUARANTINE_PREFIX));
    for (let seq = this.highWater + 1; seq <= stored.lastSeq; seq++) {
      const key = seqKey(OUTBOX_PREFIX, seq);
      const record = quarantined.has(seqKey(QUARANTINE_PREFIX, seq)) ? undefined : parseRecord<{ v: 1; event: DeviceEvent }>(await this.storage.get(key), key);
      if (record) this.entries.push({ event: record.event, json: JSON.stringify(record.event), bytes: checkEvent(record.event).bytes });
    }
    this.highWater = Math.max(this.highWater, stored.lastSeq);
    if (stored.lastSeq > this.meta.lastSeq) this.meta = { ...this.meta, lastSeq: stored.lastSeq, hlc: stored.hlc };
    return stored.lastSeq;
  }

  private async build(drafts: readonly (EventDraft & { baseVersion: number; schemaVersion: number })[]): Promise<DeviceEvent[]> {
    const built = drafts.map((draft, i) => {
      const event: DeviceEvent = {
        eventId: this.newId(),
        deviceId: this.meta.deviceId,
        deviceSeq: this.meta.lastSeq + i + 1,
        hlc: this.clock.now(),
        entity: { type: draft.entity.type, id: draft.entity.id },
        op: draft.op,
        baseVersion: draft.baseVersion,
        ...(draft.fields !== undefined ? { fields: draft.fields } : {}),
        ...(draft.job !== undefined ? { job: draft.job } : {}),
        ...(draft.resolution !== undefined ? { resolution: draft.resolution } : {}),
        schemaVersion: draft.schemaVersion,
      };
      const checked = checkEvent(event);
      if (checked.errors.length > 0) throw new InvalidEventError(checked.errors.map((e) => ({ ...e, pointer: drafts.length > 1 ? `/${i}${e.pointer === '/' ? '' : e.pointer}` : e.pointer })));
      return { event, json: checked.json, bytes: checked.bytes };
    });
    if (built.length === 0) return [];
    await Promise.all(built.map((entry) => this.storage.put(seqKey(OUTBOX_PREFIX, entry.event.deviceSeq), `{"v":1,"event":${entry.json}}`)));
    const meta: Meta = { ...this.meta, lastSeq: this.meta.lastSeq + built.length, hlc: this.clock.peek() };
    await this.storage.put(META_KEY, JSON.stringify(meta));
    this.meta = meta;
    this.highWater = meta.lastSeq;
    this.entries.push(...built);
    return built.map((entry) => entry.event);
  }

  /** Forgets acknowledged events. */
  async acknowledge(eventIds: Iterable<string>): Promise<void> {
    const ids = new Set(eventIds);
    const gone = this.take(ids);
    await Promise.all(gone.map((entry) => this.storage.delete(seqKey(OUTBOX_PREFIX, entry.event.deviceSeq))));
  }

  /** Moves events the server refused for good to quarantine. */
  async quarantine(items: readonly Omit<QuarantinedEvent, 'at'>[], at: number): Promise<void> {
    await Promise.all(items.map((item) => this.storage.put(seqKey(QUARANTINE_PREFIX, item.event.deviceSeq), JSON.stringify({ ...item, at }))));
    await this.acknowledge(items.map((item) => item.event.eventId));
  }

  /** Events in quarantine, in sequence order. */
  async quarantined(): Promise<QuarantinedEvent[]> {
    const out: QuarantinedEvent[] = [];
    for (const key of await this.storage.list(QUARANTINE_PREFIX)) {
      const item = parseRecord<QuarantinedEvent>(await this.storage.get(key), key);
      if (item) out.push(item);
    }
    return out;
  }

  /** Deletes quarantined events (all of them, or those with these event ids). Returns how many. */
  async discardQuarantined(eventIds?: Iterable<string>): Promise<number> {
    const only = eventIds ? new Set(eventIds) : undefined;
    const items = (await this.quarantined()).filter((item) => !only || only.has(item.event.eventId));
    await Promise.all(items.map((item) => this.storage.delete(seqKey(QUARANTINE_PREFIX, item.event.deviceSeq))));
    return items.length;
  }

  private take(ids: Set<string>): OutboxEntry[] {
    const gone: OutboxEntry[] = [];
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (ids.has(this.entries[i]!.event.eventId)) gone.push(...this.entries.splice(i, 1));
    }
    return gone;
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
