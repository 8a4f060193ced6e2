import type { Access } from '@tidemark/access';
import type { DeviceStanding } from './guard';

/** What a device's requests are checked against: its standing, and what its role may do under its workspace's rules. */
export interface DeviceAuthority {
  /** Undefined: no such device in the workspace. */
  standing: DeviceStanding | undefined;
  access: Access;
}

export interface StandingCacheOptions {
  /** Devices remembered at most; the least recently used is forgotten first. */
  maxEntries: number;
  /** How long an entry may answer at most, in milliseconds: the backstop for a notice that never arrived (0: no caching). */
  maxAgeMs: number;
  /** Monotonic milliseconds (tests pass a clock they move). */
  now?: () => number;
}

interface Entry<T> {
  value: T;
  /** When its read began (`now()`), so its age counts the read too. */
  readAt: number;
}

const key = (workspace: string, deviceId: string): string => `${workspace}\u0000${deviceId}`;

/**
 * What a gateway knows of each device — its standing and access (`DeviceAuthority`), or what it reads (its read
 * filter) — read from Postgres (`load`) once and then answered from memory until a change
 * notice names the device or its workspace (`forgetDevice`, `forgetWorkspace`), the notices may have been missed
 * (`suspend` while the NATS connection is down, `resume` when it is back: both forget everything) or the entry is
 * `maxAgeMs` old. Nothing is answered from memory while suspended.
 *
 * A read that was under way when something was forgotten may have read the state from before the change, so its
 * answer is used for its own request (as an uncached read would be) but not remembered: every forget moves an epoch
 * on, and a read remembers its answer only if the epoch is the one it began in. The writer commits before it
 * announces, so a read that begins after the notice was heard sees the change.
 */
export class StandingCache<T = DeviceAuthority> {
  private readonly entries = new Map<string, Entry<T>>();
  private epoch = 0;
  private live = true;
  private readonly now: () => number;

  constructor(
    private readonly load: (workspace: string, deviceId: string) => Promise<T>,
    private readonly options: StandingCacheOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Devices remembered now. */
  get size(): number {
    return this.entries.size;
  }

  async get(workspace: string, deviceId: string): Promise<T> {
    const k = key(workspace, deviceId);
    const entry = this.entries.get(k);
    if (entry !== undefined) {
      if (this.live && this.now() - entry.readAt < this.options.maxAgeMs) {
        // Most recently used last (a Map iterates in insertion order): eviction takes the first.
        this.entries.delete(k);
        this.entries.set(k, entry);
        return entry.value;
      }
      this.entries.delete(k);
    }
    const epoch = this.epoch;
    const readAt = this.now();
    const value = await this.load(workspace, deviceId);
    if (this.live && epoch === this.epoch && this.options.maxAgeMs > 0 && this.options.maxEntries > 0) {
      this.entries.delete(k);
      this.entries.set(k, { value, readAt });
      if (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    return value;
  }

  /** The device's standing, role, claims or subscriptions changed (revoked, re-enrolled, enrolled, given a role …). */
  forgetDevice(workspace: string, deviceId: string): void {
    this.epoch++;
    this.entries.delete(key(workspace, deviceId));
  }

  /** The workspace's access rules changed: every device of it. */
  forgetWorkspace(workspace: string): void {
    this.epoch++;
    const prefix = `${workspace}\u0000`;
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }

  /** Notices cannot be heard (the connection is down): forget everything and answer nothing from memory. */
  suspend(): void {
    this.live = false;
    this.clear();
  }

  /** Notices are heard again (reconnected): those sent meanwhile were missed, so start from nothing. */
  resume(): void {
    this.live = true;
    this.clear();
  }
}
