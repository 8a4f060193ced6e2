import type { JetStreamClient } from '@tidemark/messaging';

type Consumer = Awaited<ReturnType<JetStreamClient['consumers']['get']>>;
type Fetch = Consumer['fetch'];
type Messages = Awaited<ReturnType<Fetch>>;

/**
 * A JetStream client whose very first consumer fetch is replaced by `first`, which gets the real fetch
 * (already made, so the server has delivered to it) and decides what the caller sees: drain it and hand
 * on nothing, throw as a fetch with missed heartbeats does, and so on. Every later fetch is the real one.
 */
export function faultyFirstFetch(js: JetStreamClient, first: (real: Messages) => Promise<Messages>): { js: JetStreamClient; fetches: () => number } {
  let fetches = 0;
  const wrap = (consumer: Consumer): Consumer =>
    new Proxy(consumer, {
      get(target, prop, receiver) {
        if (prop !== 'fetch') return Reflect.get(target, prop, receiver);
        return async (options: Parameters<Fetch>[0]) => {
          const real = await target.fetch(options);
          return ++fetches === 1 ? first(real) : real;
        };
      },
    });
  const client = { consumers: { get: async (...args: Parameters<JetStreamClient['consumers']['get']>) => wrap(await js.consumers.get(...args)) } } as unknown as JetStreamClient;
  return { js: client, fetches: () => fetches };
}

/** Reads every message of a fetch without handing any on: deliveries that never reach the caller. */
export async function drain(messages: Messages): Promise<number> {
  let n = 0;
  for await (const _ of messages) n++;
  return n;
}
