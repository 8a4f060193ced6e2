import { createHash, type Hash } from 'node:crypto';

/**
 * Running whole-file sha256 states, by upload, at the offset they cover. Node's hash state cannot be
 * persisted, so it lives in the process that received the bytes: a resume on the same instance goes on
 * hashing where it stopped; a resume elsewhere (or after a restart) finds nothing here and the upload is
 * verified by reading the assembled object back once at the end. Bounded: the oldest states are dropped.
 */
export class HashStates {
  private readonly states = new Map<string, { offset: number; hash: Hash }>();

  constructor(private readonly capacity = 10_000) {}

  /** A hash covering bytes [0, offset) to continue with (a copy: the cached one stays as it was), or undefined. */
  resume(uploadId: string, offset: number): Hash | undefined {
    if (offset === 0) return createHash('sha256');
    const state = this.states.get(uploadId);
    return state && state.offset === offset ? state.hash.copy() : undefined;
  }

  /** Keeps `hash` (which covers [0, offset)) for the next request; the caller must not update it again. */
  keep(uploadId: string, offset: number, hash: Hash): void {
    this.states.delete(uploadId);
    this.states.set(uploadId, { offset, hash });
    while (this.states.size > this.capacity) this.states.delete(this.states.keys().next().value!);
  }

  forget(uploadId: string): void {
    this.states.delete(uploadId);
  }
}

/** Part buffers, reused between requests so streaming uploads do not churn the heap. */
export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();

  constructor(private readonly keepPerSize: number) {}

  acquire(size: number): Buffer {
    return this.free.get(size)?.pop() ?? Buffer.allocUnsafeSlow(size);
  }

  release(buffer: Buffer): void {
    const list = this.free.get(buffer.length) ?? [];
    if (list.length < this.keepPerSize) list.push(buffer);
    this.free.set(buffer.length, list);
  }
}
