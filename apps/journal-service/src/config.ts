import { Type, type Static } from '@sinclair/typebox';
import { AuthConfig, CommonConfig, DatabaseConfig, NatsConfig, httpPort, loadConfig, type ConfigSpec } from '@tidemark/config';

const schema = Type.Object({
  ...CommonConfig,
  ...NatsConfig,
  ...DatabaseConfig,
  ...AuthConfig,
  HTTP_PORT: httpPort(3002),
  HISTORY_MAX_EVENTS: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000, description: 'most journal entries one history request returns' }),
});

export const journalServiceConfigSpec: ConfigSpec<typeof schema.properties> = { service: 'journal-service', schema };
export type JournalServiceConfig = Static<typeof schema>;
export const loadJournalServiceConfig = (env: NodeJS.ProcessEnv = process.env): JournalServiceConfig => loadConfig(journalServiceConfigSpec, env);
