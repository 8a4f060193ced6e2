// Public face of @tidemark/ops: pure computations of the operator views (lag and ages, devices and sites
// falling behind, rates over a sliding window). No I/O and no clock: `now` is always an argument.
export { ageSeconds, isoOrNull, latest, roundSeconds, toMillis, type Instant } from './time';
export { consumerBacklog, oldestPendingFrom, partitionBacklog, lagOf, totalLag, partitionOfFilter, type ConsumerPosition, type OldestMessage, type LagView } from './lag';
export { RateWindow, type Sample } from './rates';
export {
  assessDevices,
  behindBy,
  lastSeenOf,
  sortDevices,
  summarizeSites,
  pageByOffset,
  DEVICE_SORTS,
  type DeviceFacts,
  type DeviceView,
  type DeviceSort,
  type FallingBehindPolicy,
  type FallingBehindReason,
  type FallingBehindCode,
  type SiteView,
} from './devices';
