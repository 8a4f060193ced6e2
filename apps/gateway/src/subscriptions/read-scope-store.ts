import { readFilter, type ReadFilter, type Subscription } from '@tidemark/access';
import type { ReadScopesRepository, ReadStanding } from '@tidemark/persistence';

export type { ReadStanding };

/**
 * What a device reads: its subscriptions and, in one statement, everything `readFilter` needs (`ReadScopesRepository`).
 * The gateway caches each device's filter (`StandingCache`) and forgets it on the standing notice a rules publish, a
 * role or claims change, or a subscription change sends.
 */
export class ReadScopeStore {
  constructor(private readonly repository: ReadScopesRepository) {}

  standing(workspace: string, deviceId: string): Promise<ReadStanding> {
    return this.repository.standing(workspace, deviceId);
  }

  /** What the device receives now. */
  async filter(workspace: string, deviceId: string): Promise<ReadFilter> {
    const s = await this.standing(workspace, deviceId);
    return readFilter(s.rules, s.role, s.claims, s.subscriptions);
  }

  /** Replaces the device's subscriptions with `subscriptions` (already checked), in one statement. */
  replace(workspace: string, deviceId: string, subscriptions: readonly Subscription[]): Promise<void> {
    return this.repository.replace(workspace, deviceId, subscriptions);
  }
}
