import { Type, type Static } from '@sinclair/typebox';
import { LIMITS } from '@tidemark/contracts';
import { CommonConfig, DatabaseConfig, NatsConfig, httpPort, loadConfig, type ConfigSpec } from '@tidemark/config';

const schema = Type.Object({
  ...CommonConfig,
  ...NatsConfig,
  ...DatabaseConfig,
  HTTP_PORT: httpPort(3001),
  PUSH_BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: LIMITS.maxBodyBytes, description: 'largest push request body, in bytes' }),
  PUBLISH_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000, description: 'how long one JetStream publish waits for its ack before retrying with the same id' }),
  DEFAULT_WORKSPACE: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'default', description: 'workspace used when a request names none' }),
});

export const gatewayConfigSpec: ConfigSpec<typeof schema.properties> = { service: 'gateway', schema };
export type GatewayConfig = Static<typeof schema>;
export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env): GatewayConfig => loadConfig(gatewayConfigSpec, env);
