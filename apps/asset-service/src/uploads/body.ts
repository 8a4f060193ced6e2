import type { Readable } from 'node:stream';

/** Why reading a request body stopped before its end. */
export type BodyStop = 'cut' | 'aborted' | 'slow';

const STOPS: Record<BodyStop, string> = {
  cut: 'the client connection closed mid-body',
  aborted: 'reading stopped (shutting down)',
  slow: 'the body arrived slower than the minimum rate',
};

export class BodyStopped extends Error {
  constructor(readonly why: BodyStop) {
    super(STOPS[why]);
    this.name = 'BodyStopped';
  }
}

/** The slowest a body may arrive: at least `bytesPerSecond`, averaged over each window of `windowMs`. */
export interface MinimumRate {
  bytesPerSecond: number;
  windowMs: number;
  /** The clock, in milliseconds (an input, so the rule is testable). */
  now: () => number;
}

/**
 * Counts a body's bytes in consecutive windows and says when a window ended with fewer than the minimum:
 * a client trickling a body (a byte every few seconds) holds an upload slot for as long as it likes otherwise,
 * since it is never idle long enough for the idle timeout.
 */
export class RateFloor {
  private start: number;
  private bytes = 0;

  constructor(private readonly rate: MinimumRate) {
    this.start = rate.now();
  }

  /** Adds `n` bytes; true when the window that just ended was too slow. */
  tooSlow(n: number): boolean {
    this.bytes += n;
    const now = this.rate.now();
    const elapsed = now - this.start;
    if (elapsed < this.rate.windowMs) return false;
    const slow = this.bytes < (this.rate.bytesPerSecond * elapsed) / 1000;
    this.start = now;
    this.bytes = 0;
    return slow;
  }
}

/**
 * Reads a request body chunk by chunk without taking ownership of the stream: stopping early (an abort
 * signal, a refusal) leaves the request alive so a response can still be written, and a connection cut
 * mid-body ends the iteration with {@link BodyStopped} `cut` instead of hanging.
 */
export async function* bodyChunks(stream: Readable, signal?: AbortSignal, minimum?: MinimumRate): AsyncGenerator<Buffer> {
  // A cut connection may emit 'error' between two reads: seen here as close-before-end, never unhandled.
  const ignore = () => undefined;
  stream.on('error', ignore);
  const floor = minimum ? new RateFloor(minimum) : undefined;
  try {
    for await (const chunk of readUntilEnd(stream, signal)) {
      if (floor?.tooSlow(chunk.length)) throw new BodyStopped('slow');
      yield chunk;
    }
  } finally {
    stream.off('error', ignore);
  }
}

async function* readUntilEnd(stream: Readable, signal?: AbortSignal): AsyncGenerator<Buffer> {
  for (;;) {
    if (signal?.aborted) throw new BodyStopped('aborted');
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) {
      yield chunk;
      continue;
    }
    if (stream.readableEnded) return;
    if (stream.destroyed) throw new BodyStopped('cut');
    const what = await new Promise<'readable' | 'end' | 'close' | 'abort'>((resolve) => {
      const settle = (value: 'readable' | 'end' | 'close' | 'abort') => {
        stream.off('readable', onReadable);
        stream.off('end', onEnd);
        stream.off('close', onClose);
        stream.off('error', onClose);
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const onReadable = () => settle('readable');
      const onEnd = () => settle('end');
      const onClose = () => settle('close');
      const onAbort = () => settle('abort');
      stream.on('readable', onReadable);
      stream.on('end', onEnd);
      stream.on('close', onClose);
      stream.on('error', onClose);
      signal?.addEventListener('abort', onAbort);
    });
    if (what === 'abort') throw new BodyStopped('aborted');
    if (what === 'end') return;
    if (what === 'close' && !stream.readableEnded && stream.readableLength === 0) throw new BodyStopped('cut');
  }
}
