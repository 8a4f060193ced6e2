// A test entity type with one field of every policy (not shipped).
import { schemaRegistryOf } from '../schema/registry';
import type { DeleteConflictRule, EntityTypeSchema } from '../schema/schema';

export function kitchenSink(onDeleteConflict: DeleteConflictRule = 'delete-wins'): EntityTypeSchema {
  return {
    type: 'sink',
    version: 1,
    onDeleteConflict,
    fields: {
      title: { policy: 'lww', valueType: 'string' },
      note: { policy: 'lww', valueType: 'string', nullable: true },
      n: { policy: 'counter', valueType: 'integer' },
      hi: { policy: 'max', valueType: 'integer' },
      lo: { policy: 'min', valueType: 'number' },
      word: { policy: 'max', valueType: 'string' },
      tags: { policy: 'set', valueType: 'string' },
      things: { policy: 'set', valueType: 'json' },
      log: { policy: 'append', valueType: 'string' },
      body: { policy: 'review', valueType: 'string' },
      meta: { policy: 'review', valueType: 'json', nullable: true },
    },
  };
}

export const SINK = kitchenSink();
export const sinkRegistry = schemaRegistryOf([SINK]);
