import type { StreamConsumerView, StreamsView } from '@tidemark/contracts';
import { gauge } from '@tidemark/telemetry';
import type { OpsViews } from '../streams/views';

/** Counts Postgres holds for the gauges, read in two queries per scrape. */
export interface LedgerCounts {
  parked: number;
  conflictsOpen: { workspace: string; open: number }[];
  uploadsInProgress: number;
  uploadBytesPending: number;
}

/** Uploads still receiving bytes, as asset-service's ledger says. */
export const UPLOADS_IN_PROGRESS = "status IN ('pending', 'uploading')";

export async function ledgerCounts(ds: OpsViews['ds']): Promise<LedgerCounts> {
  const [scalars, conflicts] = await Promise.all([
    ds.query(
      `SELECT (SELECT count(*) FROM parked_events WHERE status = 'parked') AS parked,
              (SELECT count(*) FROM asset_uploads WHERE ${UPLOADS_IN_PROGRESS}) AS uploads,
              (SELECT coalesce(sum(greatest(size - upload_offset, 0)), 0) FROM asset_uploads WHERE ${UPLOADS_IN_PROGRESS} AND size IS NOT NULL) AS bytes`,
    ) as Promise<{ parked: string; uploads: string; bytes: string }[]>,
    ds.query("SELECT workspace, count(*) AS open FROM conflicts WHERE status = 'open' GROUP BY workspace ORDER BY workspace") as Promise<{ workspace: string; open: string }[]>,
  ]);
  const s = scalars[0]!;
  return { parked: Number(s.parked), uploadsInProgress: Number(s.uploads), uploadBytesPending: Number(s.bytes), conflictsOpen: conflicts.map((c) => ({ workspace: c.workspace, open: Number(c.open) })) };
}

type Gauge = ReturnType<typeof gauge>;

/**
 * Registers the ops gauges. Their values are computed at scrape time from one stream observation and two
 * SQL queries, shared by all gauges of a scrape (and by scrapes within a second); when NATS or Postgres
 * does not answer, the gauges that depend on it are absent and `tidemark_ops_observation_up` is 0.
 */
export function registerOpsGauges(views: Pick<OpsViews, 'observer' | 'ds' | 'now'>): void {
  let ledger: { at: number; value: Promise<LedgerCounts> } | undefined;
  const counts = (): Promise<LedgerCounts> => {
    const now = views.now().getTime();
    if (!ledger || now - ledger.at >= 1000) ledger = { at: now, value: ledgerCounts(views.ds) };
    return ledger.value;
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
    gauge(name, help, ['stream', 'consumer'], fromObservation((g, o) => {
      for (const s of o.streams) for (const c of s.consumers) g.set({ stream: s.name, consumer: c.name }, value(c));
    }));

  perConsumer('tidemark_consumer_pending_messages', 'messages on the consumer’s filter not yet delivered', (c) => c.pending);
  perConsumer('tidemark_consumer_ack_pending_messages', 'messages delivered and not yet acknowledged', (c) => c.ackPending);
  perConsumer('tidemark_consumer_redelivered_messages', 'messages delivered more than once and not yet acknowledged', (c) => c.redelivered);
  perConsumer('tidemark_consumer_oldest_pending_seconds', 'age of the oldest message not yet acknowledged (0: none)', (c) => c.oldestPendingSeconds);
  gauge('tidemark_projection_lag_messages', 'journal messages of the partition after the projection checkpoint', ['partition'], fromObservation((g, o) => {
    for (const p of o.projection.partitions) g.set({ partition: p.partition }, p.lag.messages);
  }));
  gauge('tidemark_projection_lag_seconds', 'age of the partition’s oldest journal message not yet projected (0: none)', ['partition'], fromObservation((g, o) => {
    for (const p of o.projection.partitions) g.set({ partition: p.partition }, p.lag.seconds);
  }));
  gauge('tidemark_ops_observation_up', '1 when ops-api could read the streams and checkpoints at this scrape, else 0', [], async function (this: Gauge) {
    this.set((await views.observer.observe().then(() => 1).catch(() => 0)));
  });
  gauge('tidemark_parked_messages', 'journal messages parked and not yet re-driven or skipped', [], fromLedger((g, c) => g.set(c.parked)));
  gauge('tidemark_conflicts_open', 'open conflicts', ['workspace'], fromLedger((g, c) => {
    for (const w of c.conflictsOpen) g.set({ workspace: w.workspace }, w.open);
  }));
  gauge('tidemark_uploads_in_progress', 'uploads created and not yet complete, expired or terminated', [], fromLedger((g, c) => g.set(c.uploadsInProgress)));
  gauge('tidemark_upload_bytes_pending', 'bytes declared by uploads in progress and not yet received', [], fromLedger((g, c) => g.set(c.uploadBytesPending)));
}
