import type { Logger } from '@tidemark/telemetry';

/** Something noted of one device of one workspace. */
export interface DeviceNote {
  workspace: string;
  deviceId: string;
}

/**
 * Notes of devices written in batches: at most one pending note per device (a newer one is merged into it), all
 * written in one statement `intervalMs` after the first note of a batch, not once per request. For gauges an
 * operator reads (push progress, read positions, refusals), never for what a device is owed: a crash loses at most
 * one interval of them, and a write that fails is logged and its notes merged back into the next batch.
 */
export class DeviceBatcher<T extends DeviceNote> {
  private pending = new Map<string, T>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly what: string,
    private readonly write: (notes: T[]) => Promise<void>,
    private readonly merge: (older: T, newer: T) => T,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  note(note: T): void {
    const key = `${note.workspace}\u0000${note.deviceId}`;
    const known = this.pending.get(key);
    this.pending.set(key, known ? this.merge(known, note) : note);
    this.schedule();
  }

  private schedule(): void {
    // Unreferenced: a pending batch never keeps the process alive; shutdown flushes it.
    this.timer ??= setTimeout(() => void this.flush(), this.intervalMs).unref();
  }

  /** Writes what is pending (also on shutdown). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const notes = [...this.pending.values()];
    this.pending = new Map();
    if (notes.length === 0) return this.flushing;
    this.flushing = this.flushing.then(() =>
      this.write(notes).catch((error: unknown) => {
        this.logger.warn({ err: error, devices: notes.length }, `could not record ${this.what}; retried with the next batch`);
        for (const note of notes) {
          const key = `${note.workspace}\u0000${note.deviceId}`;
          const newer = this.pending.get(key);
          this.pending.set(key, newer ? this.merge(note, newer) : note);
        }
        this.schedule();
      }),
    );
    return this.flushing;
  }
}
