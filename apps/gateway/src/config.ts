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
  PUBLISH_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000, description: 'how long one JetStream publish waits for its ack before retrying with the same id' }),
  REFRESH_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 300, maximum: 365 * 86_400, default: 30 * 86_400, description: 'lifetime of a device refresh token (each use rotates it)' }),
  PUSH_PROGRESS_INTERVAL_MS: Type.Integer({ minimum: 50, maximum: 60_000, default: 1000, description: "how often each device's highest pushed sequence is written for operations (one statement for all devices)" }),
  LIVE_RECHECK_MS: Type.Integer({ minimum: 50, maximum: 60_000, default: 1000, description: 'how often a long-poll or live stream re-reads the change log when no change notice arrived' }),
  REFRESH_REUSE_GRACE_SECONDS: Type.Integer({ minimum: 0, maximum: 3600, default: 120, description: 'how long after its first use a spent refresh token may be presented again by a client that lost the answer; after that it is reuse and ends the device login' }),
  OPERATOR_TOKEN_MAX_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 90 * 86_400, default: 12 * 3600, description: 'longest lifetime of an operator token minted through the admin API' }),
});

export const gatewayConfigSpec: ConfigSpec<typeof schema.properties> = { service: 'gateway', schema };
export type GatewayConfig = Static<typeof schema>;
export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env): GatewayConfig => loadConfig(gatewayConfigSpec, env);
