import { setTimeout as delay } from 'node:timers/promises';
import type { DeviceEvent } from '@tidemark/contracts';

/** A device pushing through the gateway at a steady pace, and what it pushed when. */
export interface SteadyIngest {
  /** Events sent so far: the journal cannot hold more of them than this. */
  sent(): number;
  /** Events the gateway had accepted (answered 200 for) before `at` (epoch ms): the journal holds at least these. */
  acceptedBefore(at: number): number;
  /** The ids of every accepted event. */
  eventIds(): string[];
  /** Throws the push that failed, if one did (the loop stops at the first). */
  check(): void;
  /** Stops after the batch under way; rejects with the failed push, if any. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Pushes `batch` events every `everyMs` (start to start) until stopped: a device under a steady load, for
 * tests that watch lag rise and fall. `next(i)` makes the i-th event; `send` pushes a batch and throws if
 * it was not accepted (the loop stops at the first failure, which `check` and `stop` report).
 */
export function steadyIngest(send: (events: DeviceEvent[]) => Promise<void>, next: (i: number) => DeviceEvent, { batch = 5, everyMs = 200 } = {}): SteadyIngest {
  const accepted: { at: number; ids: string[] }[] = [];
  let sent = 0;
  let running = true;
  let failure: unknown;
  const loop = (async () => {
    for (let i = 0; running;) {
      const started = Date.now();
      const events = Array.from({ length: batch }, () => next(i++));
      sent += events.length;
      try {
        await send(events);
      } catch (error) {
        failure = error;
        return;
      }
      accepted.push({ at: Date.now(), ids: events.map((e) => e.eventId) });
      await delay(Math.max(0, started + everyMs - Date.now()));
    }
  })();
  const check = () => {
    if (failure !== undefined) throw new Error(`the steady ingest stopped, a push failed: ${(failure as Error).message}`, { cause: failure });
  };
  return {
    sent: () => sent,
    acceptedBefore: (at) => accepted.filter((a) => a.at < at).reduce((n, a) => n + a.ids.length, 0),
    eventIds: () => accepted.flatMap((a) => a.ids),
    check,
    async stop() {
      running = false;
      await loop;
      check();
    },
  };
}
