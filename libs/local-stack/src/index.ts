// Public face of @tidemark/local-stack: real NATS, PostgreSQL and S3 (OpenStack Swift) servers started
// locally, for `npm start` (embedded mode, data kept) and for tests (throwaway dirs, free ports).
export { findFreePort, isPortFree, preferPort } from './ports';
export { startNats, startNatsCluster, type NatsServerOptions, type NatsServerHandle, type NatsClusterOptions, type NatsClusterHandle, type NatsClusterMembership } from './nats';
export { startPostgres, createPostgresDatabase, dropPostgresDatabase, postgresDatabaseUrl, findPostgresBinDir, type PostgresOptions, type PostgresHandle } from './postgres';
export { startS3, createS3Bucket, type S3Options, type S3Handle, type S3Connection, type S3Region } from './s3';
export { ensureSystemDeps, findMissingSystemDeps, installCommand, SYSTEM_PACKAGES, type SystemDependency, type EnsureSystemDepsOptions, type MissingDependency } from './system-deps';
export { startLocalStack, EMBEDDED_PORTS, type LocalStackOptions, type LocalStack } from './local-stack';
