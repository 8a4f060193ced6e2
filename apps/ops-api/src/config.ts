import { Type, type Static } from '@sinclair/typebox';
import { AuthConfig, CommonConfig, DatabaseConfig, NatsConfig, httpPort, loadConfig, type ConfigSpec } from '@tidemark/config';

const schema = Type.Object({
  ...CommonConfig,
  ...NatsConfig,
  ...DatabaseConfig,
  ...AuthConfig,
  HTTP_PORT: httpPort(3005),
  SERVICE_URLS: Type.String({
    pattern: '^$|^[a-z][a-z0-9-]{0,63}=https?://[^,=\\s]+(,[a-z][a-z0-9-]{0,63}=https?://[^,=\\s]+)*$',
    default: '',
    description: 'services whose readiness the overview shows, as name=url pairs, comma-separated (e.g. gateway=http://gateway:3001,merge-service=http://merge-service:3003); empty: none',
  }),
  SERVICE_CHECK_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 30_000, default: 1500, description: 'how long the overview waits for one service’s /readyz' }),
  MERGE_CONSUMER_PREFIX: Type.String({
    pattern: '^[a-z][a-z0-9_-]{0,31}$',
    default: 'merge',
    description: 'durable consumer prefix of the projection whose checkpoints the lag views read (as merge-service’s MERGE_CONSUMER_PREFIX)',
  }),
  STALE_AFTER_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 365 * 86_400,
    default: 3600,
    description: 'a device not heard from for longer than this, while its site (or workspace) is active, is reported falling behind (default of the staleAfterSeconds query parameter)',
  }),
  BEHIND_THRESHOLD: Type.Integer({
    minimum: 0,
    maximum: 1_000_000_000,
    default: 1000,
    description: 'a device with more pushed sequences than this not yet applied is reported falling behind (default of the behindThreshold query parameter)',
  }),
  UPLOAD_STALLED_AFTER_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 30 * 86_400,
    default: 900,
    description: 'an upload in progress that received no bytes for longer than this is reported stalled (default of the stalledAfterSeconds query parameter)',
  }),
  QUEUE_WAIT_THRESHOLD_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 30 * 86_400,
    default: 600,
    description: 'a job queue whose oldest queued job has waited longer than this is reported falling behind (default of the waitThresholdSeconds query parameter)',
  }),
  RATE_SAMPLE_INTERVAL_MS: Type.Integer({
    minimum: 200,
    maximum: 600_000,
    default: 5000,
    description: 'how often ops-api samples the journal’s last sequence and the projection backlog for the ingest and projection rates (kept in memory, per instance)',
  }),
  RATE_HISTORY_SAMPLES: Type.Integer({
    minimum: 2,
    maximum: 2000,
    default: 120,
    description: 'how many of its latest samples ops-api keeps (a ring buffer, in memory, per instance) for the overview’s sparklines of rates and lag',
  }),
  RATE_WINDOW_MS: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 60_000, description: 'the sliding window the ingest and projection rates are computed over' }),
});

export const opsApiConfigSpec: ConfigSpec<typeof schema.properties> = { service: 'ops-api', schema };
export type OpsApiConfig = Static<typeof schema>;
export const loadOpsApiConfig = (env: NodeJS.ProcessEnv = process.env): OpsApiConfig => loadConfig(opsApiConfigSpec, env);

/** `SERVICE_URLS` as name → base URL, in the order given. */
export function serviceUrls(value: string): { name: string; url: string }[] {
  if (value.trim() === '') return [];
  return value.split(',').map((pair) => {
    const eq = pair.indexOf('=');
    return {
      name: pair.slice(0, eq).trim(),
      url: pair
        .slice(eq + 1)
        .trim()
        .replace(/\/+$/, ''),
    };
  });
}
