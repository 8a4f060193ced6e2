// The parts of ops-api's JSON the CLI renders as text (apps/ops-api/README.md documents every view).
// Structural and partial on purpose: the CLI prints `--json` documents as received, and a member it does
// not know is simply not shown in its tables.
import type { ConflictView } from '@tidemark/contracts';

export interface Lag {
  messages: number;
  seconds: number;
}

export interface ServiceHealth {
  name: string;
  url: string;
  ready: boolean;
  status: number | null;
  detail: unknown;
  latencyMs: number;
}

export interface Overview {
  at: string;
  services: ServiceHealth[];
  ready: boolean | null;
  streams: { count: number; messages: number; bytes: number; journal: { messages: number; lastSeq: number; lastAt: string | null } | null } | null;
  consumers: { count: number; withBacklog: number; oldestPendingSeconds: number; redelivered: number } | null;
  projection: { consumerPrefix: string; partitions: number; partitionsBehind: number; lag: Lag } | null;
  rates: { ingestPerSecond: number | null; projectPerSecond: number | null; windowSeconds?: number; samples?: number };
  parked: number | null;
  conflictsOpen: number | null;
  uploads: { inProgress: number; bytesPending: number } | null;
  unavailable: { part: string; detail: string }[];
}

export interface ConsumerLag {
  name: string;
  filter: string | null;
  pending: number;
  ackPending: number;
  redelivered: number;
  waiting: number;
  ackFloor: number;
  delivered: number;
  lag: Lag & { oldestSeq?: number | null; oldestAt?: string | null };
  oldestPendingSeconds: number;
}

export interface StreamsView {
  at: string;
  streams: { name: string; messages: number; bytes: number; firstSeq: number; lastSeq: number; firstAt: string | null; lastAt: string | null; consumers: ConsumerLag[] }[];
  projection: {
    consumerPrefix: string;
    partitions: { partition: string; consumer: string; checkpointSeq: number; checkpointAt: string | null; lag: Lag & { oldestSeq?: number | null }; exact: boolean }[];
    total: Lag;
  };
}

export interface DeviceView {
  workspace: string;
  deviceId: string;
  site: string | null;
  status: string | null;
  lastPushedSeq: number | null;
  lastAppliedSeq: number;
  missing: number;
  behindBy: number | null;
  lastSeenAt: string | null;
  silentSeconds: number | null;
  fallingBehind: boolean;
  reasons: { code: string; detail: string }[];
}

export interface DevicesView {
  at: string;
  staleAfterSeconds: number;
  behindThreshold: number;
  total: number;
  next: string | null;
  devices: DeviceView[];
}

export interface SitesView {
  at: string;
  sites: { workspace: string; site: string | null; devices: number; fallingBehind: number; fallingBehindDevices: string[]; oldestLastSeenAt: string | null; lastSeenAt: string | null; behindBy: number; missing: number }[];
}

export interface UploadTotals {
  uploads: number;
  unknownLength: number;
  bytesDeclared: number;
  bytesReceived: number;
  bytesPending: number;
  stalled: number;
  expired: number;
}

export interface UploadsView {
  at: string;
  stalledAfterSeconds: number;
  inProgress: UploadTotals;
  groups: (UploadTotals & { workspace: string; fileClass: string })[];
  stalled: { id: string; workspace: string; fileClass: string; bytesPending: number | null; silentSeconds: number }[];
  expired: { id: string; workspace: string; fileClass: string; expiresAt: string }[];
}

export interface ParkedEntry {
  consumer: string;
  seq: number;
  eventId: string | null;
  workspace: string | null;
  subject: string;
  code: string | null;
  reason: string;
  attempts: number;
  status: string;
  parkedAt: string;
  resolution: string | null;
  resolvedSeq: number | null;
  note: string | null;
  event: { entity: { type: string; id: string }; deviceId: string; deviceSeq: number; op: string; schemaVersion: number } | null;
}

export interface ParkedList {
  parked: ParkedEntry[];
  hasMore: boolean;
  next?: string;
}

export interface ParkedDetail extends ParkedEntry {
  receipt: { status: string; reason: string | null; seq: number; version: number | null } | null;
  audit: { at: string; actor: string; action: string; reason: string | null; outcome: string }[];
}

export interface ParkedActionResult {
  consumer: string;
  seq: number;
  action: string;
  eventId: string | null;
  journalSeq: number;
  duplicate: boolean;
}

export type OpsConflict = ConflictView & { workspace: string; openSeconds: number | null };

export interface ConflictsView {
  conflicts: OpsConflict[];
  next?: string;
  hasMore: boolean;
}

export interface HotspotsView {
  at: string;
  open: number;
  workspaces: { workspace: string; open: number; oldestOpenedAt: string | null; oldestOpenSeconds: number | null }[];
  hotspots: { workspace: string; entityType: string; field: string; open: number; oldestOpenedAt: string | null; oldestOpenSeconds: number | null }[];
}

export interface ResolveResult {
  eventId: string;
  seq: number;
  status: string;
  workspace: string;
  conflictId: string;
}

export interface ChangeSide {
  cursor: string;
  version: number;
  deleted: boolean;
  view: { values?: Record<string, unknown>; inConflict?: string[] } | null;
  eventId: string;
  deviceId: string;
  streamSeq: number;
}

export interface InspectView {
  eventId: string;
  journal: { stream: string; seq: number; subject: string | null; storedAt: string | null; record: { workspace?: string; acceptedAt?: string; event?: { deviceId?: string; deviceSeq?: number; op?: string; entity?: { type: string; id: string } } } | null; duplicateSeqs: number[] };
  receipt: { workspace: string; deviceId: string; deviceSeq: number; entity: { type: string; id: string }; status: string; reason: string | null; streamSeq: number; version: number | null; acceptedAt: string | null } | null;
  decisions: { idx: number; field: string; policy: string; rule: string; outcome: string; before: unknown; after: unknown; conflictId: string | null }[];
  conflicts: { opened: (ConflictView & { workspace: string })[]; resolved: (ConflictView & { workspace: string })[] };
  repairs: { id: string; code: string; reason: string; status: string }[];
  parked: { consumer: string; streamSeq: number; code: string | null; reason: string; status: string; resolution: string | null; resolvedSeq: number | null; note: string | null }[];
  entity: { workspace: string; type: string; id: string; before: ChangeSide | null; after: ChangeSide | null } | null;
}

/** Where a replay job is: queued → planning → building → diffing → built → swapped, or cancelled / failed / stale. */
export type ReplayStatus = 'queued' | 'planning' | 'building' | 'diffing' | 'built' | 'swapped' | 'cancelled' | 'failed' | 'stale';

export interface DiffSummary {
  entities: { affected: number; changed: number; unchanged: number; added: number; removed: number };
  fields: Record<string, number>;
  conflicts: { opened: number; closed: number };
  receipts: Record<string, number>;
}

export interface ReplayJob {
  id: string;
  status: ReplayStatus;
  scope: Record<string, unknown>;
  policyRevisions: Record<string, number>;
  reason: string;
  requestedBy: string;
  eventsPerSecond: number;
  createdAt: string | null;
  plannedAt: string | null;
  builtAt: string | null;
  finishedAt: string | null;
  plan: {
    scanned: { events: number; lastSeq: number; toSeq: number | null };
    selectedEvents: number;
    affectedEntities: number;
    rebuildEvents: number | null;
    estimate: { seconds: number; basis: string } | null;
  };
  progress: {
    phase: string;
    eventsDone: number;
    eventsTotal: number | null;
    percent: number;
    eventsPerSecond: number | null;
    etaSeconds: number | null;
    resumes: number;
  };
  diff: { digest: string; summary: DiffSummary | null } | null;
  swap: unknown;
  error: string | null;
}

export interface ReplayList {
  replays: ReplayJob[];
}

export interface DiffEntity {
  workspace: string;
  entityType: string;
  entityId: string;
  selectedEvents: number;
  change: string;
  viewChanged?: boolean;
  fields?: { field: string; live?: unknown; shadow?: unknown }[];
  conflicts?: { opened: { id: string; field: string }[]; closed: { id: string; field: string }[] };
  receipts?: { eventId: string; live: string | null; shadow: string | null }[];
}

export interface DiffPage {
  id: string;
  status: ReplayStatus;
  digest: string;
  summary: DiffSummary | null;
  entities: DiffEntity[];
  next: string | null;
}

export interface SwapResult {
  id: string;
  status: string;
  swap: Record<string, unknown>;
}
