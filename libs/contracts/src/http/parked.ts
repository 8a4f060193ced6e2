import { Type, type Static } from '@sinclair/typebox';
import { PROBLEM_BASE, type Problem } from './problem';

/**
 * Parked work (ops-api `/v1/parked`): journal messages merge-service set aside for an operator, and the
 * three ways out — re-drive, edit-and-re-drive, skip. Each is a message on the journal (the parked
 * message's own subject), so the projection stays a function of the journal: merge-service reads these
 * headers and applies the outcome exactly once, in journal order.
 */
export const PARKED_HEADERS = {
  /** `redrive`, `edit` or `skip`. */
  action: 'tm-parked-action',
  /** The consumer and journal sequence of the parked entry acted on. */
  consumer: 'tm-parked-consumer',
  seq: 'tm-parked-seq',
  /** The operator's reason, URI-encoded (headers carry one line of text). */
  reason: 'tm-parked-reason',
} as const;

export const PARKED_ACTIONS = ['redrive', 'edit', 'skip'] as const;
export type ParkedAction = (typeof PARKED_ACTIONS)[number];

/** `parked` until resolved: `redriven` (a later journal copy was applied or parked again) or `skipped`. */
export const PARKED_STATUSES = ['parked', 'redriven', 'skipped'] as const;
export type ParkedStatus = (typeof PARKED_STATUSES)[number];

/** Why a message was parked: the registry lacks its type or version, it is not a journal record, or it kept failing. */
export const PARK_CODES = ['unknown-entity-type', 'unknown-schema-version', 'undecodable', 'failing'] as const;
export type ParkCode = (typeof PARK_CODES)[number];

export const PARKED_LIMITS = { maxReasonLength: 1000, maxPageSize: 500, defaultPageSize: 100 } as const;

/** Problem types of the parked API, beyond the shared catalogue. */
export const ParkedProblemType = {
  /** The entry is not `parked` any more (already re-driven or skipped). */
  notParked: 'parked-entry-not-parked',
  /** The entry holds no journal record to re-drive (it was not one): skip it instead. */
  notARecord: 'parked-entry-not-a-record',
  /** The edited event is not the same event (eventId, deviceId, deviceSeq and entity must stay). */
  editChangesIdentity: 'edited-event-changes-identity',
} as const;
export type ParkedProblemType = (typeof ParkedProblemType)[keyof typeof ParkedProblemType];

export function parkedProblem(type: ParkedProblemType, status: number, title: string, extra: Partial<Problem> = {}): Problem {
  return { type: `${PROBLEM_BASE}${type}`, title, status, ...extra };
}

const Reason = Type.String({ minLength: 1, maxLength: PARKED_LIMITS.maxReasonLength, pattern: '\\S', description: 'why, in the operator’s words (recorded in the audit log)' });

export const ParkedListQuery = Type.Object(
  {
    workspace: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
    consumer: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
    status: Type.Optional(Type.Union([...PARKED_STATUSES.map((s) => Type.Literal(s)), Type.Literal('all')], { description: 'default parked' })),
    code: Type.Optional(Type.Union(PARK_CODES.map((c) => Type.Literal(c)))),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: `page size, 1–${PARKED_LIMITS.maxPageSize} (default ${PARKED_LIMITS.defaultPageSize})` })),
    after: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'the `next` of a previous page: entries are ordered by journal sequence' })),
  },
  { additionalProperties: false },
);
export type ParkedListQuery = Static<typeof ParkedListQuery>;

export const ParkedActionRequest = Type.Object({ reason: Reason }, { additionalProperties: false });
export type ParkedActionRequest = Static<typeof ParkedActionRequest>;

/** The corrected event is checked with the push validator (`validatePushRequest`) after this shape. */
export const ParkedEditRequest = Type.Object({ reason: Reason, event: Type.Unknown({ description: 'the corrected device event' }) }, { additionalProperties: false });
export type ParkedEditRequest = Static<typeof ParkedEditRequest>;
