// Following a replay job until it reaches a status: polling ops-api, drawing a progress bar on a
// terminal (cli-progress) or printing each phase change as a line.
import { Presets, SingleBar } from 'cli-progress';
import type { OpsClient } from './client';
import { duration, rate } from './format';
import { replayJob } from './requests';
import type { ReplayJobView, ReplayStatus } from '@tidemark/contracts';

/** Statuses after which nothing more happens without an operator (built waits for a swap). */
export const SETTLED: readonly ReplayStatus[] = ['built', 'swapped', 'cancelled', 'failed', 'stale'];
/** Statuses that mean the replay gave no result. */
export const UNSUCCESSFUL: readonly ReplayStatus[] = ['cancelled', 'failed', 'stale'];

export const isSettled = (job: ReplayJobView): boolean => SETTLED.includes(job.status);
/** Planned: the plan (entities, events to rebuild, estimate) is known, or the job ended before. */
export const isPlanned = (job: ReplayJobView): boolean => job.status !== 'queued' && job.status !== 'planning';
/**
 * A plan-only replay that ended as asked: the worker ends it `cancelled` with its plan complete (one an
 * operator cancelled before that has no estimate).
 */
export const isPlanOnlyDone = (job: ReplayJobView): boolean => job.planOnly && job.status === 'cancelled' && job.plan.estimate !== null;
/** Whether a replay that settled gave no result: failed, stale, or cancelled before it delivered what was asked. */
export const isUnsuccessful = (job: ReplayJobView): boolean => UNSUCCESSFUL.includes(job.status) && !isPlanOnlyDone(job);

/** A stream the bar can draw on (a TTY: it moves the cursor). */
export interface BarStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export interface FollowOptions {
  until: (job: ReplayJobView) => boolean;
  intervalMs: number;
  sleep: (ms: number) => Promise<void>;
  /** Draw a progress bar on this terminal. */
  bar?: BarStream;
  /** Print each phase change as a line (when there is no bar). */
  log?: (line: string) => void;
  /** The first answer, when the caller has it already (a request's 202). */
  first?: ReplayJobView;
}

/** The bar's tokens for a job: percent, events done of total, rate and time left as the API computes them. */
export function barPayload(job: ReplayJobView): { phase: string; pct: number; events: string; speed: string; left: string } {
  const p = job.progress;
  const events = job.status === 'planning' || job.status === 'queued' ? `${job.plan.scanned.events} scanned` : `${p.eventsDone}${p.eventsTotal !== null ? `/${p.eventsTotal}` : ''} events`;
  return { phase: job.status.padEnd(8), pct: p.percent, events, speed: rate(p.eventsPerSecond), left: p.etaSeconds === null ? '-' : duration(p.etaSeconds) };
}

/** One line for a phase change (no bar). */
export function phaseLine(job: ReplayJobView): string {
  const p = barPayload(job);
  return `${job.status}: ${p.pct}% (${p.events})${p.speed !== '-' ? `, ${p.speed}` : ''}${p.left !== '-' ? `, ETA ${p.left}` : ''}`;
}

/** Polls the replay until `until` holds; answers the last job read. */
export async function followReplay(client: OpsClient, id: string, o: FollowOptions): Promise<ReplayJobView> {
  let bar: SingleBar | undefined;
  if (o.bar) {
    bar = new SingleBar(
      {
        stream: o.bar as unknown as NodeJS.WritableStream,
        format: '{phase} [{bar}] {pct}% | {events} | {speed} | ETA {left}',
        // The line must fit the terminal: it is redrawn in place, and line wrapping is left on.
        barsize: Math.max(10, Math.min(30, (o.bar.columns ?? 80) - 60)),
        hideCursor: false,
        linewrap: true,
        clearOnComplete: false,
        fps: 10,
      },
      Presets.shades_classic,
    );
  }
  let last: string | undefined;
  let job = o.first ?? (await client.send<ReplayJobView>(replayJob(id)));
  try {
    bar?.start(100, Math.min(100, Math.max(0, job.progress.percent)), barPayload(job));
    for (;;) {
      if (bar) bar.update(Math.min(100, Math.max(0, job.progress.percent)), barPayload(job));
      else if (o.log && job.status !== last) o.log(phaseLine(job));
      last = job.status;
      if (o.until(job)) return job;
      await o.sleep(o.intervalMs);
      job = await client.send<ReplayJobView>(replayJob(id));
    }
  } finally {
    bar?.stop();
  }
}
