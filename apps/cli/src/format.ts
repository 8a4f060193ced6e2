// Text output: aligned tables and one renderer per ops-api view. Pure functions from a JSON document to
// the text printed without `--json` (format.spec.ts).
import type {
  ChangeLogSide,
  ConflictHotspotsView,
  ConflictSide,
  DevicesView,
  InspectView,
  OpsConflictList,
  OpsConflictView,
  OpsResolveResult,
  OverviewView,
  QueuesView,
  UploadBacklogView,
  ParkedActionResult,
  ParkedDetailView,
  ParkedPage,
  ReplayDiffPage,
  ReplayDiffSummary,
  ReplayJobList,
  ReplayJobView,
  ReplaySwapResult,
  SitesView,
  ScopesView,
  ScopeLagView,
  StreamsView,
  UploadsView,
} from '@tidemark/contracts';

export type Cell = string | number | boolean | null | undefined;
export type Align = 'left' | 'right';
export interface Column<R> {
  header: string;
  value: (row: R) => Cell;
  /** Numbers align right unless told. */
  align?: Align;
}

/** `-` for an absent fact; numbers as they are; booleans as yes/no. */
export function cell(value: Cell): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

/** An aligned table: a header row, then one row per item; columns separated by two spaces, no trailing blanks. */
export function table<R>(columns: readonly Column<R>[], rows: readonly R[]): string {
  const cells = rows.map((r) => columns.map((c) => c.value(r)));
  const aligns: Align[] = columns.map(
    (c, i) =>
      c.align ??
      (cells.length > 0 && cells.every((row) => typeof row[i] === 'number' || row[i] === null || row[i] === undefined) && cells.some((row) => typeof row[i] === 'number') ? 'right' : 'left'),
  );
  const text = [columns.map((c) => c.header), ...cells.map((row) => row.map(cell))];
  const widths = columns.map((_, i) => Math.max(...text.map((row) => [...row[i]!].length)));
  return text
    .map((row) =>
      row
        .map((v, i) => {
          const pad = ' '.repeat(widths[i]! - [...v].length);
          return aligns[i] === 'right' ? pad + v : v + pad;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Label/value lines with the values aligned (at `width`, or after the longest label). */
export function fields(pairs: readonly (readonly [string, Cell])[], width = Math.max(0, ...pairs.map(([k]) => k.length))): string {
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`.trimEnd()).join('\n');
}

/** A duration in seconds, short: 0.4s, 12s, 3m05s, 2h10m, 3d4h. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '-';
  const s = Math.max(0, seconds);
  if (s < 10) return `${Math.round(s * 10) / 10}s`;
  if (s < 60) return `${Math.floor(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

/** Bytes in binary units: 512 B, 5.8 KiB, 1.2 GiB. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value < 10 ? Math.round(value * 10) / 10 : Math.round(value)} ${units[unit]}`;
}

/** A rate per second with one decimal, or `-`. */
export const rate = (n: number | null | undefined): string => (n === null || n === undefined ? '-' : `${Math.round(n * 10) / 10}/s`);

/** JSON for a value in a table cell (strings without quotes), cut to `max` characters. */
export function short(value: unknown, max = 40): string {
  if (value === undefined) return '-';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** A page footer when there is more to read. */
function more(next: string | null | undefined, hasMore: boolean, flag = '--after'): string[] {
  return hasMore && next ? [``, `more: ${flag} ${next}`] : [];
}

// ── status ────────────────────────────────────────────────────────────────────────────────────────────

export function renderOverview(o: OverviewView): string {
  const services =
    o.services.length === 0 ? 'none configured (SERVICE_URLS of ops-api)' : `${o.ready ? 'ready' : 'NOT READY'} (${o.services.filter((s) => s.ready).length}/${o.services.length} ready)`;
  const width = 'projection'.length;
  const lines = [
    fields(
      [
        ['at', o.at],
        ['services', services],
      ],
      width,
    ),
  ];
  if (o.services.length > 0) {
    lines.push(
      table(
        [
          { header: '  SERVICE', value: (s) => `  ${s.name}` },
          { header: 'READY', value: (s) => s.ready },
          { header: 'STATUS', value: (s) => (s.status === null ? 'no answer' : s.status) },
          { header: 'LATENCY', value: (s) => `${s.latencyMs} ms`, align: 'right' },
          { header: 'URL', value: (s) => s.url },
          { header: 'DETAIL', value: (s) => (s.ready ? '' : short(s.detail, 60)) },
        ],
        o.services,
      ),
    );
  }
  const journal = o.streams?.journal;
  lines.push(
    fields(
      [
        ['journal', journal ? `${plural(journal.messages, 'message')}, last seq ${journal.lastSeq}${journal.lastAt ? ` at ${journal.lastAt}` : ''}` : null],
        ['streams', o.streams ? `${o.streams.count}, ${plural(o.streams.messages, 'message')}, ${bytes(o.streams.bytes)}` : null],
        [
          'consumers',
          o.consumers ? `${o.consumers.count}, ${o.consumers.withBacklog} with a backlog, oldest pending ${duration(o.consumers.oldestPendingSeconds)}, ${o.consumers.redelivered} redelivered` : null,
        ],
        [
          'projection',
          o.projection
            ? `lag ${plural(o.projection.lag.messages, 'message')} / ${duration(o.projection.lag.seconds)}, ${o.projection.partitionsBehind} of ${o.projection.partitions} partitions behind`
            : null,
        ],
        [
          'rates',
          o.rates.ingestPerSecond === null && o.rates.projectPerSecond === null
            ? 'not sampled yet'
            : `ingest ${rate(o.rates.ingestPerSecond)}, project ${rate(o.rates.projectPerSecond)}${o.rates.windowSeconds ? ` over ${duration(o.rates.windowSeconds)}` : ''}`,
        ],
        ['parked', o.parked],
        ['conflicts', o.conflictsOpen === null ? null : `${o.conflictsOpen} open`],
        ['uploads', o.uploads ? `${o.uploads.inProgress} in progress, ${bytes(o.uploads.bytesPending)} pending` : null],
      ],
      width,
    ),
  );
  for (const u of o.unavailable) lines.push(`unavailable: ${u.part}: ${u.detail}`);
  return lines.join('\n');
}

/** The thresholds `status` checks; absent: not checked. */
export interface StatusThresholds {
  maxLag?: number;
  maxLagSeconds?: number;
}

/**
 * What `status` finds wrong, one line each: a configured service not ready, a part ops-api could not
 * read, the projection lag above a threshold. Empty: all is well (exit 0; otherwise exit 4).
 */
export function statusProblems(o: OverviewView, t: StatusThresholds): string[] {
  const problems: string[] = [];
  for (const s of o.services) if (!s.ready) problems.push(`${s.name} is not ready (${s.status === null ? short(s.detail, 80) : `/readyz answered ${s.status}`})`);
  for (const u of o.unavailable) problems.push(`${u.part} unavailable: ${u.detail}`);
  const lag = o.projection?.lag;
  if ((t.maxLag !== undefined || t.maxLagSeconds !== undefined) && !lag) problems.push('projection lag unknown (streams unavailable)');
  if (lag && t.maxLag !== undefined && lag.messages > t.maxLag) problems.push(`projection lag ${plural(lag.messages, 'message')} is above --max-lag ${t.maxLag}`);
  if (lag && t.maxLagSeconds !== undefined && lag.seconds > t.maxLagSeconds) problems.push(`projection lag ${duration(lag.seconds)} is above --max-lag-seconds ${t.maxLagSeconds}`);
  return problems;
}

// ── lag ───────────────────────────────────────────────────────────────────────────────────────────────

export function renderStreams(v: StreamsView): string {
  const consumers = v.streams.flatMap((s) => s.consumers.map((c) => ({ stream: s.name, ...c })));
  return [
    `at ${v.at}`,
    '',
    table(
      [
        { header: 'STREAM', value: (s) => s.name },
        { header: 'MESSAGES', value: (s) => s.messages },
        { header: 'BYTES', value: (s) => bytes(s.bytes), align: 'right' },
        { header: 'FIRST', value: (s) => s.firstSeq },
        { header: 'LAST', value: (s) => s.lastSeq },
        { header: 'LAST AT', value: (s) => s.lastAt },
      ],
      v.streams,
    ),
    '',
    consumers.length === 0
      ? 'no consumers'
      : table(
          [
            { header: 'STREAM', value: (c) => c.stream },
            { header: 'CONSUMER', value: (c) => c.name },
            { header: 'PENDING', value: (c) => c.pending },
            { header: 'ACK-PENDING', value: (c) => c.ackPending },
            { header: 'REDELIVERED', value: (c) => c.redelivered },
            { header: 'WAITING', value: (c) => c.waiting },
            { header: 'OLDEST PENDING', value: (c) => (c.lag.messages > 0 ? duration(c.oldestPendingSeconds) : '-'), align: 'right' },
          ],
          consumers,
        ),
    '',
    `projection (consumers ${v.projection.consumerPrefix}-*): lag ${plural(v.projection.total.messages, 'message')}, oldest ${duration(v.projection.total.seconds)}`,
    table(
      [
        { header: 'PARTITION', value: (p) => p.partition },
        { header: 'CONSUMER', value: (p) => p.consumer },
        { header: 'CHECKPOINT', value: (p) => p.checkpointSeq },
        { header: 'BEHIND', value: (p) => (p.exact ? p.lag.messages : `≤${p.lag.messages}`), align: 'right' },
        { header: 'OLDEST PENDING', value: (p) => (p.lag.messages > 0 ? duration(p.lag.seconds) : '-'), align: 'right' },
        { header: 'CHECKPOINT AT', value: (p) => p.checkpointAt },
      ],
      v.projection.partitions,
    ),
  ].join('\n');
}

// ── devices, sites, uploads ───────────────────────────────────────────────────────────────────────────

export function renderDevices(v: DevicesView): string {
  if (v.devices.length === 0) return `no devices match (${v.total} in all)`;
  return [
    table(
      [
        { header: 'WORKSPACE', value: (d) => d.workspace },
        { header: 'DEVICE', value: (d) => d.deviceId },
        { header: 'SITE', value: (d) => d.site },
        { header: 'STATUS', value: (d) => d.status },
        { header: 'PUSHED', value: (d) => d.lastPushedSeq },
        { header: 'APPLIED', value: (d) => d.lastAppliedSeq },
        { header: 'MISSING', value: (d) => d.missing },
        { header: 'BEHIND BY', value: (d) => d.behindBy },
        { header: 'SILENT', value: (d) => duration(d.silentSeconds), align: 'right' },
        { header: 'FALLING BEHIND', value: (d) => (d.fallingBehind ? d.reasons.map((r) => r.code).join(', ') : 'no') },
        { header: 'READ TO', value: (d) => d.read?.cursor ?? '' },
        { header: 'REFUSED', value: (d) => d.writesRefused?.events ?? '' },
      ],
      v.devices,
    ),
    ...v.devices.filter((d) => d.fallingBehind).flatMap((d) => d.reasons.map((r) => `  ${d.workspace}/${d.deviceId}: ${r.detail}`)),
    ...v.devices.flatMap((d) => (d.writesRefused ? [`  ${d.workspace}/${d.deviceId}: ${refusal(d.writesRefused)}`] : [])),
    '',
    `${v.devices.length} of ${v.total} (stale after ${duration(v.staleAfterSeconds)}, behind above ${v.behindThreshold})`,
    ...more(v.next, v.next !== null),
  ].join('\n');
}

export function renderSites(v: SitesView): string {
  if (v.sites.length === 0) return 'no sites';
  return table(
    [
      { header: 'WORKSPACE', value: (s) => s.workspace },
      { header: 'SITE', value: (s) => s.site ?? '(none)' },
      { header: 'DEVICES', value: (s) => s.devices },
      { header: 'FALLING BEHIND', value: (s) => s.fallingBehind },
      { header: 'BEHIND BY', value: (s) => s.behindBy },
      { header: 'MISSING', value: (s) => s.missing },
      { header: 'LAST SEEN', value: (s) => s.lastSeenAt },
      { header: 'OLDEST LAST SEEN', value: (s) => s.oldestLastSeenAt },
      { header: 'DEVICES BEHIND', value: (s) => s.fallingBehindDevices.join(' ') },
    ],
    v.sites,
  );
}

/** The last write refusal of a device, with its rule: "3 events refused, last 2026-… by role annotator (rules v2): /events/0/fields/label". */
function refusal(r: NonNullable<DevicesView['devices'][number]['writesRefused']>): string {
  const rule = r.last.role === null ? 'the access rules' : `role ${r.last.role} (rules v${r.last.accessRulesVersion})`;
  return `${r.events} event${r.events === 1 ? '' : 's'} refused, the last at ${r.lastAt} by ${rule}: ${r.last.denials.map((d) => `${d.pointer} ${d.code}`).join(', ')}`;
}

/** Lag within one scope: a row per subscriber of each value, most behind first. */
export function renderScopeLag(v: ScopeLagView): string {
  const head = `${v.workspace}: lag in scope ${v.scope} (access rules v${v.rulesVersion ?? '-'}; behind counted up to ${v.cap})`;
  if (v.values.length === 0)
    return `${head}
no subscribers`;
  const rows = v.values.flatMap((value) =>
    (value.devices.length > 0 ? value.devices : [undefined]).map((d) => ({
      value: value.value ?? '(all)',
      head: value.head ?? '',
      subscribers: value.subscribers,
      device: d?.deviceId ?? '',
      cursor: d?.cursor ?? '',
      readAt: d?.readAt ?? '',
      behind: d ? (d.behind >= v.cap ? `${d.behind}+` : d.behind) : '',
    })),
  );
  return [
    head,
    table(
      [
        { header: 'VALUE', value: (r) => r.value },
        { header: 'HEAD', value: (r) => r.head },
        { header: 'SUBSCRIBERS', value: (r) => r.subscribers },
        { header: 'DEVICE', value: (r) => r.device },
        { header: 'READ TO', value: (r) => r.cursor },
        { header: 'READ AT', value: (r) => r.readAt },
        { header: 'BEHIND', value: (r) => r.behind, align: 'right' },
      ],
      rows,
    ),
    ...more(v.next ?? null, v.next !== undefined),
  ].join('\n');
}

export function renderScopes(v: ScopesView): string {
  const head = v.rulesVersion === null ? `${v.workspace}: no access rules; every device reads the whole workspace` : `${v.workspace}: read scopes of access rules v${v.rulesVersion}`;
  const rows = [
    ...v.scopes.flatMap((s) =>
      (s.subscriptions.length > 0 ? s.subscriptions : [{ subscribers: 0, devices: [] as string[] }]).map((sub) => ({
        scope: s.scope,
        types: s.types.join(' '),
        readBy: s.readBy.join(' '),
        value: s.partitioned ? ((sub as { value?: string }).value ?? '') : '(all)',
        subscribers: sub.subscribers,
        devices: sub.devices.join(' '),
      })),
    ),
    ...v.undeclared.map((u) => ({ scope: `${u.scope} (not declared)`, types: '', readBy: '', value: u.value ?? '', subscribers: u.subscribers, devices: u.devices.join(' ') })),
  ];
  if (rows.length === 0) return `${head}\nno scopes declared`;
  return `${head}\n${table(
    [
      { header: 'SCOPE', value: (r) => r.scope },
      { header: 'TYPES', value: (r) => r.types },
      { header: 'READ BY', value: (r) => r.readBy },
      { header: 'VALUE', value: (r) => r.value },
      { header: 'SUBSCRIBERS', value: (r) => r.subscribers },
      { header: 'DEVICES', value: (r) => r.devices },
    ],
    rows,
  )}`;
}

export function renderUploads(v: UploadsView): string {
  const t = v.inProgress;
  const lines = [
    `${plural(t.uploads, 'upload')} in progress, ${bytes(t.bytesPending)} pending (${bytes(t.bytesReceived)} of ${bytes(t.bytesDeclared)} received), ${t.stalled} stalled (no bytes for ${duration(v.stalledAfterSeconds)}), ${t.expired} expired`,
  ];
  if (v.groups.length > 0) {
    lines.push(
      '',
      table(
        [
          { header: 'WORKSPACE', value: (g) => g.workspace },
          { header: 'CLASS', value: (g) => g.fileClass },
          { header: 'UPLOADS', value: (g) => g.uploads },
          { header: 'PENDING', value: (g) => bytes(g.bytesPending), align: 'right' },
          { header: 'STALLED', value: (g) => g.stalled },
          { header: 'EXPIRED', value: (g) => g.expired },
        ],
        v.groups,
      ),
    );
  }
  if (v.stalled.length > 0) {
    lines.push(
      '',
      'stalled:',
      table(
        [
          { header: 'UPLOAD', value: (u) => u.id },
          { header: 'WORKSPACE', value: (u) => u.workspace },
          { header: 'CLASS', value: (u) => u.fileClass },
          { header: 'PENDING', value: (u) => bytes(u.bytesPending), align: 'right' },
          { header: 'SILENT', value: (u) => duration(u.silentSeconds), align: 'right' },
        ],
        v.stalled,
      ),
    );
  }
  return lines.join('\n');
}

export function renderBacklog(v: UploadBacklogView): string {
  const t = v.inProgress;
  const lines = [
    `${plural(t.uploads, 'upload')} in progress, ${bytes(t.bytesPending)} pending, ${t.stalled} stalled (no bytes for ${duration(v.stalledAfterSeconds)}), ${t.expired} expired; by ${v.by === 'site' ? 'site' : 'file class'}`,
  ];
  if (v.groups.length > 0) {
    lines.push(
      '',
      table(
        [
          { header: 'WORKSPACE', value: (g) => g.workspace },
          v.by === 'site' ? { header: 'SITE', value: (g) => g.site ?? '(none)' } : { header: 'CLASS', value: (g) => g.fileClass },
          { header: 'UPLOADS', value: (g) => g.uploads },
          { header: 'PENDING', value: (g) => bytes(g.bytesPending), align: 'right' },
          { header: 'STALLED', value: (g) => g.stalled },
          { header: 'EXPIRED', value: (g) => g.expired },
          { header: 'OLDEST', value: (g) => duration(g.oldestSeconds), align: 'right' },
        ],
        v.groups,
      ),
    );
  }
  return lines.join('\n');
}

// ── job queues ────────────────────────────────────────────────────────────────────────────────────────

export function renderQueues(v: QueuesView): string {
  const t = v.total;
  const head = `${plural(t.queues, 'queue')}, ${t.fallingBehind} falling behind (${v.rule}); ${t.queued} queued, ${t.running} running, ${t.retrying} retrying, ${t.failed} failed`;
  if (v.queues.length === 0) return head;
  return [
    head,
    '',
    table(
      [
        { header: 'WORKSPACE', value: (q) => q.workspace },
        { header: 'QUEUE', value: (q) => q.queue ?? '(none)' },
        { header: 'QUEUED', value: (q) => q.queued },
        { header: 'RUNNING', value: (q) => q.running },
        { header: 'RETRYING', value: (q) => q.retrying },
        { header: 'FAILED', value: (q) => q.failed },
        { header: 'RETRIES', value: (q) => q.retries },
        { header: 'REPAIRS', value: (q) => q.repairsOpen },
        { header: 'OLDEST QUEUED', value: (q) => (q.oldestQueuedSeconds === null ? null : duration(q.oldestQueuedSeconds)), align: 'right' },
        { header: 'BEHIND', value: (q) => q.fallingBehind },
      ],
      v.queues,
    ),
  ].join('\n');
}

// ── parked ────────────────────────────────────────────────────────────────────────────────────────────

export function renderParkedList(v: ParkedPage): string {
  if (v.parked.length === 0) return 'no parked entries';
  return [
    table(
      [
        { header: 'CONSUMER', value: (p) => p.consumer },
        { header: 'SEQ', value: (p) => p.seq },
        { header: 'STATUS', value: (p) => p.status },
        { header: 'CODE', value: (p) => p.code },
        { header: 'WORKSPACE', value: (p) => p.workspace },
        { header: 'ENTITY', value: (p) => (p.event ? `${p.event.entity.type}/${p.event.entity.id}` : null) },
        { header: 'EVENT', value: (p) => p.eventId },
        { header: 'ATTEMPTS', value: (p) => p.attempts },
        { header: 'PARKED AT', value: (p) => p.parkedAt },
        { header: 'REASON', value: (p) => p.reason },
      ],
      v.parked,
    ),
    ...more(v.next, v.hasMore),
  ].join('\n');
}

export function renderParkedDetail(v: ParkedDetailView): string {
  const lines = [
    fields([
      ['entry', `${v.consumer} ${v.seq}`],
      ['status', v.resolution ? `${v.status} (${v.resolution}${v.resolvedSeq !== null ? ` at seq ${v.resolvedSeq}` : ''})` : v.status],
      ['code', v.code],
      ['reason', v.reason],
      ['attempts', v.attempts],
      ['parked at', v.parkedAt],
      ['workspace', v.workspace],
      ['subject', v.subject],
      ['event', v.eventId],
      ['entity', v.event ? `${v.event.entity.type}/${v.event.entity.id} (${v.event.op}, schema v${v.event.schemaVersion})` : null],
      ['device', v.event ? `${v.event.deviceId} #${v.event.deviceSeq}` : null],
      ['receipt', v.receipt ? `${v.receipt.status} at seq ${v.receipt.seq}${v.receipt.reason ? `: ${v.receipt.reason}` : ''}` : null],
      ['note', v.note],
    ]),
  ];
  if (v.audit.length > 0) {
    lines.push(
      '',
      'audit:',
      table(
        [
          { header: 'AT', value: (a) => a.at },
          { header: 'ACTOR', value: (a) => a.actor },
          { header: 'ACTION', value: (a) => a.action },
          { header: 'OUTCOME', value: (a) => a.outcome },
          { header: 'REASON', value: (a) => a.reason },
        ],
        v.audit,
      ),
    );
  }
  return lines.join('\n');
}

export function renderParkedAction(v: ParkedActionResult): string {
  const what = v.action === 'skip' ? 'skip' : 're-drive';
  return `${what} of ${v.consumer} ${v.seq} journaled at seq ${v.journalSeq}${v.duplicate ? ' (already journaled: a repeated call)' : ''}; the entry changes once merge-service applies it${v.eventId ? ` (tidemark inspect ${v.eventId})` : ''}`;
}

// ── conflicts ─────────────────────────────────────────────────────────────────────────────────────────

export function renderConflicts(v: OpsConflictList): string {
  if (v.conflicts.length === 0) return 'no conflicts';
  return [
    table(
      [
        { header: 'CONFLICT', value: (c) => c.id },
        { header: 'WORKSPACE', value: (c) => c.workspace },
        { header: 'ENTITY', value: (c) => `${c.entity.type}/${c.entity.id}` },
        { header: 'FIELD', value: (c) => c.field },
        { header: 'STATUS', value: (c) => c.status },
        { header: 'OURS', value: (c) => short(c.ours.value, 24) },
        { header: 'THEIRS', value: (c) => short(c.theirs.value, 24) },
        { header: 'OPEN FOR', value: (c) => duration(c.openSeconds), align: 'right' },
      ],
      v.conflicts,
    ),
    ...more(v.next, v.hasMore),
  ].join('\n');
}

export function renderConflict(c: OpsConflictView): string {
  const side = (s: ConflictSide): string =>
    `${c.kind === 'delete' && s.value === undefined ? (s.fields ? `fields ${short(s.fields, 50)}` : 'delete') : short(s.value, 60)} by ${s.deviceId} (event ${s.eventId})`;
  const base = c.base === undefined ? null : c.base.kind === 'value' ? short(c.base.value, 60) : `(${c.base.kind})`;
  return fields([
    ['conflict', c.id],
    ['workspace', c.workspace],
    ['entity', `${c.entity.type}/${c.entity.id}`],
    ['field', `${c.field} (${c.kind})`],
    ['rule', c.rule],
    ['status', c.status],
    ['base', base],
    ['ours', side(c.ours)],
    ['theirs', side(c.theirs)],
    ['opened', `${c.opened.acceptedAt} by event ${c.opened.eventId} (seq ${c.opened.seq}, version ${c.opened.version})`],
    ['open for', c.openSeconds === null ? null : duration(c.openSeconds)],
    ['resolved', c.resolved ? `by event ${c.resolved.eventId} (seq ${c.resolved.seq})` : null],
  ]);
}

export function renderHotspots(v: ConflictHotspotsView): string {
  if (v.hotspots.length === 0) return 'no open conflicts';
  return [
    `${plural(v.open, 'open conflict')}`,
    '',
    table(
      [
        { header: 'WORKSPACE', value: (h) => h.workspace },
        { header: 'ENTITY TYPE', value: (h) => h.entityType },
        { header: 'FIELD', value: (h) => h.field },
        { header: 'OPEN', value: (h) => h.open },
        { header: 'OLDEST OPEN FOR', value: (h) => duration(h.oldestOpenSeconds), align: 'right' },
      ],
      v.hotspots,
    ),
  ].join('\n');
}

export function renderResolve(v: OpsResolveResult): string {
  return `resolve event ${v.eventId} ${v.status === 'duplicate' ? 'was already journaled' : 'journaled'} at seq ${v.seq} for ${v.conflictId} (${v.workspace}); the conflict shows resolved once merge-service applies it`;
}

// ── inspect ───────────────────────────────────────────────────────────────────────────────────────────

export function renderInspect(v: InspectView): string {
  const event = v.journal.record?.event;
  const lines = [
    fields([
      ['event', v.eventId],
      ['journal', `${v.journal.stream} seq ${v.journal.seq}${v.journal.subject ? ` ${v.journal.subject}` : ''}${v.journal.storedAt ? ` at ${v.journal.storedAt}` : ''}`],
      ['duplicates', v.journal.duplicateSeqs.length > 0 ? `at seq ${v.journal.duplicateSeqs.join(', ')} (not applied again)` : null],
      ['device', event?.deviceId ? `${event.deviceId} #${event.deviceSeq}` : v.receipt ? `${v.receipt.deviceId} #${v.receipt.deviceSeq}` : null],
      ['entity', v.entity ? `${v.entity.workspace} ${v.entity.type}/${v.entity.id}` : null],
      ['op', event?.op],
      ['receipt', v.receipt ? `${v.receipt.status}${v.receipt.version !== null ? ` (version ${v.receipt.version})` : ''}${v.receipt.reason ? `: ${v.receipt.reason}` : ''}` : 'none'],
    ]),
  ];
  if (v.decisions.length > 0) {
    lines.push(
      '',
      'decisions:',
      table(
        [
          { header: 'FIELD', value: (d) => d.field },
          { header: 'POLICY', value: (d) => d.policy },
          { header: 'RULE', value: (d) => d.rule },
          { header: 'OUTCOME', value: (d) => d.outcome },
          { header: 'BEFORE', value: (d) => short(d.before, 24) },
          { header: 'AFTER', value: (d) => short(d.after, 24) },
          { header: 'CONFLICT', value: (d) => d.conflictId },
        ],
        v.decisions,
      ),
    );
  }
  for (const c of v.conflicts.opened) lines.push(`opened conflict ${c.id} on ${c.field} (${c.status})`);
  for (const c of v.conflicts.resolved) lines.push(`resolved conflict ${c.id} on ${c.field}`);
  for (const r of v.repairs) lines.push(`repair ${r.id}: ${r.code} (${r.status}): ${r.reason}`);
  if (v.parked.length > 0) {
    lines.push(
      '',
      'parked:',
      table(
        [
          { header: 'CONSUMER', value: (p) => p.consumer },
          { header: 'SEQ', value: (p) => p.streamSeq },
          { header: 'STATUS', value: (p) => p.status },
          { header: 'CODE', value: (p) => p.code },
          { header: 'RESOLVED', value: (p) => (p.resolution ? `${p.resolution}${p.resolvedSeq !== null ? ` at seq ${p.resolvedSeq}` : ''}` : null) },
          { header: 'REASON', value: (p) => p.reason },
        ],
        v.parked,
      ),
    );
  }
  if (v.entity) {
    const values = (side: ChangeLogSide | null): string => (side ? `version ${side.version}${side.deleted ? ' (deleted)' : ''}: ${short(side.view.values, 100)}` : 'none');
    lines.push(
      '',
      fields([
        ['before', values(v.entity.before)],
        ['after', values(v.entity.after)],
      ]),
    );
  }
  return lines.join('\n');
}

// ── replay ────────────────────────────────────────────────────────────────────────────────────────────

/** The scope as `key=value` words (`whole journal` when empty). */
export function scopeText(scope: Record<string, unknown>): string {
  const words = Object.entries(scope).map(([k, v]) => `${k}=${String(v)}`);
  return words.length > 0 ? words.join(' ') : 'whole journal';
}

export function renderReplayJob(j: ReplayJobView): string {
  const revisions = Object.entries(j.policyRevisions).map(([t, r]) => `${t}@${r}`);
  const planned = j.plan.rebuildEvents !== null;
  const p = j.progress;
  const pairs: [string, Cell][] = [
    ['replay', j.id],
    ['status', j.status],
    ['scope', scopeText(j.scope)],
    ['revisions', revisions.length > 0 ? revisions.join(' ') : 'as live'],
    ['reason', j.reason],
    ['requested', `${j.createdAt ?? '-'} by ${j.requestedBy}`],
    [
      'plan',
      planned
        ? `${plural(j.plan.selectedEvents, 'event')} selected, ${plural(j.plan.affectedEntities, 'entity', 'entities')} to rebuild from ${plural(j.plan.rebuildEvents!, 'event')}`
        : `scanned ${plural(j.plan.scanned.events, 'event')} so far`,
    ],
    [
      'estimate',
      j.plan.estimate ? `${duration(j.plan.estimate.seconds)} (${j.plan.estimate.basis}, limit ${j.eventsPerSecond}/s)${j.plan.estimate.detail ? `: ${j.plan.estimate.detail}` : ''}` : null,
    ],
    [
      'progress',
      `${p.percent}% (${p.eventsDone}${p.eventsTotal !== null ? `/${p.eventsTotal}` : ''} events)${p.eventsPerSecond !== null ? `, ${rate(p.eventsPerSecond)}` : ''}${p.etaSeconds !== null ? `, ETA ${duration(p.etaSeconds)}` : ''}${p.resumes > 0 ? `, resumed ${p.resumes}×` : ''}`,
    ],
  ];
  if (j.planOnly) pairs.push(['plan only', 'yes: it ends once planned and builds nothing']);
  if (j.error) pairs.push(['error', j.error]);
  if (j.diff) pairs.push(['digest', j.diff.digest], ...(j.diff.summary ? diffSummaryPairs(j.diff.summary) : []));
  if (j.swap) pairs.push(['swapped', short(j.swap, 200)]);
  const next = nextSteps(j);
  return [fields(pairs), ...(next.length > 0 ? ['', ...next] : [])].join('\n');
}

/** What an operator can do next with a replay in this state. */
function nextSteps(j: ReplayJobView): string[] {
  switch (j.status) {
    case 'queued':
    case 'planning':
    case 'building':
    case 'diffing':
      return [`follow it: tidemark replay status ${j.id} --watch`];
    case 'built':
      return [`read the diff: tidemark replay diff ${j.id}`, `apply it:      tidemark replay swap ${j.id} --confirm ${j.diff?.digest ?? '<digest>'} --reason "…"`];
    case 'stale':
      return ['live changed since it was built: request it again'];
    case 'swapped':
    case 'cancelled':
    case 'failed':
      return [];
  }
}

/** A diff summary as label/value pairs: entities by change, fields that differ, conflicts, receipts. */
export function diffSummaryPairs(s: ReplayDiffSummary): [string, Cell][] {
  const e = s.entities;
  const fieldsText = Object.entries(s.fields).map(([f, n]) => `${f} ${n}`);
  const receipts = Object.entries(s.receipts).map(([k, n]) => `${k} ${n}`);
  return [
    ['entities', `${e.affected} affected: ${e.changed} changed, ${e.unchanged} unchanged, ${e.added} added, ${e.removed} removed`],
    ['fields', fieldsText.length > 0 ? fieldsText.join(', ') : 'none differ'],
    ['conflicts', `${s.conflicts.opened} opened, ${s.conflicts.closed} closed`],
    ['receipts', receipts.length > 0 ? receipts.join(', ') : 'none differ'],
  ];
}

export function renderReplayList(v: ReplayJobList): string {
  if (v.replays.length === 0) return 'no replays';
  return table(
    [
      { header: 'REPLAY', value: (j) => j.id },
      { header: 'STATUS', value: (j) => j.status },
      { header: 'PROGRESS', value: (j) => `${j.progress.percent}%`, align: 'right' },
      { header: 'ENTITIES', value: (j) => j.plan.affectedEntities },
      { header: 'CHANGED', value: (j) => j.diff?.summary?.entities.changed ?? null },
      { header: 'SCOPE', value: (j) => scopeText(j.scope) },
      { header: 'REQUESTED', value: (j) => j.createdAt },
      { header: 'BY', value: (j) => j.requestedBy },
      { header: 'REASON', value: (j) => short(j.reason, 40) },
    ],
    v.replays,
  );
}

export function renderDiff(v: ReplayDiffPage): string {
  const lines = [fields([['replay', v.id], ['status', v.status], ['digest', v.digest], ...(v.summary ? diffSummaryPairs(v.summary) : [])]), ''];
  if (v.entities.length === 0) lines.push('no entities in this selection');
  else {
    lines.push(
      table(
        [
          { header: 'WORKSPACE', value: (e) => e.workspace },
          { header: 'ENTITY', value: (e) => `${e.entityType}/${e.entityId}` },
          { header: 'CHANGE', value: (e) => e.change },
          { header: 'EVENTS', value: (e) => e.selectedEvents },
          { header: 'FIELDS (live → shadow)', value: (e) => e.fields.map((f) => `${f.field}: ${short(f.live, 20)} → ${short(f.shadow, 20)}`).join('; ') },
          { header: 'CONFLICTS', value: (e) => [...e.conflicts.opened.map((c) => `+${c.field}`), ...e.conflicts.closed.map((c) => `-${c.field}`)].join(' ') },
        ],
        v.entities,
      ),
    );
  }
  lines.push(...more(v.next, v.next !== null));
  if (v.status === 'built') lines.push('', `apply it: tidemark replay swap ${v.id} --confirm ${v.digest} --reason "…"`);
  return lines.join('\n');
}

export function renderSwap(v: ReplaySwapResult): string {
  const s = v.swap;
  const parts = Object.entries(s).map(([k, value]) => `${k} ${Array.isArray(value) ? value.join(' ') || '-' : String(value)}`);
  return `replay ${v.id} swapped into live: ${parts.join(', ')}`;
}
