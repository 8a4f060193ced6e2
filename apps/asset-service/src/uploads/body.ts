import type { Readable } from 'node:stream';

/** Why reading a request body stopped before its end. */
export type BodyStop = 'cut' | 'aborted';

export class BodyStopped extends Error {
  constructor(readonly why: BodyStop) {
    super(why === 'cut' ? 'the client connection closed mid-body' : 'reading stopped (shutting down)');
    this.name = 'BodyStopped';
  }
}

/**
 * Reads a request body chunk by chunk without taking ownership of the stream: stopping early (an abort
 * signal, a refusal) leaves the request alive so a response can still be written, and a connection cut
 * mid-body ends the iteration with {@link BodyStopped} `cut` instead of hanging.
 */
export async function* bodyChunks(stream: Readable, signal?: AbortSignal): AsyncGenerator<Buffer> {
  // A cut connection may emit 'error' between two reads: seen here as close-before-end, never unhandled.
  const ignore = () => undefined;
  stream.on('error', ignore);
  try {
    yield* readUntilEnd(stream, signal);
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
