import { Type, type Static } from '@sinclair/typebox';

export const EventResult = Type.Union([
  Type.Object({ eventId: Type.String(), status: Type.Literal('accepted'), seq: Type.Integer() }),
  Type.Object({ eventId: Type.String(), status: Type.Literal('duplicate'), seq: Type.Integer() }),
  Type.Object({ eventId: Type.String(), status: Type.Literal('rejected'), reason: Type.String() }),
]);
export type EventResult = Static<typeof EventResult>;

export const PushResponse = Type.Object({ results: Type.Array(EventResult) });
export type PushResponse = Static<typeof PushResponse>;

export const Change = Type.Object({
  cursor: Type.String({ description: 'opaque; pass it back as `after`' }),
  entity: Type.Object({ type: Type.String(), id: Type.String() }),
  version: Type.Integer(),
  deleted: Type.Boolean(),
  state: Type.Record(Type.String(), Type.Unknown(), { description: 'field values (empty while deleted)' }),
  inConflict: Type.Array(Type.String(), { description: 'fields with an open conflict ($entity: a delete conflict)' }),
  job: Type.Optional(Type.Object({ state: Type.String(), attempt: Type.Integer(), error: Type.Optional(Type.String()) })),
  eventId: Type.String(),
  deviceId: Type.String(),
});
export type Change = Static<typeof Change>;

export const PullResponse = Type.Object(
  { changes: Type.Array(Change), next: Type.String({ description: 'cursor to pass as `after` next time' }), hasMore: Type.Boolean() },
);
export type PullResponse = Static<typeof PullResponse>;

export const PullQuery = Type.Object(
  {
    after: Type.Optional(Type.String({ pattern: '^[0-9]{1,19}$', description: 'cursor from a previous pull; omit for the beginning' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
export type PullQuery = Static<typeof PullQuery>;
