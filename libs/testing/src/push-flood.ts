import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Agent, request } from 'undici';

/** What one flooding push got: the batch sent, and its status (or `error` for a cut connection). */
export interface FloodOutcome {
  batch: number;
  status: number | 'error';
}

export interface PushFloodOptions {
  gateway: string;
  headers: Record<string, string>;
  /** The request bodies, sent in turn. */
  bodies: string[];
  /** Concurrent senders, each sending its next body as soon as the last was answered or refused. */
  senders: number;
}

export interface PushFlood {
  /** Stops the senders and returns every outcome. */
  stop(): Promise<FloodOutcome[]>;
}

const KIND = 'tidemark-push-flood';

/**
 * A hostile device pushing without pause from a worker thread, so the flood's own client work never delays
 * the measurements taken on the caller's event loop (as a flooding device on another machine would not).
 */
export function startPushFlood(options: PushFloodOptions): PushFlood {
  const worker = new Worker(__filename, { workerData: { kind: KIND, ...options } });
  return {
    stop: () =>
      new Promise<FloodOutcome[]>((resolve, reject) => {
        worker.once('message', (outcomes: FloodOutcome[]) => resolve(outcomes));
        worker.once('error', reject);
        worker.postMessage('stop');
      }),
  };
}

async function flood(options: PushFloodOptions): Promise<void> {
  const agent = new Agent({ connections: options.senders * 2, pipelining: 0 });
  const outcomes: FloodOutcome[] = [];
  let stop = false;
  parentPort!.once('message', () => (stop = true));
  let next = 0;
  const sender = async (): Promise<void> => {
    while (!stop) {
      const batch = next++ % options.bodies.length;
      try {
        const res = await request(`${options.gateway}/v1/events`, {
          method: 'POST',
          dispatcher: agent,
          headers: { ...options.headers, 'content-type': 'application/json' },
          body: options.bodies[batch],
        });
        await res.body.text();
        outcomes.push({ batch, status: res.statusCode });
      } catch {
        outcomes.push({ batch, status: 'error' });
      }
    }
  };
  await Promise.all(Array.from({ length: options.senders }, () => sender()));
  await agent.close();
  parentPort!.postMessage(outcomes);
}

if (!isMainThread && (workerData as { kind?: string } | null)?.kind === KIND) void flood(workerData as PushFloodOptions);
