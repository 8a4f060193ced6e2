import type { ReadPosition, RefusalDetail, WriteRefusal } from '@tidemark/persistence';
import type { Logger } from '@tidemark/telemetry';
import { DeviceBatcher } from './device-batcher';

/** Where writes of what devices do for operators go: `DeviceActivityRepository`. */
export interface DeviceActivityWriter {
  recordReadPositions(positions: readonly ReadPosition[]): Promise<void>;
  recordWriteRefusals(refusals: readonly WriteRefusal[]): Promise<void>;
}

/**
 * What the gateway notes of each device for operators, written in batches: the change-log cursor it last
 * delivered to the device (pull, long-poll or live stream: the newest delivery wins), and the writes the device's
 * access rules refused (counted, with the last refusal's role, rules version and denials).
 */
export class DeviceActivityLog {
  private readonly reads: DeviceBatcher<ReadPosition>;
  private readonly refusals: DeviceBatcher<WriteRefusal>;

  constructor(writer: DeviceActivityWriter, intervalMs: number, logger: Logger) {
    this.reads = new DeviceBatcher(
      'read positions',
      (p) => writer.recordReadPositions(p),
      (older, newer) => (newer.at >= older.at ? newer : older),
      intervalMs,
      logger,
    );
    this.refusals = new DeviceBatcher(
      'write refusals',
      (r) => writer.recordWriteRefusals(r),
      (older, newer) => ({ ...(newer.at >= older.at ? newer : older), events: older.events + newer.events }),
      intervalMs,
      logger,
    );
  }

  /** The device was sent the change log up to `cursor`. */
  read(workspace: string, deviceId: string, cursor: string, at: Date): void {
    this.reads.note({ workspace, deviceId, cursor, at });
  }

  /** The device's access rules refused `events` events of one push. */
  refused(workspace: string, deviceId: string, events: number, at: Date, detail: RefusalDetail): void {
    this.refusals.note({ workspace, deviceId, events, at, last: { ...detail, denials: detail.denials.slice(0, 20) } });
  }

  async flush(): Promise<void> {
    await Promise.all([this.reads.flush(), this.refusals.flush()]);
  }
}
