import { Type, type Static } from '@sinclair/typebox';
import { LIMITS } from '@tidemark/contracts';
import { AuthConfig, CommonConfig, CorsConfig, DatabaseConfig, NatsConfig, httpPort, loadConfig, type ConfigSpec } from '@tidemark/config';

const schema = Type.Object({
  ...CommonConfig,
  ...NatsConfig,
  ...DatabaseConfig,
  ...AuthConfig,
  ...CorsConfig,
  HTTP_PORT: httpPort(3001),
  PUSH_BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: LIMITS.maxBodyBytes, description: 'largest push request body, in bytes' }),
  PUSH_MAX_IN_FLIGHT_PER_DEVICE: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 2,
    description: 'pushes one device may have in flight at once per gateway; more are answered 429 with Retry-After before their body is read',
  }),
  PUSH_IN_FLIGHT_BYTES: Type.Integer({
    minimum: 64 * 1024,
    maximum: 4 * 1024 * 1024 * 1024,
    default: 16 * 1024 * 1024,
    description:
      'request bytes (by Content-Length) all pushes in flight may hold per gateway; a push past it is answered 503 with Retry-After before its body is read (pushes of at most 64 KiB may use a quarter more)',
  }),
  PUSH_IN_FLIGHT_EVENTS: Type.Integer({
    minimum: 500,
    maximum: 10_000_000,
    default: 20_000,
    description: 'events all pushes in flight may hold per gateway, counted once a body is parsed; a push past it is answered 503 with Retry-After, nothing journaled',
  }),
  PUSH_DEVICE_BYTES_PER_SECOND: Type.Integer({
    minimum: 1024,
    maximum: 4 * 1024 * 1024 * 1024,
    default: 1024 * 1024,
    description:
      "request bytes one device may push per second, sustained, per gateway; a push beyond the device's allowance is answered 429 with the wait in Retry-After before its body is read (sized for the single-machine default: raise it on larger deployments)",
  }),
  PUSH_DEVICE_BURST_BYTES: Type.Integer({
    minimum: 1024,
    maximum: 4 * 1024 * 1024 * 1024,
    default: 2 * 1024 * 1024,
    description: 'request bytes one device may push at once before PUSH_DEVICE_BYTES_PER_SECOND applies (a push larger than this is charged this much)',
  }),
  PUSH_RETRY_AFTER_SECONDS: Type.Integer({ minimum: 1, maximum: 600, default: 1, description: 'Retry-After of a push refused by admission control (429 or 503)' }),
  PUBLISH_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000, description: 'how long one JetStream publish waits for its ack before retrying with the same id' }),
  REFRESH_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 300, maximum: 365 * 86_400, default: 30 * 86_400, description: 'lifetime of a device refresh token (each use rotates it)' }),
  PUSH_PROGRESS_INTERVAL_MS: Type.Integer({
    minimum: 50,
    maximum: 60_000,
    default: 1000,
    description: "how often each device's highest pushed sequence is written for operations (one statement for all devices)",
  }),
  DEVICE_ACTIVITY_INTERVAL_MS: Type.Integer({
    minimum: 50,
    maximum: 60_000,
    default: 1000,
    description:
      'how often the change-log cursor last delivered to each device (its read position: lag per device and per read scope) and the writes its access rules refused are written for operations (one statement each for all devices)',
  }),
  SYNC_COMPRESS_MIN_BYTES: Type.Integer({
    minimum: 0,
    maximum: 2_147_483_647,
    default: 1024,
    description:
      'pull, long-poll and snapshot answers of at least this many bytes are compressed (br, else gzip) for a client whose Accept-Encoding takes it; the live stream is compressed whenever accepted; push bodies never',
  }),
  LIVE_RECHECK_MS: Type.Integer({ minimum: 50, maximum: 60_000, default: 1000, description: 'how often a long-poll or live stream re-reads the change log when no change notice arrived' }),
  REFRESH_REUSE_GRACE_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 3600,
    default: 120,
    description: 'how long after its first use a spent refresh token may be presented again by a client that lost the answer; after that it is reuse and ends the device login',
  }),
  STANDING_CACHE_MAX_AGE_MS: Type.Integer({
    minimum: 0,
    maximum: 300_000,
    default: 30_000,
    description:
      "longest a gateway answers a device's standing, role and access rules from memory: the backstop for a lost change notice (every revoke, re-enrolment, role change and rules publish is applied at once on the notice the admin API sends; 0 turns the cache off)",
  }),
  STANDING_CACHE_MAX_DEVICES: Type.Integer({
    minimum: 0,
    maximum: 10_000_000,
    default: 100_000,
    description: 'devices whose standing, role and access one gateway remembers at most (the least recently used is forgotten first; 0 turns the cache off)',
  }),
  OPERATOR_TOKEN_MAX_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 90 * 86_400, default: 12 * 3600, description: 'longest lifetime of an operator token minted through the admin API' }),
});

export const gatewayConfigSpec: ConfigSpec<typeof schema.properties> = { service: 'gateway', schema };
export type GatewayConfig = Static<typeof schema>;
export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env): GatewayConfig => loadConfig(gatewayConfigSpec, env);
