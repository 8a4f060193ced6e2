import type { StreamConsumerView, StreamsView } from '@tidemark/contracts';
import { assessDevices, queueSeries, summarizeSites, type QueueSeries } from '@tidemark/ops';
import { UploadBacklogRepository } from '@tidemark/persistence';
import { gauge } from '@tidemark/telemetry';
import type { OpsViews } from '../streams/views';
import { readDeviceFacts } from '../devices/device-facts';
import { readQueues } from '../queues/queue-view';

/**
 * The most label values one gauge reports for an open-ended label (workspace, site): the largest ones,
 * and the rest summed into one `_other` series. Workspaces and sites are created by operators and have no
 * cap of their own, so this is what keeps each such gauge at most `MAX_SERIES + 1` series.
 */
export const MAX_SERIES = 50;
/** The label value the series beyond `MAX_SERIES` are summed into. */
export const OTHER = '_other';
/** The `site` label of devices registered without a site. */
export const NO_SITE = '_none';

/**
 * Keeps the `max` entries with the largest `rank` (ties by key, so the choice is stable) and sums the rest,
 * value by value, into one entry labelled `other`.
 */
export function topSeries<K extends Record<string, string>>(entries: readonly { labels: K; values: number[] }[], max: number, other: K): { labels: K; values: number[] }[] {
  const key = (l: K): string => JSON.stringify(l);
  const sorted = [...entries].sort((a, b) => b.values[0]! - a.values[0]! || (b.values[1] ?? 0) - (a.values[1] ?? 0) || (key(a.labels) < key(b.labels) ? -1 : 1));
  if (sorted.length <= max) return sorted;
  const rest = sorted.slice(max);
  return [...sorted.slice(0, max), { labels: other, values: rest[0]!.values.map((_, i) => rest.reduce((sum, e) => sum + e.values[i]!, 0)) }];
}

/** Counts Postgres holds for the gauges, read in three queries per scrape. */
export interface LedgerCounts {
  parked: number;
  conflictsOpen: { workspace: string; open: number }[];
  uploadsInProgress: number;
  uploadBytesPending: number;
  /** Unpublished rows per outbox table (merge-service's `outbox`, asset-service's `asset_outbox`). */
  outboxPending: { table: string; pending: number }[];
  /** Per file class: uploads in progress, and those stalled (no bytes for `stalledAfterSeconds`, not expired). */
  uploadsByClass: { fileClass: string; inProgress: number; stalled: number }[];
}

/** Uploads still receiving bytes, as asset-service's ledger says. */
export const UPLOADS_IN_PROGRESS = "status IN ('pending', 'uploading')";

export async function ledgerCounts(ds: OpsViews['ds'], now: Date, stalledAfterSeconds: number): Promise<LedgerCounts> {
  const [scalars, conflicts, classes] = await Promise.all([
    ds.query(
      `SELECT (SELECT count(*) FROM parked_events WHERE status = 'parked') AS parked,
              (SELECT count(*) FROM asset_uploads WHERE ${UPLOADS_IN_PROGRESS}) AS uploads,
              (SELECT coalesce(sum(greatest(size - upload_offset, 0)), 0) FROM asset_uploads WHERE ${UPLOADS_IN_PROGRESS} AND size IS NOT NULL) AS bytes,
              (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS outbox,
              (SELECT count(*) FROM asset_outbox WHERE published_at IS NULL) AS asset_outbox`,
    ) as Promise<{ parked: string; uploads: string; bytes: string; outbox: string; asset_outbox: string }[]>,
    ds.query("SELECT workspace, count(*) AS open FROM conflicts WHERE status = 'open' GROUP BY workspace ORDER BY workspace") as Promise<{ workspace: string; open: string }[]>,
    // Stalled as the uploads view counts it: no bytes for stalledAfterSeconds and not yet expired.
    ds.query(
      `SELECT file_class, count(*) AS uploads,
              count(*) FILTER (WHERE updated_at <= $1::timestamptz - make_interval(secs => $2::double precision) AND expires_at > $1::timestamptz) AS stalled
         FROM asset_uploads WHERE ${UPLOADS_IN_PROGRESS} GROUP BY file_class ORDER BY file_class`,
      [now, stalledAfterSeconds],
    ) as Promise<{ file_class: string; uploads: string; stalled: string }[]>,
  ]);
  const s = scalars[0]!;
  return {
    parked: Number(s.parked),
    uploadsInProgress: Number(s.uploads),
    uploadBytesPending: Number(s.bytes),
    conflictsOpen: conflicts.map((c) => ({ workspace: c.workspace, open: Number(c.open) })),
    outboxPending: [
      { table: 'outbox', pending: Number(s.outbox) },
      { table: 'asset_outbox', pending: Number(s.asset_outbox) },
    ],
    uploadsByClass: classes.map((c) => ({ fileClass: c.file_class, inProgress: Number(c.uploads), stalled: Number(c.stalled) })),
  };
}

type Gauge = ReturnType<typeof gauge>;

/** Per (workspace, site) of the devices' assessment: devices falling behind and pushed sequences not yet applied. */
async function siteCounts(views: Pick<OpsViews, 'ds' | 'now' | 'staleAfterSeconds' | 'behindThreshold'>): Promise<{ labels: { workspace: string; site: string }; values: number[] }[]> {
  const facts = await readDeviceFacts(views.ds, null, null);
  const devices = assessDevices(facts, views.now(), { staleAfterSeconds: views.staleAfterSeconds, behindThreshold: views.behindThreshold });
  const sites = summarizeSites(devices).map((s) => ({ labels: { workspace: s.workspace, site: s.site ?? NO_SITE }, values: [s.fallingBehind, s.behindBy] }));
  return topSeries(sites, MAX_SERIES, { workspace: OTHER, site: OTHER });
}

/** The queue gauges' series: every workspace's queues, the `MAX_SERIES` busiest each with their own (see `queueSeries`). */
async function queueGaugeSeries(views: Pick<OpsViews, 'ds' | 'now' | 'queueWaitThresholdSeconds'>): Promise<QueueSeries[]> {
  const view = await readQueues(views.ds, null, views.now(), views.queueWaitThresholdSeconds);
  return queueSeries(view.queues, MAX_SERIES, { other: OTHER, none: NO_SITE });
}

/** Uploads in progress and bytes pending per (workspace, site), the `MAX_SERIES` with the most bytes pending. */
async function siteUploadSeries(views: Pick<OpsViews, 'ds' | 'now' | 'stalledAfterSeconds'>): Promise<{ labels: { workspace: string; site: string }; values: number[] }[]> {
  const rows = await new UploadBacklogRepository(views.ds).backlog({ by: 'site', workspace: null, now: views.now(), stalledAfterSeconds: views.stalledAfterSeconds });
  return topSeries(
    rows.map((r) => ({ labels: { workspace: r.workspace, site: r.key ?? NO_SITE }, values: [r.bytesPending, r.uploads] })),
    MAX_SERIES,
    { workspace: OTHER, site: OTHER },
  );
}

/**
 * Registers the ops gauges. Their values are computed at scrape time from one stream observation and a
 * few SQL queries, shared by all gauges of a scrape (and by scrapes within a second; the device
 * assessment, which reads every device, within five seconds); when NATS or Postgres does not answer, the
 * gauges that depend on it are absent and `tidemark_ops_observation_up` is 0.
 *
 * Label cardinality: `stream`, `consumer` and `partition` follow the journal topology (streams declared in
 * code, one consumer per partition, `JOURNAL_PARTITIONS`); `table` and `file_class` take values fixed in
 * code; `workspace` and `site` are capped at `MAX_SERIES` series per gauge (see `topSeries`), and so are
 * (`workspace`, `queue`) pairs (see `queueSeries`: the busiest queues, the rest summed as `_other`); `state` takes
 * the four values of `QUEUE_JOB_STATES`.
 */
export function registerOpsGauges(views: Pick<OpsViews, 'observer' | 'ds' | 'now' | 'staleAfterSeconds' | 'behindThreshold' | 'stalledAfterSeconds' | 'queueWaitThresholdSeconds'>): void {
  let ledger: { at: number; value: Promise<LedgerCounts> } | undefined;
  const counts = (): Promise<LedgerCounts> => {
    const now = views.now();
    if (!ledger || now.getTime() - ledger.at >= 1000) ledger = { at: now.getTime(), value: ledgerCounts(views.ds, now, views.stalledAfterSeconds) };
    return ledger.value;
  };
  let assessment: { at: number; value: ReturnType<typeof siteCounts> } | undefined;
  const sites = (): ReturnType<typeof siteCounts> => {
    const now = views.now().getTime();
    if (!assessment || now - assessment.at >= 5000) assessment = { at: now, value: siteCounts(views) };
    return assessment.value;
  };
  const fromSites = (index: number) =>
    async function (this: Gauge): Promise<void> {
      this.reset();
      const s = await sites().catch(() => undefined);
      for (const site of s ?? []) this.set(site.labels, site.values[index]!);
    };
  let queueRead: { at: number; value: Promise<QueueSeries[]> } | undefined;
  const queues = (): Promise<QueueSeries[]> => {
    const now = views.now().getTime();
    if (!queueRead || now - queueRead.at >= 1000) queueRead = { at: now, value: queueGaugeSeries(views) };
    return queueRead.value;
  };
  const fromQueues = (fill: (g: Gauge, q: QueueSeries) => void) =>
    async function (this: Gauge): Promise<void> {
      this.reset();
      for (const q of (await queues().catch(() => undefined)) ?? []) fill(this, q);
    };
  let uploadRead: { at: number; value: ReturnType<typeof siteUploadSeries> } | undefined;
  const siteUploads = (index: number) =>
    async function (this: Gauge): Promise<void> {
      this.reset();
      const now = views.now().getTime();
      if (!uploadRead || now - uploadRead.at >= 1000) uploadRead = { at: now, value: siteUploadSeries(views) };
      for (const s of (await uploadRead.value.catch(() => undefined)) ?? []) this.set(s.labels, s.values[index]!);
    };
  const fromObservation = (fill: (g: Gauge, o: StreamsView) => void) =>
    async function (this: Gauge): Promise<void> {
      this.reset();
      const observation = await views.observer.observe().catch(() => undefined);
      if (observation) fill(this, observation);
    };
  const fromLedger = (fill: (g: Gauge, c: LedgerCounts) => void) =>
    async function (this: Gauge): Promise<void> {
      this.reset();
      const c = await counts().catch(() => undefined);
      if (c) fill(this, c);
    };
  const perConsumer = (name: string, help: string, value: (c: StreamConsumerView) => number) =>
    gauge(
      name,
      help,
      ['stream', 'consumer'],
      fromObservation((g, o) => {
        for (const s of o.streams) for (const c of s.consumers) g.set({ stream: s.name, consumer: c.name }, value(c));
      }),
    );

  perConsumer('tidemark_consumer_pending_messages', 'messages on the consumer’s filter not yet delivered', (c) => c.pending);
  perConsumer('tidemark_consumer_ack_pending_messages', 'messages delivered and not yet acknowledged', (c) => c.ackPending);
  perConsumer('tidemark_consumer_redelivered_messages', 'messages delivered more than once and not yet acknowledged', (c) => c.redelivered);
  perConsumer('tidemark_consumer_oldest_pending_seconds', 'age of the oldest message not yet acknowledged (0: none)', (c) => c.oldestPendingSeconds);
  gauge(
    'tidemark_projection_lag_messages',
    'journal messages of the partition after the projection checkpoint',
    ['partition'],
    fromObservation((g, o) => {
      for (const p of o.projection.partitions) g.set({ partition: p.partition }, p.lag.messages);
    }),
  );
  gauge(
    'tidemark_projection_lag_seconds',
    'age of the partition’s oldest journal message not yet projected (0: none)',
    ['partition'],
    fromObservation((g, o) => {
      for (const p of o.projection.partitions) g.set({ partition: p.partition }, p.lag.seconds);
    }),
  );
  gauge('tidemark_ops_observation_up', '1 when ops-api could read the streams and checkpoints at this scrape, else 0', [], async function (this: Gauge) {
    this.set(
      await views.observer
        .observe()
        .then(() => 1)
        .catch(() => 0),
    );
  });
  gauge(
    'tidemark_parked_messages',
    'journal messages parked and not yet re-driven or skipped',
    [],
    fromLedger((g, c) => g.set(c.parked)),
  );
  gauge(
    'tidemark_conflicts_open',
    `open conflicts, by workspace (the ${MAX_SERIES} with the most; the rest summed as ${OTHER})`,
    ['workspace'],
    fromLedger((g, c) => {
      const top = topSeries(
        c.conflictsOpen.map((w) => ({ labels: { workspace: w.workspace }, values: [w.open] })),
        MAX_SERIES,
        { workspace: OTHER },
      );
      for (const w of top) g.set(w.labels, w.values[0]!);
    }),
  );
  gauge(
    'tidemark_uploads_in_progress',
    'uploads created and not yet complete, expired or terminated',
    [],
    fromLedger((g, c) => g.set(c.uploadsInProgress)),
  );
  gauge(
    'tidemark_upload_bytes_pending',
    'bytes declared by uploads in progress and not yet received',
    [],
    fromLedger((g, c) => g.set(c.uploadBytesPending)),
  );
  gauge(
    'tidemark_uploads_in_progress_by_class',
    'uploads in progress, by file class',
    ['file_class'],
    fromLedger((g, c) => {
      for (const u of c.uploadsByClass) g.set({ file_class: u.fileClass }, u.inProgress);
    }),
  );
  gauge(
    'tidemark_uploads_stalled',
    'uploads in progress that received no bytes for UPLOAD_STALLED_AFTER_SECONDS and have not expired, by file class',
    ['file_class'],
    fromLedger((g, c) => {
      for (const u of c.uploadsByClass) g.set({ file_class: u.fileClass }, u.stalled);
    }),
  );
  gauge(
    'tidemark_upload_bytes_pending_by_site',
    `bytes declared by uploads in progress and not yet received, by workspace and the site of the device that created the upload (${NO_SITE}: no site; the ${MAX_SERIES} with the most, the rest summed as ${OTHER})`,
    ['workspace', 'site'],
    siteUploads(0),
  );
  gauge('tidemark_uploads_in_progress_by_site', 'uploads in progress, by workspace and site (the same series as tidemark_upload_bytes_pending_by_site)', ['workspace', 'site'], siteUploads(1));
  const queueLabel = `by workspace and queue (${NO_SITE}: no queue; the ${MAX_SERIES} with the most jobs waiting, the rest summed as ${OTHER})`;
  gauge(
    'tidemark_queue_jobs',
    `jobs queued, running, retrying or failed, by state, ${queueLabel}`,
    ['workspace', 'queue', 'state'],
    fromQueues((g, q) => {
      for (const state of ['queued', 'running', 'retrying', 'failed'] as const) g.set({ workspace: q.workspace, queue: q.queue, state }, q[state]);
    }),
  );
  gauge(
    'tidemark_queue_oldest_queued_seconds',
    `age of the oldest queued job (0: none queued; ${OTHER}: the largest of the rest), ${queueLabel}`,
    ['workspace', 'queue'],
    fromQueues((g, q) => g.set({ workspace: q.workspace, queue: q.queue }, q.oldestQueuedSeconds)),
  );
  gauge(
    'tidemark_queue_retries',
    `attempts beyond the first of the jobs counted in tidemark_queue_jobs, ${queueLabel}`,
    ['workspace', 'queue'],
    fromQueues((g, q) => g.set({ workspace: q.workspace, queue: q.queue }, q.retries)),
  );
  gauge(
    'tidemark_queue_repairs_open',
    `open repairs (impossible job transitions) of the queue’s jobs, ${queueLabel}`,
    ['workspace', 'queue'],
    fromQueues((g, q) => g.set({ workspace: q.workspace, queue: q.queue }, q.repairsOpen)),
  );
  gauge(
    'tidemark_queue_falling_behind',
    `1 when the queue’s oldest queued job waited more than QUEUE_WAIT_THRESHOLD_SECONDS, else 0 (${OTHER}: how many of the rest do), ${queueLabel}`,
    ['workspace', 'queue'],
    fromQueues((g, q) => g.set({ workspace: q.workspace, queue: q.queue }, q.fallingBehind)),
  );
  gauge(
    'tidemark_outbox_pending_messages',
    'outbox rows committed and not yet published to JetStream, by outbox table',
    ['table'],
    fromLedger((g, c) => {
      for (const o of c.outboxPending) g.set({ table: o.table }, o.pending);
    }),
  );
  gauge(
    'tidemark_devices_falling_behind',
    `devices falling behind (stale or behind the threshold), by workspace and site (${NO_SITE}: no site; the ${MAX_SERIES} sites with the most, the rest summed as ${OTHER})`,
    ['workspace', 'site'],
    fromSites(0),
  );
  gauge(
    'tidemark_site_behind_sequences',
    'sequences the site’s devices pushed and the projection has not applied yet, by workspace and site (the same series as tidemark_devices_falling_behind)',
    ['workspace', 'site'],
    fromSites(1),
  );
}
