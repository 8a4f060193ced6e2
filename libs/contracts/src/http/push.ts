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
  partition: Type.Optional(Type.String({ description: "the record's partition (the value of its type's `partitionBy` field), for a partitioned type" })),
  outOfScope: Type.Optional(
    Type.Literal(true, {
      description: 'the change moved the record out of every scope the device reads: drop it locally (sent with `deleted: true` and empty state; its new state is not sent)',
    }),
  ),
  assets: Type.Optional(
    Type.Array(
      Type.Object({
        field: Type.String(),
        sha256: Type.String(),
        status: Type.Union([Type.Literal('verified'), Type.Literal('uploading'), Type.Literal('missing')], { description: 'uploading or missing: show "waiting for upload"' }),
      }),
      { description: 'the assets this state references (schema fields of value type asset) and where their bytes stand' },
    ),
  ),
});
export type Change = Static<typeof Change>;
