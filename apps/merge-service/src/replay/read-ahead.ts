/**
 * Iterates `source` ahead of its consumer: up to `depth` items are fetched and held while the consumer works
 * on the one before them (a journal read overlapping the writes it feeds). Items come out in source order; an
 * error of the source is thrown where the consumer would have received the next item. Returning early
 * (break, throw) stops the source after the fetch in flight.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, depth: number): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const buffered: Promise<IteratorResult<T>>[] = [];
  let done = false;
  let stopped = false;
  // One fetch at a time (the source is a generator): each starts when the one before it settled.
  let tail: Promise<unknown> = Promise.resolve();
  const fill = () => {
    while (!done && buffered.length < depth) {
      const next = tail.then((): Promise<IteratorResult<T>> => (stopped ? Promise.resolve({ done: true, value: undefined }) : iterator.next()));
      // Marks the end (or a failure) as soon as it is known, so no fetch is queued after it.
      next.then(
        (r) => void (r.done && (done = true)),
        () => void (done = true),
      );
      tail = next.catch(() => undefined);
      buffered.push(next);
    }
  };
  try {
    for (;;) {
      fill();
      const head = buffered.shift();
      if (!head) return;
      fill(); // `depth` fetches ahead of the item the consumer is about to work on
      const result = await head;
      if (result.done) return;
      yield result.value;
    }
  } finally {
    stopped = done = true;
    await tail;
    await iterator.return?.();
  }
}
