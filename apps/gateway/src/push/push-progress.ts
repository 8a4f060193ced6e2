import type { Logger } from '@tidemark/telemetry';

export interface PushMark {
  workspace: string;
  deviceId: string;
  maxSeq: number;
  at: Date;
}

/**
 * Each device's highest pushed sequence and last push time, for operations' "behind by" (pushed minus
 * applied). It is written every `intervalMs` in one statement for all devices that pushed, not once per
 * push: the journal is the record of what was pushed, this is a progress gauge, and a crash loses at most
 * one interval of it (the next push of the device restores it).
 */
export class PushProgress {
  private pending = new Map<string, PushMark>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (marks: PushMark[]) => Promise<void>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  note(mark: PushMark): void {
    const key = `${mark.workspace}\u0000${mark.deviceId}`;
    const known = this.pending.get(key);
    this.pending.set(key, known ? { ...mark, maxSeq: Math.max(known.maxSeq, mark.maxSeq), at: known.at > mark.at ? known.at : mark.at } : mark);
    this.timer ??= setTimeout(() => void this.flush(), this.intervalMs);
  }

  /** Writes what is pending (also on shutdown). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const marks = [...this.pending.values()];
    this.pending = new Map();
    if (marks.length === 0) return this.flushing;
    this.flushing = this.flushing.then(() =>
      this.write(marks).catch((error: unknown) => {
        this.logger.warn({ err: error, devices: marks.length }, 'could not record push progress; the next pushes will');
      }),
    );
    return this.flushing;
  }
}
