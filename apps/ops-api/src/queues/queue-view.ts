import type { QueuesView } from '@tidemark/contracts';
import { assessQueues, queueRule, queueTotals } from '@tidemark/ops';
import { JobQueueRepository, type DataSource } from '@tidemark/persistence';

/** Per-queue figures of the live jobs (every workspace when `workspace` is null), assessed at `now`. */
export async function readQueues(ds: DataSource, workspace: string | null, now: Date, waitThresholdSeconds: number): Promise<QueuesView> {
  const repository = new JobQueueRepository(ds);
  const [states, repairs] = await Promise.all([repository.states(workspace), repository.openRepairs(workspace)]);
  const policy = { waitThresholdSeconds };
  const queues = assessQueues(states, repairs, now, policy);
  return { at: now.toISOString(), waitThresholdSeconds, rule: queueRule(policy), total: queueTotals(queues), queues };
}
