// Test support (not part of the CLI's face): replay jobs as ops-api answers them, for the unit tests of
// the renderers, the watcher and the commands.
import type { ReplayJobView } from '@tidemark/contracts';

/** What a test says of a job: any member; `plan` and `progress` member by member. */
export type ReplayJobOverrides = Partial<Omit<ReplayJobView, 'plan' | 'progress'>> & {
  plan?: Partial<ReplayJobView['plan']>;
  progress?: Partial<ReplayJobView['progress']>;
};

/** A replay job document: a queued job with nothing planned or done, unless `over` says otherwise. */
export function replayJob(over: ReplayJobOverrides = {}): ReplayJobView {
  const { plan, progress, ...rest } = over;
  const id = rest.id ?? '4f1c2d3e-0000-4000-8000-000000000001';
  const status = rest.status ?? 'queued';
  return {
    id,
    status,
    scope: {},
    policyRevisions: {},
    reason: 'r',
    requestedBy: 'alice',
    eventsPerSecond: 2000,
    planOnly: false,
    createdAt: null,
    updatedAt: null,
    plannedAt: null,
    builtAt: null,
    finishedAt: null,
    diff: null,
    swap: null,
    error: null,
    links: { self: `/v1/replays/${id}`, diff: `/v1/replays/${id}/diff`, swap: `/v1/replays/${id}/swap`, cancel: `/v1/replays/${id}/cancel` },
    ...rest,
    plan: { bounds: null, scanned: { events: 0, lastSeq: 0, toSeq: null }, selectedEvents: 0, affectedEntities: 0, rebuildEvents: null, estimate: null, revisions: null, ...plan },
    progress: {
      phase: status,
      eventsDone: 0,
      eventsTotal: null,
      percent: 0,
      eventsPerSecond: null,
      etaSeconds: null,
      lastSeq: 0,
      phaseStartedAt: null,
      resumes: 0,
      capacityEventsPerSecond: null,
      ...progress,
    },
  };
}
