// Replay planning as pure functions: which journal entries a scope selects, which entities a replay must
// rebuild, which subject filter reads them, and how long it should take. No I/O, no clock: bounds, rates
// and times are inputs.
import type { InvalidParam, ReplayEstimate } from '@tidemark/contracts';
import { JOURNAL_SUBJECT_ROOT } from '@tidemark/contracts/core';
import { compareText } from '../text';

/**
 * What a replay is about. Every criterion given must hold for a journal entry to be selected; none
 * given selects the whole journal. Sequences are JOURNAL stream sequences (inclusive), times are the
 * gateway's acceptance times (ISO-8601, `fromTime` inclusive, `toTime` exclusive).
 */
export interface ReplayScope {
  workspace?: string;
  entityType?: string;
  entityId?: string;
  deviceId?: string;
  site?: string;
  fromSeq?: number;
  toSeq?: number;
  fromTime?: string;
  toTime?: string;
}

/** What the planner needs of one journal entry (from its subject and record). */
export interface JournalEntryMeta {
  seq: number;
  workspace: string;
  /** The partition token (`p00` …) from the subject. */
  partition: string;
  type: string;
  id: string;
  deviceId: string;
  site: string | null;
  acceptedAt: string;
}

/**
 * Per partition token, the last stream sequence the live projection had applied when the replay was
 * planned. A replay rebuilds exactly what live had applied: entries beyond their partition's bound are
 * left out, so live and shadow describe the same events.
 */
export type ReplayBounds = Readonly<Record<string, number>>;

export interface ReplayPlanInput {
  scope: ReplayScope;
  /** Entity types the replay rebuilds under another policy revision (its workspace is `scope.workspace`). */
  revisedTypes: readonly string[];
  bounds: ReplayBounds;
}

/**
 * Checks what HTTP validation cannot: an entity id needs its type, ranges must not be reversed, times must
 * parse, and a replay that changes policy revisions is scoped to one workspace (a revision is activated
 * per workspace, for every entity of the type in it).
 */
export function checkReplayRequest(scope: ReplayScope, revisedTypes: readonly string[]): InvalidParam[] {
  const errors: InvalidParam[] = [];
  if (scope.entityId !== undefined && scope.entityType === undefined) errors.push({ pointer: '/scope/entityId', detail: 'an entity id needs scope.entityType' });
  if (scope.fromSeq !== undefined && scope.toSeq !== undefined && scope.fromSeq > scope.toSeq) errors.push({ pointer: '/scope/toSeq', detail: `must not be below scope.fromSeq (${scope.fromSeq})` });
  const from = scope.fromTime === undefined ? undefined : Date.parse(scope.fromTime);
  const to = scope.toTime === undefined ? undefined : Date.parse(scope.toTime);
  if (from !== undefined && Number.isNaN(from)) errors.push({ pointer: '/scope/fromTime', detail: 'must be an ISO-8601 date-time' });
  if (to !== undefined && Number.isNaN(to)) errors.push({ pointer: '/scope/toTime', detail: 'must be an ISO-8601 date-time' });
  if (from !== undefined && to !== undefined && !Number.isNaN(from) && !Number.isNaN(to) && from >= to) errors.push({ pointer: '/scope/toTime', detail: 'must be after scope.fromTime' });
  if (revisedTypes.length > 0 && scope.workspace === undefined) {
    errors.push({ pointer: '/scope/workspace', detail: 'a replay that changes policy revisions must name its workspace: a revision is activated per workspace' });
  }
  return errors;
}

/** Whether the scope selects a journal entry (bounds aside). */
export function selects(scope: ReplayScope, entry: JournalEntryMeta): boolean {
  if (scope.workspace !== undefined && entry.workspace !== scope.workspace) return false;
  if (scope.entityType !== undefined && entry.type !== scope.entityType) return false;
  if (scope.entityId !== undefined && entry.id !== scope.entityId) return false;
  if (scope.deviceId !== undefined && entry.deviceId !== scope.deviceId) return false;
  if (scope.site !== undefined && entry.site !== scope.site) return false;
  if (scope.fromSeq !== undefined && entry.seq < scope.fromSeq) return false;
  if (scope.toSeq !== undefined && entry.seq > scope.toSeq) return false;
  if (scope.fromTime !== undefined || scope.toTime !== undefined) {
    const at = Date.parse(entry.acceptedAt);
    if (scope.fromTime !== undefined && !(at >= Date.parse(scope.fromTime))) return false;
    if (scope.toTime !== undefined && !(at < Date.parse(scope.toTime))) return false;
  }
  return true;
}

/** Whether {@link selects} reads an entry's record (device, site, acceptance time), not only its subject and sequence. */
export function scopeReadsRecord(scope: ReplayScope): boolean {
  return scope.deviceId !== undefined || scope.site !== undefined || scope.fromTime !== undefined || scope.toTime !== undefined;
}

/**
 * What a journal entry means to a plan:
 *  - `selected`: the scope selects it, so its entity is rebuilt;
 *  - `revised`: not selected, but its entity is of a type the replay revises in the replay's workspace,
 *    so its entity is rebuilt too (every stored state of a type must match the policies in force);
 *  - `beyond`: past what live had applied on its partition when the replay was planned;
 *  - `outside`: nothing to do with this replay.
 */
export type EntryRole = 'selected' | 'revised' | 'beyond' | 'outside';

export function classifyEntry(plan: ReplayPlanInput, entry: JournalEntryMeta): EntryRole {
  if (entry.seq > (plan.bounds[entry.partition] ?? 0)) return 'beyond';
  if (selects(plan.scope, entry)) return 'selected';
  if (entry.workspace === plan.scope.workspace && plan.revisedTypes.includes(entry.type)) return 'revised';
  return 'outside';
}

/** The highest bound: no entry past it can belong to the replay. */
export function lastBound(bounds: ReplayBounds): number {
  return Object.values(bounds).reduce((max, seq) => Math.max(max, seq), 0);
}

const token = (values: readonly string[] | undefined): string => (values && values.length === 1 ? values[0]! : '*');

/** A journal subject filter from the tokens it may take (one value: that value, else a wildcard). */
export function journalFilter(tokens: { workspace?: readonly string[]; partition?: readonly string[]; type?: readonly string[]; id?: readonly string[] }): string {
  return `${JOURNAL_SUBJECT_ROOT}.${token(tokens.workspace)}.${token(tokens.partition)}.${token(tokens.type)}.${token(tokens.id)}`;
}

/**
 * The planning scan: the narrowest single subject filter (one per consumer on every JetStream version)
 * and the sequence range that holds every entry the plan can select or must rebuild. With revised types
 * the whole history of the workspace's entities of those types is scanned.
 */
export function planScan(plan: ReplayPlanInput): { filter: string; fromSeq: number; toSeq: number } {
  const { scope, revisedTypes } = plan;
  // A scope without a type selects every type; otherwise the scan covers its type and the revised ones.
  const types = scope.entityType === undefined ? undefined : [...new Set([scope.entityType, ...revisedTypes])];
  const ids = revisedTypes.length === 0 && scope.entityId !== undefined ? [scope.entityId] : undefined;
  const filter = journalFilter({ workspace: scope.workspace !== undefined ? [scope.workspace] : undefined, type: types, id: ids });
  const bound = lastBound(plan.bounds);
  if (revisedTypes.length > 0) return { filter, fromSeq: 1, toSeq: bound };
  return { filter, fromSeq: Math.max(1, scope.fromSeq ?? 1), toSeq: Math.min(bound, scope.toSeq ?? bound) };
}

/** An entity a replay rebuilds. */
export interface AffectedEntity {
  workspace: string;
  type: string;
  id: string;
  partition: string;
}

/** A stable key for an entity: workspace, type and id joined by NUL (none of them may contain it). */
export const entityKey = (e: { workspace: string; type: string; id: string }): string => `${e.workspace}\u0000${e.type}\u0000${e.id}`;

/** Orders entities by workspace, type, id (code units): the order diffs are listed and digested in. */
export function compareEntities(a: { workspace: string; type: string; id: string }, b: { workspace: string; type: string; id: string }): number {
  return compareText(a.workspace, b.workspace) || compareText(a.type, b.type) || compareText(a.id, b.id);
}

/**
 * Events per second a replay is assumed to manage, end to end, before any replay on the installation
 * measured it: about half of what one measured on a 2-core development machine (20,000 events, 2,000
 * entities: 4,400/s).
 */
export const ASSUMED_REBUILD_CAPACITY = 2000;

export type { ReplayEstimate };

/** A finished replay as the estimator learns from it: its size, its wall-clock time and its rate limit. */
export interface ReplaySample {
  /** Workspace of its scope (undefined: every workspace). */
  workspace: string | undefined;
  /** Journal entries it rebuilt. */
  events: number;
  /** Wall-clock seconds from the start of planning to built (scan, rebuild, diff, pauses and resumes included). */
  seconds: number;
  /** Its rate limit (events per second). */
  rateLimit: number;
}

/** A sample whose rate reached this share of its rate limit was held back by the limit: it shows no capacity. */
const THROTTLED_SHARE = 0.8;
/** How many of the samples nearest in size an estimate takes the median of. */
const NEAREST = 3;
/** Samples count as near as the nearest one when their size ratio to the replay is at most twice its own. */
const SIZE_BAND = Math.log(2);

const round1 = (n: number) => Math.round(n * 10) / 10;

/**
 * How long a replay of `events` journal entries should take, end to end, and what that rests on. A replay's
 * cost per event depends on its size (fixed work — scanning, the shadow, the diff — weighs on small ones), so
 * the rate is the median end-to-end rate of the finished replays nearest in size (the nearest one and up to two
 * more whose size ratio to this replay is at most twice the nearest one's): the
 * workspace's own first (`workspace-replays`), else the installation's (`installation-replays`), else
 * {@link ASSUMED_REBUILD_CAPACITY} (`assumed`). Replays held back by their rate limit are no evidence of
 * capacity and are left out. When the job's rate limit is lower than that rate, it is the bottleneck
 * (`rate-limit`). `detail` says the same in words. `history` is most recent first.
 */
export function estimateReplay(p: { events: number; rateLimit: number; workspace: string | undefined; history: readonly ReplaySample[] }): ReplayEstimate {
  const usable = p.history.filter((s) => s.events > 0 && s.seconds > 0 && s.events / s.seconds < THROTTLED_SHARE * s.rateLimit);
  const own = p.workspace === undefined ? [] : usable.filter((s) => s.workspace === p.workspace);
  const evidence = own.length > 0 ? { samples: own, basis: 'workspace-replays' as const } : usable.length > 0 ? { samples: usable, basis: 'installation-replays' as const } : undefined;
  let capacity = ASSUMED_REBUILD_CAPACITY;
  let why = `no finished replay measured a rate yet: assumed ${ASSUMED_REBUILD_CAPACITY} events/s`;
  if (evidence) {
    const size = Math.log(Math.max(1, p.events));
    const ranked = evidence.samples.map((s, i) => ({ s, i, distance: Math.abs(Math.log(s.events) - size) })).sort((x, y) => x.distance - y.distance || x.i - y.i);
    // The nearest, and those hardly farther (within twice its size ratio): never a mix of far sizes.
    const nearest = ranked
      .filter(({ distance }) => distance <= ranked[0]!.distance + SIZE_BAND)
      .slice(0, NEAREST)
      .map(({ s }) => s);
    const rates = nearest.map((s) => s.events / s.seconds).sort((x, y) => x - y);
    capacity = rates.length % 2 === 1 ? rates[(rates.length - 1) / 2]! : (rates[rates.length / 2 - 1]! + rates[rates.length / 2]!) / 2;
    const sizes = nearest.map((s) => s.events).sort((x, y) => x - y);
    const whose = evidence.basis === 'workspace-replays' ? `of workspace ${p.workspace}` : 'on this installation';
    why = `median end-to-end rate of ${nearest.length} finished replay${nearest.length > 1 ? 's' : ''} ${whose} nearest in size (${sizes[0]}${sizes.length > 1 ? `–${sizes.at(-1)}` : ''} events): ${round1(capacity)} events/s`;
  }
  const limited = p.rateLimit <= capacity;
  const eventsPerSecond = limited ? p.rateLimit : capacity;
  return {
    seconds: Math.ceil((p.events / eventsPerSecond) * 10) / 10,
    eventsPerSecond: round1(eventsPerSecond),
    basis: limited ? 'rate-limit' : (evidence?.basis ?? 'assumed'),
    detail: limited ? `the rate limit of ${p.rateLimit} events/s is the bottleneck (${why})` : why,
  };
}
