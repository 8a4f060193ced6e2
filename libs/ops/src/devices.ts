import type { DeviceView, FallingBehindReason, FallingBehindThresholds, SiteView } from '@tidemark/contracts';
import { gapsOf, mergeSeqRanges, seqCount, subtractSeqRanges } from '@tidemark/merge';
import { ageSeconds, isoOrNull, latest, toMillis, type Instant } from './time';

/**
 * What is known of one device: its registration and push progress (the gateway writes the highest
 * deviceSeq it journaled) and its projection progress (merge-service records each applied sequence).
 * Either side may be missing: a device registered but never projected, or a device that pushed before
 * devices were registered. Who the device is, its status and its last pushed sequence pass to its view
 * as they are.
 */
export interface DeviceFacts extends Pick<DeviceView, 'workspace' | 'deviceId' | 'site' | 'label' | 'status' | 'lastPushedSeq'> {
  lastPushAt: Instant | null;
  /** Highest N with every sequence 1..N applied. */
  contiguousSeq: number;
  /** Highest sequence applied. */
  maxAppliedSeq: number;
  /** Sequences applied above contiguous + 1 (ascending). */
  ahead: readonly number[];
  /** Events applied. */
  events: number;
  /** When the gateway accepted the newest applied event. */
  lastAcceptedAt: Instant | null;
  /** Sequence ranges the device reported abandoned for good (inclusive; any order, may overlap). */
  abandoned: readonly (readonly [number, number])[];
}

/**
 * When a device falls behind: `staleAfterSeconds`, not heard from for longer while its site (or
 * workspace) is active; `behindThreshold`, more pushed sequences than this not yet applied.
 */
export type FallingBehindPolicy = FallingBehindThresholds;

/** Sequences in (contiguousSeq, upTo] that are neither applied nor abandoned: the device still owes them. */
function owed(facts: Pick<DeviceFacts, 'contiguousSeq' | 'ahead' | 'abandoned'>, upTo: number): [number, number][] {
  if (upTo <= facts.contiguousSeq) return [];
  const applied = facts.ahead.filter((s) => s > facts.contiguousSeq && s <= upTo).map((s): [number, number] => [s, s]);
  return subtractSeqRanges([[facts.contiguousSeq + 1, upTo]], [...applied, ...facts.abandoned]);
}

/** Pushed sequences (1..lastPushedSeq) neither applied yet nor abandoned by the device. */
export function behindBy(facts: Pick<DeviceFacts, 'lastPushedSeq' | 'contiguousSeq' | 'ahead' | 'abandoned'>): number | null {
  if (facts.lastPushedSeq === null) return null;
  return seqCount(owed(facts, facts.lastPushedSeq));
}

/** Abandoned sequences the projection never applied (an abandoned sequence applied after all counts as applied). */
export function abandonedOf(facts: Pick<DeviceFacts, 'contiguousSeq' | 'ahead' | 'abandoned'>): [number, number][] {
  const applied = facts.ahead.map((s): [number, number] => [s, s]);
  return subtractSeqRanges(facts.abandoned, [...(facts.contiguousSeq > 0 ? [[1, facts.contiguousSeq] as [number, number]] : []), ...applied]);
}

export const lastSeenOf = (facts: Pick<DeviceFacts, 'lastPushAt' | 'lastAcceptedAt'>): string | null => latest(facts.lastPushAt, facts.lastAcceptedAt);

/** A device expected to be heard from: registered and active, or known only from its events. A revoked device is silent by design. */
const enrolled = (d: Pick<DeviceFacts, 'status'>): boolean => d.status === null || d.status === 'active';

/** The group a device's activity is compared with: its site, or its workspace when it has no site. */
export const activityGroup = (d: Pick<DeviceFacts, 'workspace' | 'site'>): string => (d.site === null ? `${d.workspace}\u0000` : `${d.workspace}\u0000${d.site}`);

/**
 * Assesses every device against the policy at `now`. A device is stale when it was not heard from for
 * longer than `staleAfterSeconds` while another device of its site (or, without a site, of its
 * workspace) was heard from within that time: a site that is quiet as a whole is not "falling behind".
 * It is behind when more than `behindThreshold` pushed sequences are not applied yet. A device that is
 * registered but not active (revoked) is never stale and does not make its site active.
 */
export function assessDevices(devices: readonly DeviceFacts[], now: Instant, policy: FallingBehindPolicy): DeviceView[] {
  const nowMs = toMillis(now);
  const recentCutoff = nowMs - policy.staleAfterSeconds * 1000;
  const activeBy = new Map<string, number>();
  for (const d of devices) {
    const seen = lastSeenOf(d);
    if (!enrolled(d) || seen === null || toMillis(seen) < recentCutoff) continue;
    const group = activityGroup(d);
    activeBy.set(group, (activeBy.get(group) ?? 0) + 1);
  }
  return devices.map((d) => {
    const lastSeenAt = lastSeenOf(d);
    const behind = behindBy(d);
    // Missing: below the highest applied sequence, neither applied nor abandoned by the device.
    const gaps = owed(d, d.maxAppliedSeq - 1);
    const missing = seqCount(gaps);
    const abandoned = abandonedOf(d);
    const reasons: FallingBehindReason[] = [];
    const silent = lastSeenAt === null ? null : ageSeconds(nowMs, lastSeenAt);
    const groupActive = (activeBy.get(activityGroup(d)) ?? 0) > 0;
    if (enrolled(d) && groupActive && (silent === null || silent > policy.staleAfterSeconds)) {
      const where = d.site === null ? `workspace "${d.workspace}"` : `site "${d.site}"`;
      reasons.push({
        code: 'stale',
        detail: silent === null ? `never heard from while ${where} is active` : `not heard from for ${Math.floor(silent)} s (more than ${policy.staleAfterSeconds} s) while ${where} is active`,
      });
    }
    if (behind !== null && behind > policy.behindThreshold) {
      reasons.push({ code: 'behind', detail: `${behind} pushed sequences not applied yet (more than ${policy.behindThreshold})` });
    }
    return {
      workspace: d.workspace,
      deviceId: d.deviceId,
      site: d.site,
      label: d.label,
      status: d.status,
      lastPushedSeq: d.lastPushedSeq,
      lastPushAt: isoOrNull(d.lastPushAt),
      lastAppliedSeq: d.maxAppliedSeq,
      contiguousSeq: d.contiguousSeq,
      missing,
      gaps: d.abandoned.length === 0 ? gapsOf({ contiguous: d.contiguousSeq, maxSeq: d.maxAppliedSeq, ahead: [...d.ahead] }, 20) : gaps.slice(0, 20),
      abandoned: seqCount(abandoned),
      abandonedRanges: mergeSeqRanges(abandoned).slice(0, 20),
      events: d.events,
      behindBy: behind,
      lastSeenAt,
      silentSeconds: silent,
      fallingBehind: reasons.length > 0,
      reasons,
    };
  });
}

export const DEVICE_SORTS = ['behind', 'last-seen', 'missing', 'device'] as const;
export type DeviceSort = (typeof DEVICE_SORTS)[number];

const byDevice = (a: DeviceView, b: DeviceView): number => (a.workspace === b.workspace ? cmp(a.deviceId, b.deviceId) : cmp(a.workspace, b.workspace));
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const seenMs = (d: DeviceView): number => (d.lastSeenAt === null ? -Infinity : Date.parse(d.lastSeenAt));

/**
 * Orders devices so that who needs attention comes first, with a total order (ties by workspace and
 * device id), so pages never skip or repeat a device:
 * - `behind`: falling behind first, then most pushed-but-unapplied, then longest silent;
 * - `last-seen`: longest silent first (never seen first of all);
 * - `missing`: most missing sequences first, then longest silent;
 * - `device`: by workspace and device id.
 */
export function sortDevices(devices: readonly DeviceView[], sort: DeviceSort): DeviceView[] {
  const order: Record<DeviceSort, (a: DeviceView, b: DeviceView) => number> = {
    behind: (a, b) => Number(b.fallingBehind) - Number(a.fallingBehind) || (b.behindBy ?? -1) - (a.behindBy ?? -1) || seenMs(a) - seenMs(b) || byDevice(a, b),
    'last-seen': (a, b) => seenMs(a) - seenMs(b) || byDevice(a, b),
    missing: (a, b) => b.missing - a.missing || seenMs(a) - seenMs(b) || byDevice(a, b),
    device: byDevice,
  };
  return [...devices].sort(order[sort]);
}

/** Per (workspace, site): device counts, who is falling behind, silence and backlog; sorted by workspace, then site (no site last). */
export function summarizeSites(devices: readonly DeviceView[]): SiteView[] {
  const sites = new Map<string, SiteView>();
  for (const d of devices) {
    const key = activityGroup(d);
    let s = sites.get(key);
    if (!s) {
      s = { workspace: d.workspace, site: d.site, devices: 0, fallingBehind: 0, oldestLastSeenAt: null, lastSeenAt: null, behindBy: 0, missing: 0, fallingBehindDevices: [] };
      sites.set(key, s);
    }
    s.devices += 1;
    if (d.fallingBehind) {
      s.fallingBehind += 1;
      s.fallingBehindDevices.push(d.deviceId);
    }
    s.behindBy += d.behindBy ?? 0;
    s.missing += d.missing;
    if (d.lastSeenAt !== null) {
      if (s.oldestLastSeenAt === null || d.lastSeenAt < s.oldestLastSeenAt) s.oldestLastSeenAt = d.lastSeenAt;
      if (s.lastSeenAt === null || d.lastSeenAt > s.lastSeenAt) s.lastSeenAt = d.lastSeenAt;
    }
  }
  for (const s of sites.values()) s.fallingBehindDevices = s.fallingBehindDevices.sort(cmp).slice(0, 20);
  return [...sites.values()].sort((a, b) => cmp(a.workspace, b.workspace) || (a.site === null ? 1 : 0) - (b.site === null ? 1 : 0) || cmp(a.site ?? '', b.site ?? ''));
}

/** A page of a sorted list by offset: the offset is the cursor (the order is total, see `sortDevices`). */
export function pageByOffset<T>(items: readonly T[], offset: number, limit: number): { page: T[]; next: string | null; total: number } {
  const page = items.slice(offset, offset + limit);
  const end = offset + page.length;
  return { page, next: end < items.length ? String(end) : null, total: items.length };
}
