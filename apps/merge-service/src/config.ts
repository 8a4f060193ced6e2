import { Type, type Static } from '@sinclair/typebox';
import { CommonConfig, DatabaseConfig, NatsConfig, httpPort, loadConfig, type ConfigSpec } from '@tidemark/config';

const schema = Type.Object({
  ...CommonConfig,
  ...NatsConfig,
  ...DatabaseConfig,
  HTTP_PORT: httpPort(3003),
  MERGE_BATCH_SIZE: Type.Integer({
    minimum: 1,
    maximum: 2000,
    default: 256,
    description: 'the most journal messages applied in one Postgres transaction (each fetch asks for what is waiting, up to this)',
  }),
  MERGE_FETCH_EXPIRES_MS: Type.Integer({ minimum: 1000, maximum: 60_000, default: 1000, description: 'how long one fetch waits for messages (the JetStream client refuses less than 1000)' }),
  MERGE_ISOLATE_AFTER: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: 3,
    description: 'failed attempts of a batch, with Postgres healthy, before its messages are retried one by one (a dependency outage is waited out and never counts)',
  }),
  MERGE_PARK_AFTER: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: 5,
    description: 'failed attempts of one message, with Postgres healthy, before it is parked with its reason (a dependency outage is waited out and never counts)',
  }),
  MERGE_FAILPOINT: Type.Optional(
    Type.String({ pattern: '^after-commit:[0-9]+$', description: 'fault injection for crash tests only: `after-commit:N` SIGKILLs the process after the Nth committed batch, before its ack' }),
  ),
  MERGE_CONSUMER_PREFIX: Type.String({
    pattern: '^[a-z][a-z0-9-]{0,30}$',
    default: 'merge',
    description: 'durable consumer names (`<prefix>-p00` …); another prefix with another database builds a second, independent projection (a rebuild)',
  }),
  OUTBOX_ENABLED: Type.Boolean({ default: true, description: 'publish MERGED and REVIEW messages from the outbox (off for a rebuild that must not publish)' }),
  SCHEMA_REFRESH_MS: Type.Integer({
    minimum: 100,
    maximum: 3_600_000,
    default: 5000,
    description: 'how often the schema registry is reloaded from Postgres (an event naming a version not yet loaded reloads it at once)',
  }),
  OUTBOX_INTERVAL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 200, description: 'how often the outbox relay looks for unpublished messages' }),
});

export const mergeServiceConfigSpec: ConfigSpec<typeof schema.properties> = { service: 'merge-service', schema };
export type MergeServiceConfig = Static<typeof schema>;
export const loadMergeServiceConfig = (env: NodeJS.ProcessEnv = process.env): MergeServiceConfig => loadConfig(mergeServiceConfigSpec, env);
