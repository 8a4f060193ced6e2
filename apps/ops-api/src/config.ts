import { Type, type Static } from '@sinclair/typebox';
import { CommonConfig, DatabaseConfig, NatsConfig, httpPort, loadConfig, type ConfigSpec } from '@tidemark/config';

const schema = Type.Object({
  ...CommonConfig,
  ...NatsConfig,
  ...DatabaseConfig,
  HTTP_PORT: httpPort(3005),
});

export const opsApiConfigSpec: ConfigSpec<typeof schema.properties> = { service: 'ops-api', schema };
export type OpsApiConfig = Static<typeof schema>;
export const loadOpsApiConfig = (env: NodeJS.ProcessEnv = process.env): OpsApiConfig => loadConfig(opsApiConfigSpec, env);
