import type { SubscriptionRef, SubscriptionView, SubscriptionsResponse } from '@tidemark/contracts';
import { expectOk, sendWithRetry, type HttpContext } from '../http';
import type { Backfill, PullState, Released } from './puller';

const sameSubscription = (a: SubscriptionRef, b: SubscriptionRef): boolean => a.scope === b.scope && (a.value ?? '') === (b.value ?? '');
const refOf = (s: SubscriptionRef): SubscriptionRef => (s.value === undefined ? { scope: s.scope } : { scope: s.scope, value: s.value });

function subscriptionsBody(answer: { body: unknown }): SubscriptionsResponse {
  const body = answer.body as SubscriptionsResponse;
  if (!body || !Array.isArray(body.subscriptions) || typeof body.reads !== 'string') throw new Error(`/v1/subscriptions answered an unexpected body: ${JSON.stringify(answer.body).slice(0, 200)}`);
  return body;
}

/** The device's subscriptions as the server holds them. */
export async function fetchSubscriptions(http: HttpContext, signal: AbortSignal): Promise<SubscriptionsResponse> {
  const answer = (await sendWithRetry(http, 'GET', '/v1/subscriptions', undefined, signal))!;
  expectOk(answer, '/v1/subscriptions');
  return subscriptionsBody(answer);
}

/** Replaces the device's subscriptions (all or nothing: a refusal throws `ServerProblemError` naming each by pointer). */
export async function replaceSubscriptions(http: HttpContext, subscriptions: readonly SubscriptionRef[], signal: AbortSignal): Promise<SubscriptionsResponse> {
  const answer = (await sendWithRetry(http, 'PUT', '/v1/subscriptions', JSON.stringify({ subscriptions: subscriptions.map(refOf) }), signal))!;
  expectOk(answer, '/v1/subscriptions');
  return subscriptionsBody(answer);
}

/** The set held with `added` joined (each once). */
export function withAdded(held: readonly SubscriptionRef[], added: readonly SubscriptionRef[]): SubscriptionRef[] {
  const all = held.map(refOf);
  for (const s of added) if (!all.some((h) => sameSubscription(h, s))) all.push(refOf(s));
  return all;
}

/** The set held without `removed`. */
export function without(held: readonly SubscriptionRef[], removed: readonly SubscriptionRef[]): SubscriptionRef[] {
  return held.filter((h) => !removed.some((r) => sameSubscription(h, r))).map(refOf);
}

/** Queues the backfill of each subscription in `added` the device did not hold (`held`), once. */
export function queueBackfills(state: PullState, held: readonly SubscriptionRef[], added: readonly SubscriptionRef[]): Backfill[] {
  const queued = state.backfills ?? [];
  const fresh = added.filter((s) => !held.some((h) => sameSubscription(h, s)) && !queued.some((b) => sameSubscription(b, s))).map(refOf);
  state.backfills = [...queued, ...fresh];
  return fresh;
}

/** Drops the queued backfills of `removed`. */
export function dropBackfills(state: PullState, removed: readonly SubscriptionRef[]): void {
  if (state.backfills) state.backfills = state.backfills.filter((b) => !removed.some((r) => sameSubscription(b, r)));
}

/**
 * Which records a device that now holds `answer` no longer reads, among those of the types `removed` covered: a
 * record stays while an allowed subscription still covers its type and partition (or the device reads everything).
 */
export function evictionOf(answer: SubscriptionsResponse, removed: readonly SubscriptionView[]): (type: string, partition: string | undefined) => boolean {
  if (answer.reads === 'all') return () => false;
  const types = new Set(removed.flatMap((s) => s.types));
  const kept = answer.subscriptions.filter((s) => s.allowed);
  return (type, partition) => types.has(type) && !kept.some((s) => s.types.includes(type) && (s.value === undefined || s.value === partition));
}

/** Marks `subscriptions` released, kept warm until `until` (a later release of the same one moves its time). */
export function release(state: PullState, subscriptions: readonly SubscriptionRef[], until: number): void {
  const kept = (state.released ?? []).filter((r) => !subscriptions.some((s) => sameSubscription(r, s)));
  state.released = [...kept, ...subscriptions.map((s) => ({ ...refOf(s), until }))];
}

/** Takes `subscriptions` back from the released ones (subscribed again, or unsubscribed for good); true if any was. */
export function reclaim(state: PullState, subscriptions: readonly SubscriptionRef[]): boolean {
  const before = state.released ?? [];
  const after = before.filter((r) => !subscriptions.some((s) => sameSubscription(r, s)));
  if (after.length === before.length) return false;
  if (after.length > 0) state.released = after;
  else delete state.released;
  return true;
}

/** The released subscriptions whose time is up at `now`. */
export function dueReleases(state: PullState, now: number): Released[] {
  return (state.released ?? []).filter((r) => r.until <= now);
}
