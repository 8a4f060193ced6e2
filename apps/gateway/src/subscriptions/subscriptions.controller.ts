import { Body, Controller, Get, Inject, Put } from '@nestjs/common';
import { checkSubscription, readFilter, scopeDeclaration } from '@tidemark/access';
import { SubscriptionsRequest, compileValidator, type SubscriptionView, type SubscriptionsResponse } from '@tidemark/contracts';
import { CurrentPrincipal, RequireAuth, type DevicePrincipal } from '@tidemark/auth';
import { ProblemError } from '@tidemark/platform';
import { PULL_DEPS, type PullDeps } from '../pull/pull.controller';
import type { ReadStanding } from './read-scope-store';
import { subscriptionProblem } from './subscription-problem';

const validateRequest = compileValidator(SubscriptionsRequest);

/**
 * A device's subscriptions to read scopes (declared in the workspace's access rules). The pull, long-poll, live
 * stream and snapshot carry only what they cover; a new subscription's records arrive by `GET /v1/snapshot?scope=…`
 * (its backfill), then by pull; a record that leaves them arrives once as `outOfScope`.
 */
@RequireAuth('device')
@Controller('v1')
export class SubscriptionsController {
  constructor(@Inject(PULL_DEPS) private readonly deps: PullDeps) {}

  @Get('subscriptions')
  async list(@CurrentPrincipal() device: DevicePrincipal): Promise<SubscriptionsResponse> {
    return this.answer(device, await this.deps.scopes.standing(device.workspace, device.deviceId));
  }

  /**
   * Replaces the device's subscriptions with the set sent, all or nothing: each must name a declared scope its role
   * may read, with a value its claims allow for a partitioned scope (400 / 403 naming `/subscriptions/<i>` otherwise).
   */
  @Put('subscriptions')
  async replace(@Body() body: unknown, @CurrentPrincipal() device: DevicePrincipal): Promise<SubscriptionsResponse> {
    const checked = validateRequest(body);
    if (!checked.ok) throw ProblemError.validation(checked.errors);
    const wanted = dedupe(checked.value.subscriptions);
    const standing = await this.deps.scopes.standing(device.workspace, device.deviceId);
    const denials = checked.value.subscriptions.flatMap((subscription, i) => {
      const verdict = checkSubscription(standing.rules, standing.role, standing.claims, subscription);
      return verdict.ok ? [] : [{ pointer: `/subscriptions/${i}`, verdict, subscription }];
    });
    if (denials.length > 0) throw subscriptionProblem(denials);
    await this.deps.scopes.replace(device.workspace, device.deviceId, wanted);
    // Every gateway forgets the device's cached read filter before this answers (a 503 if NATS cannot confirm it).
    await this.deps.announce({ workspace: device.workspace, deviceId: device.deviceId });
    return this.answer(device, { ...standing, subscriptions: wanted });
  }

  private async answer(device: DevicePrincipal, standing: ReadStanding): Promise<SubscriptionsResponse> {
    const cursor = await this.deps.snapshots.head(device.workspace);
    const subscriptions: SubscriptionView[] = standing.subscriptions.map((s) => {
      const verdict = checkSubscription(standing.rules, standing.role, standing.claims, s);
      const types = (standing.rules && scopeDeclaration(standing.rules, s.scope)?.types) ?? [];
      return { ...s, types: [...types], allowed: verdict.ok, ...(verdict.ok ? {} : { detail: verdict.detail }) };
    });
    return { reads: readFilter(standing.rules, standing.role, standing.claims, standing.subscriptions).kind === 'all' ? 'all' : 'scoped', subscriptions, cursor };
  }
}

/** The set sent, each subscription once, in a stable order. */
function dedupe<T extends { scope: string; value?: string }>(subscriptions: readonly T[]): { scope: string; value?: string }[] {
  const seen = new Map<string, { scope: string; value?: string }>();
  for (const s of subscriptions) seen.set(`${s.scope}\u0000${s.value ?? ''}`, s.value === undefined ? { scope: s.scope } : { scope: s.scope, value: s.value });
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
}
