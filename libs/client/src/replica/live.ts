/**
 * A live answer: `current()` is the answer now (the same object for as long as the answer does not change, which is
 * what React's `useSyncExternalStore` asks of a snapshot), and `subscribe` calls the listener each time it changes.
 * Both are bound functions, so they can be passed around as they are.
 */
export interface LiveView<T> {
  readonly current: () => T;
  readonly subscribe: (listener: (value: T) => void) => () => void;
}

/** What a live view needs of the replica: the answer, a generation that moves when it may have changed, and a way to be told. */
export interface LiveSource<T> {
  /** Moves whenever the answer may have changed (the generation of the entity type). */
  generation(): number;
  compute(): T;
  /** Keeps the previous answer when the new one is the same. */
  same(a: T, b: T): boolean;
  /** Starts calling `changed` after each change of the source's entity type; returns the function that stops it. */
  watch(changed: () => void): () => void;
}

/** A {@link LiveView} over a source: recomputed lazily when its generation moved, and only announced when the answer changed. */
export function liveView<T>(source: LiveSource<T>, onListenerError: (error: unknown) => void): LiveView<T> {
  let generation = -1;
  let value: T;
  const listeners = new Set<(value: T) => void>();
  let unwatch: (() => void) | undefined;
  const current = (): T => {
    const now = source.generation();
    if (now !== generation) {
      const next = source.compute();
      if (generation === -1 || !source.same(value, next)) value = next;
      generation = now;
    }
    return value;
  };
  const changed = () => {
    const before = value;
    const hadValue = generation !== -1;
    const after = current();
    if (hadValue && before === after) return;
    for (const listener of [...listeners]) {
      try {
        listener(after);
      } catch (error) {
        onListenerError(error);
      }
    }
  };
  const subscribe = (listener: (value: T) => void): (() => void) => {
    if (listeners.size === 0) {
      current();
      unwatch = source.watch(changed);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) {
        unwatch?.();
        unwatch = undefined;
      }
    };
  };
  return { current, subscribe };
}
