import type { JetStreamConnection } from '@tidemark/messaging';
import { ConsumerCheckpointsRepository, DeviceActivityRepository, ScopeFactsRepository, type DataSource } from '@tidemark/persistence';
import { serviceUrls, type OpsApiConfig } from '../config';
import { StreamObserver } from './observer';
import { RateSampler } from '../overview/rate-sampler';
import { registerOpsGauges } from '../lag/gauges';

export const OPS_VIEWS = Symbol('OPS_VIEWS');

/** What the observability views share: one observer of streams and checkpoints, the rate sampler, thresholds. */
export interface OpsViews {
  connection: () => JetStreamConnection;
  ds: DataSource;
  /** Read scopes, their subscribers and how far behind each is. */
  scopeFacts: ScopeFactsRepository;
  /** Devices' read positions and the writes their access rules refused. */
  deviceActivity: DeviceActivityRepository;
  observer: StreamObserver;
  sampler: RateSampler;
  now: () => Date;
  /** Journal partitions (subjects of resolve events). */
  partitions: number;
  services: { name: string; url: string }[];
  serviceTimeoutMs: number;
  staleAfterSeconds: number;
  behindThreshold: number;
  stalledAfterSeconds: number;
  /** A queue whose oldest queued job waited longer falls behind. */
  queueWaitThresholdSeconds: number;
}

/**
 * Builds the views' shared parts and registers the Prometheus gauges, which are computed from one
 * observation at scrape time. The sampler is started and stopped by the overview controller's lifecycle.
 */
export function createOpsViews(config: OpsApiConfig, deps: { connection: () => JetStreamConnection; ds: DataSource; now?: () => Date }): OpsViews {
  const now = deps.now ?? (() => new Date());
  const observer = new StreamObserver({ connection: deps.connection, checkpoints: new ConsumerCheckpointsRepository(deps.ds), consumerPrefix: config.MERGE_CONSUMER_PREFIX, now });
  const views: OpsViews = {
    connection: deps.connection,
    ds: deps.ds,
    scopeFacts: new ScopeFactsRepository(deps.ds),
    deviceActivity: new DeviceActivityRepository(deps.ds),
    observer,
    sampler: new RateSampler(observer, { intervalMs: config.RATE_SAMPLE_INTERVAL_MS, windowMs: config.RATE_WINDOW_MS, historySamples: config.RATE_HISTORY_SAMPLES, now }),
    now,
    partitions: config.JOURNAL_PARTITIONS,
    services: serviceUrls(config.SERVICE_URLS),
    serviceTimeoutMs: config.SERVICE_CHECK_TIMEOUT_MS,
    staleAfterSeconds: config.STALE_AFTER_SECONDS,
    behindThreshold: config.BEHIND_THRESHOLD,
    stalledAfterSeconds: config.UPLOAD_STALLED_AFTER_SECONDS,
    queueWaitThresholdSeconds: config.QUEUE_WAIT_THRESHOLD_SECONDS,
  };
  registerOpsGauges(views);
  return views;
}
