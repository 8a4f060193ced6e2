// What ops-api answers (apps/ops-api/README.md documents each view): one definition for ops-api, which
// builds these documents, for the pure computations behind some of them (libs/ops), and for the clients
// that read them (the CLI). Types only: ops-api does not validate its answers. Times are ISO-8601 (UTC,
// milliseconds), ages are seconds, absent facts are null. The request shapes of parked work and replays
// are in parked.ts and replay.ts.
import type { DeviceEvent, JournalRecord } from '../events/device-event';
import type { ConflictView, ResolveResponse } from './ledger';
import type { ParkCode, ParkedAction, ParkedStatus } from './parked';
import type { ReplayScope } from './replay';
import type { Problem } from './problem';

// ── streams and lag (`GET /v1/streams`) ──────────────────────────────────────────────────────────────

/** How many messages are behind and how old the oldest of them is; `messages` add up, `seconds` is the oldest's. */
export interface LagTotal {
  messages: number;
  /** Age of the oldest message behind (0 when nothing is behind, or when the stream no longer holds it). */
  seconds: number;
}

/** A lag with the oldest message behind, as read from the stream. */
export interface LagView extends LagTotal {
  oldestSeq: number | null;
  oldestAt: string | null;
}

/** A JetStream consumer: its counts and positions (stream sequences), and its backlog. */
export interface StreamConsumerView {
  name: string;
  filter: string | null;
  /** Messages on the filter not yet delivered. */
  pending: number;
  /** Delivered, not yet acknowledged. */
  ackPending: number;
  redelivered: number;
  waiting: number;
  ackFloor: number;
  delivered: number;
  /** When the consumer last acknowledged (nats-server 2.10 and later; null otherwise). */
  lastActive: string | null;
  /** Backlog (pending + ack-pending) and the age of its oldest message. */
  lag: LagView;
  oldestPendingSeconds: number;
}

export interface StreamView {
  name: string;
  messages: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
  /** null for an empty stream. */
  firstAt: string | null;
  lastAt: string | null;
  consumers: StreamConsumerView[];
}

/** A merge partition: the projection checkpoint in Postgres and what is behind it. */
export interface ProjectionPartitionView {
  partition: string;
  consumer: string;
  /** Last journal sequence committed to Postgres (0: nothing yet). */
  checkpointSeq: number;
  checkpointAt: string | null;
  /** Journal messages of the partition after the checkpoint, and the age of the oldest. */
  lag: LagView;
  /** False while a batch is in flight: `lag.messages` is then an upper bound. */
  exact: boolean;
}

/** One observation of every stream, consumer and projection checkpoint. */
export interface StreamsView {
  at: string;
  streams: StreamView[];
  projection: { consumerPrefix: string; partitions: ProjectionPartitionView[]; total: LagTotal };
}

// ── overview (`GET /v1/overview`) ────────────────────────────────────────────────────────────────────

export interface ServiceHealth {
  name: string;
  url: string;
  ready: boolean;
  /** HTTP status of /readyz, or null when it did not answer. */
  status: number | null;
  /** What /readyz said (its checks), or why it could not be asked. */
  detail: unknown;
  latencyMs: number;
}

/** Rates over the sliding window one ops-api instance samples in memory (empty after a restart). */
export interface SampledRates {
  /** Journal messages appended per second (the journal's last sequence over the window). */
  ingestPerSecond: number | null;
  /** Journal messages projected per second (last sequence minus the projection backlog, over the window). */
  projectPerSecond: number | null;
  /** Seconds the samples span (shorter than the window just after start). */
  windowSeconds: number;
  samples: number;
}

/** One sample of the short history: rates since the sample before it (null for the first) and the projection backlog then. */
export interface RateHistoryPoint {
  at: string;
  ingestPerSecond: number | null;
  projectPerSecond: number | null;
  lagMessages: number;
  lagSeconds: number;
}

/** The last `capacity` samples one ops-api instance took, in memory (oldest first; empty after a restart). */
export interface RateHistory {
  intervalMs: number;
  capacity: number;
  points: RateHistoryPoint[];
}

/** The whole system on one page; a part that could not be read is null, with the reason in `unavailable`. */
export interface OverviewView {
  at: string;
  services: ServiceHealth[];
  /** Every configured service answers ready; null when none is configured. */
  ready: boolean | null;
  streams: { count: number; messages: number; bytes: number; journal: { messages: number; lastSeq: number; lastAt: string | null } | null } | null;
  consumers: { count: number; withBacklog: number; oldestPendingSeconds: number; redelivered: number } | null;
  projection: { consumerPrefix: string; partitions: number; partitionsBehind: number; lag: LagTotal } | null;
  rates: SampledRates & { sampledBy: string };
  /** The samples behind the rates, for sparklines: at most `capacity` (`RATE_HISTORY_SAMPLES`) of them. */
  history: RateHistory;
  parked: number | null;
  conflictsOpen: number | null;
  uploads: { inProgress: number; bytesPending: number } | null;
  unavailable: { part: string; detail: string }[];
}

// ── devices and sites (`GET /v1/devices`, `GET /v1/sites`) ───────────────────────────────────────────

export type FallingBehindCode = 'stale' | 'behind';

export interface FallingBehindReason {
  code: FallingBehindCode;
  detail: string;
}

export interface DeviceView {
  workspace: string;
  deviceId: string;
  site: string | null;
  label: string | null;
  /** Registration status (`active`, `revoked` …); null when the device is not registered. */
  status: string | null;
  /** Highest deviceSeq the gateway journaled; null when unknown (not registered). */
  lastPushedSeq: number | null;
  lastPushAt: string | null;
  /** Highest sequence applied. */
  lastAppliedSeq: number;
  /** Highest N with every sequence 1..N applied. */
  contiguousSeq: number;
  /** Sequences missing below the highest applied one (abandoned ones excluded). */
  missing: number;
  /** The missing sequences as inclusive ranges (the first 20). */
  gaps: [number, number][];
  /**
   * Sequences the device reported abandoned for good (refused events it discarded: `POST
   * /v1/sequence/abandoned`) and never applied; they count neither as missing nor as behind.
   */
  abandoned: number;
  /** The abandoned sequences as inclusive ranges (the first 20). */
  abandonedRanges: [number, number][];
  events: number;
  /** Pushed sequences not yet applied (missing ones included, abandoned ones not); null when pushes are not known. */
  behindBy: number | null;
  /** The later of the last push and the last applied event's acceptance. */
  lastSeenAt: string | null;
  /** Seconds since `lastSeenAt` (null when never seen). */
  silentSeconds: number | null;
  fallingBehind: boolean;
  reasons: FallingBehindReason[];
  /** The change-log cursor the gateway last delivered to the device, and when (absent: it never read). */
  read?: { cursor: string; at: string };
  /** Writes the workspace's access rules refused the device: events refused in all, and the last refusal's rule. */
  writesRefused?: { events: number; lastAt: string; last: { role: string | null; accessRulesVersion: number | null; denials: { pointer: string; code: string; detail: string }[] } };
}

/** The thresholds a device was assessed with. */
export interface FallingBehindThresholds {
  staleAfterSeconds: number;
  behindThreshold: number;
}

export interface DevicesView extends FallingBehindThresholds {
  at: string;
  devices: DeviceView[];
  total: number;
  /** Pass as `after` for the next page; null on the last. */
  next: string | null;
}

export interface SiteView {
  workspace: string;
  /** null: the devices of the workspace that have no site. */
  site: string | null;
  devices: number;
  fallingBehind: number;
  /** The oldest of the devices' last-seen times (who has been silent longest), null when none was seen. */
  oldestLastSeenAt: string | null;
  /** The newest last-seen time: when the site was last active. */
  lastSeenAt: string | null;
  /** Pushed sequences not yet applied, summed over the site's devices (those with known pushes). */
  behindBy: number;
  /** Sequences missing below the highest applied one, summed. */
  missing: number;
  /** Ids of the site's devices falling behind (the first 20, by id). */
  fallingBehindDevices: string[];
}

export interface SitesView extends FallingBehindThresholds {
  at: string;
  sites: SiteView[];
}

// ── uploads in progress (`GET /v1/assets`) ───────────────────────────────────────────────────────────

export interface UploadTotals {
  uploads: number;
  /** Uploads created without a length (tus creation-defer-length) that have not declared one yet. */
  unknownLength: number;
  bytesDeclared: number;
  bytesReceived: number;
  /** Declared length minus offset, over uploads with a declared length. */
  bytesPending: number;
  /** No bytes for `stalledAfterSeconds`, not expired. */
  stalled: number;
  /** Past `expiresAt`, not yet aborted by the collector. */
  expired: number;
}

/** Uploads of one workspace and file class, with its content types within. */
export interface UploadGroupView extends UploadTotals {
  workspace: string;
  fileClass: string;
  oldestCreatedAt: string;
  contentTypes: (UploadTotals & { contentType: string })[];
}

export interface UploadView {
  id: string;
  workspace: string;
  /** The site of the device that created it (null: none, or created before sites were recorded). */
  site: string | null;
  fileClass: string;
  contentType: string;
  status: string;
  size: number | null;
  offset: number;
  bytesPending: number | null;
  createdAt: string;
  lastProgressAt: string;
  silentSeconds: number;
  expiresAt: string;
}

export interface UploadsView {
  at: string;
  stalledAfterSeconds: number;
  /** How uploads are grouped, and why not by site. */
  grouping: string;
  inProgress: UploadTotals;
  groups: UploadGroupView[];
  /** Longest silent first. */
  stalled: UploadView[];
  /** Earliest expired first. */
  expired: UploadView[];
}

// ── upload backlog per site or per file class (`GET /v1/assets/backlog`) ─────────────────────────────

/** How `GET /v1/assets/backlog` groups uploads in progress: by the creating device's site, or by file class. */
export const UPLOAD_BACKLOG_GROUPINGS = ['site', 'class'] as const;
export type UploadBacklogGrouping = (typeof UPLOAD_BACKLOG_GROUPINGS)[number];

/** Uploads in progress of one workspace and site (`by=site`; `site: null` for devices without one) or file class (`by=class`). */
export interface UploadBacklogGroupView extends UploadTotals {
  workspace: string;
  /** With `by=site` only. */
  site?: string | null;
  /** With `by=class` only. */
  fileClass?: string;
  oldestCreatedAt: string;
  /** Age of the oldest upload of the group still in progress. */
  oldestSeconds: number;
}

export interface UploadBacklogView {
  at: string;
  by: UploadBacklogGrouping;
  stalledAfterSeconds: number;
  inProgress: UploadTotals;
  /** Most bytes pending first, then most uploads, then workspace and key. */
  groups: UploadBacklogGroupView[];
}

// ── job queues (`GET /v1/queues`) ───────────────────────────────────────────────────────────────────

/** The job states counted per queue: waiting, working, waiting to run again, and failed for good (until deleted). */
export const QUEUE_JOB_STATES = ['queued', 'running', 'retrying', 'failed'] as const;
export type QueueJobState = (typeof QUEUE_JOB_STATES)[number];

export interface QueueFallingBehindReason {
  /** `waiting`: the oldest queued job has waited longer than `waitThresholdSeconds`. */
  code: 'waiting';
  detail: string;
}

/** One queue of a workspace (`queue: null`: jobs of types declaring no queue, or with the field unset). */
export interface QueueView {
  workspace: string;
  queue: string | null;
  queued: number;
  running: number;
  retrying: number;
  failed: number;
  /** Attempts beyond the first, over the queue's jobs counted here. */
  retries: number;
  /** Open repairs (impossible transitions reported for its jobs). */
  repairsOpen: number;
  /** When the oldest queued job was queued (its own clock), null with none queued. */
  oldestQueuedAt: string | null;
  oldestQueuedSeconds: number | null;
  fallingBehind: boolean;
  reasons: QueueFallingBehindReason[];
}

export interface QueuesView {
  at: string;
  waitThresholdSeconds: number;
  /** The rule that says a queue falls behind, in words. */
  rule: string;
  total: Omit<QueueView, 'workspace' | 'queue' | 'oldestQueuedAt' | 'fallingBehind' | 'reasons'> & { queues: number; fallingBehind: number };
  /** Falling behind first, then longest waiting, then workspace and queue (no queue last). */
  queues: QueueView[];
}

// ── conflicts across workspaces (`/v1/conflicts`) ────────────────────────────────────────────────────

/** The gateway's conflict shape plus its workspace and how long it has been open (null once resolved). */
export type OpsConflictView = ConflictView & { workspace: string; openSeconds: number | null };

export interface OpsConflictList {
  conflicts: OpsConflictView[];
  next?: string;
  hasMore: boolean;
}

/** How many items one bulk call (resolve many conflicts, re-drive many parked entries) takes at most. */
export const OPS_BULK_LIMITS = { maxItems: 100 } as const;

/** `POST /v1/conflicts/resolve`: each conflict's outcome, in the order asked. */
export interface OpsBulkResolveResult {
  pick: 'ours' | 'theirs';
  journaled: number;
  refused: number;
  results: ({ workspace: string; conflictId: string } & ({ status: 'accepted' | 'duplicate'; eventId: string; seq: number } | { status: 'refused'; problem: Problem }))[];
}

interface OpenConflictCount {
  open: number;
  oldestOpenedAt: string | null;
  oldestOpenSeconds: number;
}

export interface ConflictHotspotsView {
  at: string;
  open: number;
  workspaces: (OpenConflictCount & { workspace: string })[];
  /** By workspace, entity type and field, most open first. */
  hotspots: (OpenConflictCount & { workspace: string; entityType: string; field: string })[];
}

export type OpsResolveResult = ResolveResponse & { workspace: string; conflictId: string };

// ── one event through the system (`GET /v1/events/:eventId`) ─────────────────────────────────────────

/** An entity as devices pull it (a change-log row's view, and each side of a replay's diff). */
export interface EntitySnapshot {
  version: number;
  deleted: boolean;
  values: Record<string, unknown>;
  inConflict: string[];
  job?: unknown;
}

/** A change-log row: an entity version an event wrote. */
export interface ChangeLogSide {
  cursor: string;
  version: number;
  deleted: boolean;
  view: EntitySnapshot;
  eventId: string;
  deviceId: string;
  streamSeq: number;
}

export interface InspectView {
  eventId: string;
  journal: {
    stream: string;
    seq: number;
    subject: string | null;
    storedAt: string | null;
    record: JournalRecord | null;
    /** Later journal copies of the same event, recorded and not applied again. */
    duplicateSeqs: number[];
  };
  receipt: {
    workspace: string;
    deviceId: string;
    deviceSeq: number;
    entity: { type: string; id: string };
    status: string;
    reason: string | null;
    streamSeq: number;
    version: number | null;
    acceptedAt: string | null;
  } | null;
  decisions: { idx: number; field: string; policy: string; rule: string; outcome: string; change: unknown; before: unknown; after: unknown; conflictId: string | null }[];
  conflicts: { opened: (ConflictView & { workspace: string })[]; resolved: (ConflictView & { workspace: string })[] };
  repairs: { id: string; code: string; reason: string; status: string; detail: unknown }[];
  parked: {
    consumer: string;
    streamSeq: number;
    subject: string;
    reason: string;
    code: ParkCode | null;
    attempts: number;
    status: ParkedStatus;
    parkedAt: string | null;
    resolvedSeq: number | null;
    resolution: string | null;
    note: string | null;
  }[];
  /** The change-log row this event wrote and the version before it. */
  entity: { workspace: string; type: string; id: string; before: ChangeLogSide | null; after: ChangeLogSide | null } | null;
}

// ── parked work (`/v1/parked`) ───────────────────────────────────────────────────────────────────────

export interface ParkedEntryView {
  consumer: string;
  seq: number;
  eventId: string | null;
  workspace: string | null;
  subject: string;
  code: ParkCode | null;
  reason: string;
  attempts: number;
  status: ParkedStatus;
  parkedAt: string;
  /** How the entry left `parked` (the action applied, or `retry`). */
  resolution: string | null;
  resolvedSeq: number | null;
  note: string | null;
  /** The parked event, when the payload is a journal record. */
  event: Pick<DeviceEvent, 'entity' | 'deviceId' | 'deviceSeq' | 'op' | 'schemaVersion'> | null;
}

/** Entries in journal order; `next` (only with `hasMore`) is the `after` of the next page. */
export interface ParkedPage {
  parked: ParkedEntryView[];
  hasMore: boolean;
  next?: string;
}

/** One audit entry (`GET /v1/audit`). */
export interface AuditEntryView {
  id: string;
  at: string;
  actor: string;
  actorKind: string;
  tokenId: string | null;
  action: string;
  target: Record<string, unknown>;
  reason: string | null;
  detail: unknown;
  outcome: string;
}

/** Newest first; `next` (only with `hasMore`) is the `before` of the next page. */
export interface AuditPage {
  entries: AuditEntryView[];
  hasMore: boolean;
  next?: string;
}

/** `POST /v1/parked/redrive`: each entry's outcome, in the order asked. */
export interface ParkedBulkResult {
  journaled: number;
  refused: number;
  results: ({ consumer: string; seq: number } & ({ status: 'journaled'; journalSeq: number; duplicate: boolean } | { status: 'refused'; problem: Problem }))[];
}

export interface ParkedDetailView extends ParkedEntryView {
  record: JournalRecord | null;
  payload: string;
  /** The message as the journal holds it at the entry's sequence. */
  journal: { seq: number; subject: string; time: string; headers: Record<string, string>; data: string } | null;
  receipt: { status: string; reason: string | null; seq: number; version: number | null } | null;
  audit: { at: string; actor: string; action: string; reason: string | null; detail: unknown; outcome: string }[];
}

/** A re-drive, edit or skip, journaled (`202`): the entry changes once merge-service applies it. */
export interface ParkedActionResult {
  consumer: string;
  seq: number;
  action: ParkedAction;
  eventId: string | null;
  journalSeq: number;
  duplicate: boolean;
  /** The entry's status when the action was journaled. */
  status: ParkedStatus;
}

// ── replays (`/v1/replays`) ──────────────────────────────────────────────────────────────────────────

/** An estimate of a replay's duration (end to end: scan, rebuild, diff) and what it rests on. */
export interface ReplayEstimate {
  seconds: number;
  eventsPerSecond: number;
  /**
   * `rate-limit`: the job's rate limit is lower than the measured (or assumed) rate, so it is the bottleneck;
   * `workspace-replays`: the median end-to-end rate of this workspace's finished replays nearest in size;
   * `installation-replays`: the same over every workspace's (this one has none);
   * `assumed`: nothing was measured yet;
   * `measured`: a plan made before estimates named their evidence (the last replay's commit rate).
   */
  basis: 'rate-limit' | 'workspace-replays' | 'installation-replays' | 'assumed' | 'measured';
  /** The basis in words: which replays, how many, their sizes and rate (absent on plans made before it existed). */
  detail?: string;
}

/**
 * queued → planning → building → diffing → built → swapped, or cancelled / failed / stale. A plan-only
 * replay goes planning → cancelled once its plan is complete.
 */
export const REPLAY_STATUSES = ['queued', 'planning', 'building', 'diffing', 'built', 'swapped', 'cancelled', 'failed', 'stale'] as const;
export type ReplayStatus = (typeof REPLAY_STATUSES)[number];

/** Counts over every entity of a replay. */
export interface ReplayDiffSummary {
  entities: { affected: number; changed: number; unchanged: number; added: number; removed: number };
  /** Entities whose field value differs, by `type.field`. */
  fields: Record<string, number>;
  conflicts: { opened: number; closed: number };
  /** Receipts whose status differs, by `live→shadow` (`none` for a missing receipt). */
  receipts: Record<string, number>;
}

/** What a swap changed live. */
export interface ReplaySwapSummary {
  entities: number;
  changed: number;
  added: number;
  removed: number;
  /** Change-log rows written (one per entity whose view changed): what devices pull next. */
  changes: number;
  conflictsOpened: number;
  conflictsWithdrawn: number;
  /** Policy revisions now in force, as `workspace/type@revision`. */
  activated: string[];
}

export interface ReplayJobView {
  id: string;
  status: ReplayStatus;
  scope: ReplayScope;
  policyRevisions: Record<string, number>;
  reason: string;
  requestedBy: string;
  eventsPerSecond: number;
  /**
   * Requested plan only: the worker ends it `cancelled` once planned (its `plan` complete, `estimate` set,
   * `finishedAt` set, `error` null) and builds nothing. One cancelled by an operator before its plan was
   * complete has no `plan.estimate`.
   */
  planOnly: boolean;
  createdAt: string | null;
  updatedAt: string | null;
  plannedAt: string | null;
  builtAt: string | null;
  finishedAt: string | null;
  plan: {
    /** Per partition, the last journal sequence live had applied when the replay was planned. */
    bounds: Record<string, number> | null;
    scanned: { events: number; lastSeq: number; toSeq: number | null };
    selectedEvents: number;
    affectedEntities: number;
    rebuildEvents: number | null;
    estimate: ReplayEstimate | null;
    revisions: Record<string, { revision: number; live: number }> | null;
  };
  progress: {
    phase: ReplayStatus;
    eventsDone: number;
    eventsTotal: number | null;
    percent: number;
    eventsPerSecond: number | null;
    etaSeconds: number | null;
    lastSeq: number;
    /** When the current phase started (or resumed), the base of the rate and ETA. */
    phaseStartedAt: string | null;
    resumes: number;
    capacityEventsPerSecond: number | null;
  };
  diff: { digest: string; summary: ReplayDiffSummary | null } | null;
  swap: ReplaySwapSummary | null;
  error: string | null;
  links: { self: string; diff: string; swap: string; cancel: string };
}

export interface ReplayJobList {
  replays: ReplayJobView[];
}

/** One entity of a replay's diff: live (what devices pull today) against shadow (the rebuild). */
export interface ReplayDiffEntity {
  workspace: string;
  entityType: string;
  entityId: string;
  selectedEvents: number;
  change: 'changed' | 'unchanged' | 'added' | 'removed';
  /** Whether what devices pull differs (version, deleted, values, fields in conflict, job). */
  viewChanged: boolean;
  live: EntitySnapshot | null;
  shadow: EntitySnapshot | null;
  /** Fields whose value differs; a side without the member has no value for the field. */
  fields: { field: string; live?: unknown; shadow?: unknown }[];
  conflicts: { opened: { id: string; field: string }[]; closed: { id: string; field: string }[] };
  receipts: { eventId: string; live: string | null; shadow: string | null }[];
}

export interface ReplayDiffPage {
  id: string;
  status: ReplayStatus;
  digest: string;
  summary: ReplayDiffSummary | null;
  entities: ReplayDiffEntity[];
  /** Pass as `after` for the next page; null on the last. */
  next: string | null;
}

export interface ReplaySwapResult {
  id: string;
  status: 'swapped';
  swap: ReplaySwapSummary;
}

// ── read scopes (`GET /v1/scopes`) ─────────────────────────────────────────────────────────────────────

/** One subscribed value of a scope (absent for a whole scope) and who holds it (at most 50 listed; the count is complete). */
export interface ScopeSubscriptionView {
  value?: string;
  subscribers: number;
  devices: string[];
}
export interface ScopeView {
  scope: string;
  types: string[];
  partitioned: boolean;
  /** Where a partitioned scope's values come from: any, or a claim. */
  values?: unknown;
  /** The roles that may read it (those reading everything are not listed). */
  readBy: string[];
  subscribers: number;
  subscriptions: ScopeSubscriptionView[];
}
export interface ScopesView {
  workspace: string;
  /** The access rules in force (null: none, every device reads everything). */
  rulesVersion: number | null;
  scopes: ScopeView[];
  /** Subscriptions to scopes the rules in force no longer declare: they deliver nothing. */
  undeclared: (ScopeSubscriptionView & { scope: string })[];
}

/** A subscriber of a scope's value and how far behind in it it is (`GET /v1/scopes/lag`). */
export interface ScopeReaderLag {
  deviceId: string;
  /** The change-log cursor the gateway last delivered to the device (null: it never read). */
  cursor: string | null;
  readAt: string | null;
  /** Changes in the scope's value after `cursor`, counted up to the view's `cap` (`cap` means at least that many). */
  behind: number;
}
/** One subscribed value of a scope (absent: the whole scope) and its lag. */
export interface ScopeValueLag {
  value?: string;
  /** The newest change-log cursor of records in the value or leaving it (null: none yet). */
  head: string | null;
  subscribers: number;
  /** The most any subscriber is behind, and how many are behind at all. */
  behind: number;
  devicesBehind: number;
  /** The subscribers, most behind first, at most `devicesLimit` of them. */
  devices: ScopeReaderLag[];
}
export interface ScopeLagView {
  workspace: string;
  scope: string;
  rulesVersion: number | null;
  at: string;
  cap: number;
  values: ScopeValueLag[];
  /** Pass as `after` for the next page of values; absent on the last page. */
  next?: string;
}
