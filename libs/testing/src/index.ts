// Public face of @tidemark/testing: the servers a test run shares, per-file fixtures on them, and
// polling assertions. Tier convention: *.spec.ts pure unit, *.int.spec.ts real servers, *.e2e.spec.ts services.
export { startSharedStack, TEST_ENV, type SharedStack, type TestEnvName } from './shared-stack';
export { testDatabase, testBucket, testNats, tempDir, bucketEnv, type TestDatabase, type TestBucket } from './fixtures';
export { eventually, type EventuallyOptions } from './eventually';
export { startServiceProcess, serviceEntry, type ServiceName, type ServiceProcess } from './service-process';
export { startSlice, count, type SliceStack } from './slice';
export { testIdentity, type TestIdentity, type TestDevice } from './identity';
export { FakeDevice, push, pushUntilAnswered, getJson } from './device';
export { faultyFirstFetch, drain } from './fetch-faults';
export { steadyIngest, type SteadyIngest } from './steady-ingest';
export { startPushFlood, type PushFlood, type PushFloodOptions, type FloodOutcome } from './push-flood';
export * from './schemas';
