import type { LIMITS, SEQUENCE_LIMITS, SYNC_LIMITS } from '@tidemark/contracts';

/**
 * The server's limits the client needs, as plain numbers. They equal `LIMITS` of `@tidemark/contracts`
 * (a unit test holds them equal); they are copied rather than imported at run time so a device loads no
 * schema or validator code: the package's only run-time imports are Node built-ins.
 */
export const CLIENT_LIMITS = {
  maxEventsPerBatch: 500,
  maxBodyBytes: 1024 * 1024,
  maxEventBytes: 64 * 1024,
  maxFieldsPerEvent: 64,
  maxPullLimit: 1000,
  /** Longest long-poll the gateway holds (seconds). */
  maxWaitSeconds: 30,
  /** Sequence ranges in one report of abandoned sequences. */
  maxAbandonedRanges: 100,
} as const satisfies Partial<Record<keyof typeof LIMITS | keyof typeof SYNC_LIMITS | keyof typeof SEQUENCE_LIMITS, number>>;
