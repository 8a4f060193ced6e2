import type { PushMark } from '@tidemark/persistence';
import type { Logger } from '@tidemark/telemetry';
import { DeviceBatcher } from '../activity/device-batcher';

export type { PushMark };

/**
 * Each device's highest pushed sequence and last push time, for operations' "behind by" (pushed minus
 * applied). It is written every `intervalMs` in one statement for all devices that pushed, not once per
 * push: the journal is the record of what was pushed, this is a progress gauge, and a crash loses at most
 * one interval of it (the next push of the device restores it).
 */
export class PushProgress extends DeviceBatcher<PushMark> {
  constructor(write: (marks: PushMark[]) => Promise<void>, intervalMs: number, logger: Logger) {
    super('push progress', write, (known, mark) => ({ ...mark, maxSeq: Math.max(known.maxSeq, mark.maxSeq), at: known.at > mark.at ? known.at : mark.at }), intervalMs, logger);
  }
}
