import { recordAudit, type OperatorPrincipal } from '@tidemark/auth';
import type { ReplaySwapSummary } from '@tidemark/contracts';
import { mergeConsumerName } from '@tidemark/messaging';
import { inTransaction, type DataSource, type LiveChange, type ReplayJobRepository, type ReplaySwapRepository } from '@tidemark/persistence';
import { checkSwap, decide, isRefusal, type ReplayJob } from '@tidemark/replay';

export type SwapOutcome =
  | { kind: 'swapped'; summary: ReplaySwapSummary }
  | { kind: 'not-found' }
  | { kind: 'wrong-state'; status: string }
  | { kind: 'confirm-mismatch'; digest: string }
  | { kind: 'live-changed'; changes: LiveChange[]; count: number };

/** Rolls the swap transaction back when live changed under it; reported as `live-changed`. */
class LiveChanged extends Error {
  constructor(readonly found: { changes: LiveChange[]; count: number }) {
    super('live changed since the shadow was built');
  }
}

/**
 * Swaps a built replay into live, in one transaction, or refuses:
 *  - `confirm` must be the digest of the diff the operator read, and the replay `built`;
 *  - every live checkpoint row is locked first, so no batch commits during the swap, and the batches
 *    after it see the activated revisions (merge-service checks the activation generation per batch);
 *  - live must not have changed for the replay's entities since it was planned (else `live-changed`, the
 *    replay becomes `stale` and the operator re-runs it);
 *  - then, for the replay's entities, the entity rows, receipts, decisions, conflicts, repairs (an
 *    operator's status on a repair that still exists is kept) and asset references are replaced by the
 *    shadow's; each entity whose view changed gets a change-log row (device id `replay:<id>`) so devices
 *    pull the new state, and a MERGED message (`outcome: "replayed"`); conflicts the rebuild opens or
 *    withdraws go to REVIEW; the named revisions are activated; the job is `swapped`, the swap audited,
 *    the shadow dropped.
 */
export async function swapReplay(
  ds: DataSource,
  jobs: ReplayJobRepository,
  swaps: ReplaySwapRepository,
  id: string,
  input: { confirm: string; reason: string; actor: OperatorPrincipal },
): Promise<SwapOutcome> {
  const job = await jobs.get(id);
  const refused = checkSwap(job, input.confirm);
  if (refused || !job) return refusal(refused, job);
  // A cheap look first, without locks: most refusals never hold up the projector.
  const before = await swaps.liveChanges(job);
  if (before.count > 0) return refuse(ds, jobs, job, before, input);
  try {
    return await inTransaction(ds, async (q) => {
      const current = await jobs.lock(q, id);
      const refusedNow = checkSwap(current, input.confirm);
      if (refusedNow || !current) return refusal(refusedNow, current);
      const consumers = Object.keys(current.bounds ?? {})
        .sort()
        .map((token) => mergeConsumerName(Number(token.slice(1)), current.livePrefix ?? 'merge'));
      await swaps.lockLiveCheckpoints(q, consumers);
      const under = await swaps.liveChanges(current, q);
      if (under.count > 0) throw new LiveChanged(under);
      const summary = await swaps.replaceLive(q, current);
      const decision = decide(current, { kind: 'swap', at: new Date(), confirm: input.confirm, summary });
      if (isRefusal(decision)) return refusal(decision, current);
      for (const event of decision.events) await jobs.apply(q, id, event);
      await recordAudit(q, { actor: input.actor, action: 'replay.swap', target: { replayId: id }, reason: input.reason, detail: { digest: input.confirm, ...summary } });
      await swaps.dropShadow(q, id);
      return { kind: 'swapped', summary };
    });
  } catch (error) {
    if (error instanceof LiveChanged) return refuse(ds, jobs, job, error.found, input);
    throw error;
  }
}

/** A swap the decider refused, as the API reports it. */
function refusal(refused: { refused: string; status?: string } | undefined, job: ReplayJob | undefined): SwapOutcome {
  if (!job || refused?.refused === 'not-found') return { kind: 'not-found' };
  if (refused?.refused === 'confirm-mismatch') return { kind: 'confirm-mismatch', digest: job.diffDigest ?? '' };
  return { kind: 'wrong-state', status: refused?.status ?? job.status };
}

/** Marks the replay stale (its shadow is dropped by the worker) and audits the refused swap. */
async function refuse(
  ds: DataSource,
  jobs: ReplayJobRepository,
  job: ReplayJob,
  found: { changes: LiveChange[]; count: number },
  input: { reason: string; actor: OperatorPrincipal },
): Promise<SwapOutcome> {
  await inTransaction(ds, async (q) => {
    // Only a job still built goes stale (a refusal otherwise changes nothing).
    await jobs.transition(q, job.id, {
      kind: 'mark-stale',
      at: new Date(),
      error: `swap refused: live changed for ${found.count} of its entities or revisions since it was planned; re-run the replay`,
    });
    await recordAudit(q, { actor: input.actor, action: 'replay.swap', target: { replayId: job.id }, reason: input.reason, detail: { changes: found.changes }, outcome: 'refused: live changed' });
  });
  return { kind: 'live-changed', ...found };
}
