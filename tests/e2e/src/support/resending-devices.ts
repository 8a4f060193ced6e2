import { setTimeout as delay } from 'node:timers/promises';
import type { DeviceEvent } from '@tidemark/contracts';
import { push, type FakeDevice } from '@tidemark/testing';

/** Devices pushing without pause, each re-sending an unanswered batch with the same ids, as the SDK does. */
export interface ResendingDevices {
  /** Events answered `accepted` or `duplicate` so far. */
  accepted(): number;
  /** Batches sent again after a 503 or a connection failure. */
  retries(): number;
  /** Pushes waiting for an answer right now. */
  inFlight(): number;
  /** Pushes given up after 10 s without an answer (and sent again). */
  timedOut(): number;
  /** Answers that were neither 200 nor 503 (a defect: only a dependency outage may refuse a push). */
  refused(): string[];
  /** Stops after each device's batch under way is answered; `abandon` gives up on unanswered ones (a failed test). */
  stop(options?: { abandon?: boolean }): Promise<void>;
}

export interface ResendingOptions {
  gateway: string;
  devices: { fake: FakeDevice; headers: Record<string, string> }[];
  batch: number;
  /** The d-th device's b-th batch. */
  events: (fake: FakeDevice, d: number, b: number) => DeviceEvent[];
  /** What was going on, named in a refusal. */
  phase: () => string;
  /** Pause between two batches of a device, in milliseconds (0: push without pause). */
  everyMs?: number;
}

/**
 * Each device pushes a batch, and re-sends that same batch until the gateway answers 200 — a 503 while a
 * dependency is down is the contract, and so is a refused or cut connection while the gateway restarts.
 * Every batch sent is answered before its device moves on, so what was answered is everything sent.
 */
export function resendingDevices(options: ResendingOptions): ResendingDevices {
  const answered = new Map<string, string>();
  const refused: string[] = [];
  let inFlight = 0;
  let retries = 0;
  let timedOut = 0;
  let running = true;
  let abandon = false;
  const loops = options.devices.map(async ({ fake, headers }, d) => {
    for (let b = 0; running; b++) {
      const started = Date.now();
      const events = options.events(fake, d, b);
      for (let attempt = 0; !abandon; attempt++) {
        inFlight++;
        try {
          // As the SDK does: a request unanswered for 10 s is given up and the same batch sent again.
          const result = await push(options.gateway, events, headers, { timeoutMs: 10_000 });
          if (result.status === 200) {
            for (const r of result.body.results as { eventId: string; status: string }[]) answered.set(r.eventId, r.status);
            break;
          }
          if (result.status !== 503) refused.push(`${result.status} while ${options.phase()}: ${JSON.stringify(result.body).slice(0, 200)}`);
        } catch (error) {
          // connection refused or cut (the gateway is down or restarting), or no answer in time
          if ((error as Error).name === 'TimeoutError') timedOut++;
        } finally {
          inFlight--;
        }
        retries++;
        await delay(Math.min(200, 20 * 2 ** attempt));
      }
      if (options.everyMs) await delay(Math.max(0, started + options.everyMs - Date.now()));
    }
  });
  return {
    accepted: () => answered.size,
    retries: () => retries,
    timedOut: () => timedOut,
    inFlight: () => inFlight,
    refused: () => [...refused],
    async stop({ abandon: giveUp = false } = {}) {
      running = false;
      abandon = giveUp;
      await Promise.all(loops);
    },
  };
}
