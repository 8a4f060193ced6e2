import { Type, type Static } from '@sinclair/typebox';
import { CommonConfig, DatabaseConfig, NatsConfig, S3Config, httpPort, loadConfig, type ConfigSpec } from '@tidemark/config';

const schema = Type.Object({
  ...CommonConfig,
  ...NatsConfig,
  ...DatabaseConfig,
  ...S3Config,
  HTTP_PORT: httpPort(3004),
});

export const assetServiceConfigSpec: ConfigSpec<typeof schema.properties> = { service: 'asset-service', schema };
export type AssetServiceConfig = Static<typeof schema>;
export const loadAssetServiceConfig = (env: NodeJS.ProcessEnv = process.env): AssetServiceConfig => loadConfig(assetServiceConfigSpec, env);
