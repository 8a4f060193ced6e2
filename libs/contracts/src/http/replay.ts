// The replay and re-delivery API of ops-api: request shapes (validated, typed and documented from one
// source) and the problem types beyond the shared catalogue.
import { Type, type Static } from '@sinclair/typebox';
import { IdToken, TypeName } from '../events/device-event';
import { PROBLEM_BASE, type Problem } from './problem';
import { REPLAY_STATUSES } from './ops';

export const REPLAY_LIMITS = {
  /** Journal events a replay rebuilds per second unless the request says otherwise. */
  defaultEventsPerSecond: 2000,
  maxEventsPerSecond: 100_000,
  maxReasonLength: 1000,
  maxPageSize: 500,
  defaultPageSize: 100,
} as const;

const Reason = Type.String({ minLength: 1, maxLength: REPLAY_LIMITS.maxReasonLength, pattern: '\\S', description: 'why, in the operator’s words (recorded in the audit log)' });
const Seq = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

export const ReplayScope = Type.Object(
  {
    workspace: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
    entityType: Type.Optional(TypeName),
    entityId: Type.Optional(IdToken),
    deviceId: Type.Optional(IdToken),
    site: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_:-]{1,64}$' })),
    fromSeq: Type.Optional(Seq),
    toSeq: Type.Optional(Seq),
    fromTime: Type.Optional(Type.String({ format: 'date-time', description: 'acceptance time, inclusive' })),
    toTime: Type.Optional(Type.String({ format: 'date-time', description: 'acceptance time, exclusive' })),
  },
  { additionalProperties: false, description: 'every criterion given must hold for a journal event to be selected' },
);
export type ReplayScope = Static<typeof ReplayScope>;

export const ReplayRequest = Type.Object(
  {
    scope: ReplayScope,
    policyRevisions: Type.Optional(Type.Record(TypeName, Type.Integer({ minimum: 1, maximum: 1_000_000 }), { description: 'entity type → policy revision to rebuild with (and to activate on swap)' })),
    reason: Reason,
    dryRun: Type.Optional(Type.Boolean({ description: 'a replay is always a dry run until it is swapped; false is refused' })),
    eventsPerSecond: Type.Optional(Type.Integer({ minimum: 1, maximum: REPLAY_LIMITS.maxEventsPerSecond })),
    planOnly: Type.Optional(
      Type.Boolean({
        description:
          'stop once planned: show the events selected, entities to rebuild and the estimate, and build nothing (no shadow); the replay then ends `cancelled` with its plan, `finishedAt` set and no `error`',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ReplayRequest = Static<typeof ReplayRequest>;

export const ReplaySwapRequest = Type.Object(
  { reason: Reason, confirm: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'the diff digest the operator read (GET /v1/replays/{id}/diff)' }) },
  { additionalProperties: false },
);
export type ReplaySwapRequest = Static<typeof ReplaySwapRequest>;

export const ReplayCancelRequest = Type.Object({ reason: Reason }, { additionalProperties: false });

export const ReplayListQuery = Type.Object(
  {
    status: Type.Optional(Type.String({ pattern: `^(${REPLAY_STATUSES.join('|')})$` })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$' })),
  },
  { additionalProperties: false },
);

export const ReplayDiffQuery = Type.Object(
  {
    change: Type.Optional(Type.String({ pattern: '^(differs|changed|unchanged|added|removed|all)$', description: 'differs (default): changed, added or removed' })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$' })),
    after: Type.Optional(Type.String({ maxLength: 600, description: 'the `next` of the previous page' })),
  },
  { additionalProperties: false },
);

export const REDELIVERY_STREAMS = ['MERGED', 'REVIEW', 'ASSETS'] as const;

export const RedeliveryRequest = Type.Object(
  {
    stream: Type.Union(REDELIVERY_STREAMS.map((s) => Type.Literal(s))),
    consumer: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'the integrator’s durable consumer' }),
    fromSeq: Seq,
    toSeq: Seq,
    reason: Reason,
    skipUnacknowledged: Type.Optional(
      Type.Boolean({
        description:
          'start at fromSeq even when it is above the consumer’s ack floor + 1, so the messages between its ack floor and fromSeq that it has not acknowledged are never delivered to it (refused with 409 otherwise); recorded in the audit',
      }),
    ),
  },
  { additionalProperties: false },
);
export type RedeliveryRequest = Static<typeof RedeliveryRequest>;

/** Problem types of the replay API, beyond the shared catalogue. */
export const ReplayProblemType = {
  /** The replay is not in a state that allows the call (swap before `built`, cancel after it ended). */
  wrongState: 'replay-wrong-state',
  /** `confirm` is not the digest of the replay's diff. */
  confirmMismatch: 'replay-confirm-mismatch',
  /** Live changed for the replay's entities since its shadow was built: re-run it. */
  liveChanged: 'replay-live-changed',
  /** The consumer cannot be re-delivered to (not found, or not an integrator's durable consumer). */
  redeliveryRefused: 'redelivery-refused',
} as const;
export type ReplayProblemType = (typeof ReplayProblemType)[keyof typeof ReplayProblemType];

export function replayProblem(type: ReplayProblemType, status: number, title: string, extra: Partial<Problem> = {}): Problem {
  return { type: `${PROBLEM_BASE}${type}`, title, status, ...extra };
}
