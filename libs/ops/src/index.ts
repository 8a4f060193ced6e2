// Public face of @tidemark/ops: pure computations of the operator views (lag and ages, devices and sites
// falling behind, rates over a sliding window). No I/O and no clock: `now` is always an argument. The views
// they compute are ops-api's wire types, defined in @tidemark/contracts (`http/ops.ts`).
export { ageSeconds, isoOrNull, latest, roundSeconds, toMillis, type Instant } from './time';
export { consumerBacklog, oldestPendingFrom, partitionBacklog, lagOf, totalLag, partitionOfFilter, type ConsumerPosition, type OldestMessage } from './lag';
export { RateWindow, type Sample } from './rates';
export { RingBuffer, SampleHistory, type HistoryPoint, type ProgressSample } from './history';
export { assessDevices, behindBy, lastSeenOf, sortDevices, summarizeSites, pageByOffset, DEVICE_SORTS, type DeviceFacts, type DeviceSort, type FallingBehindPolicy } from './devices';
export { assessQueues, queueTotals, queueRule, queueSeries, type QueueStateFacts, type QueueRepairFacts, type QueuePolicy, type QueueSeries } from './queues';
