import type { ConflictView, DeviceEvent, FieldChange } from '@tidemark/contracts';
import { canonicalJson } from '@tidemark/contracts/core';
import {
  ENTITY_FIELD,
  findSchema,
  latestSchema,
  merge,
  view,
  type EntityState,
  type EntityTypeSchema,
  type EntityView,
  type EventStamp,
  type FieldPolicy,
  type FieldState,
  type MergeOutcome,
  type OpenConflict,
  type SchemaRegistry,
} from '@tidemark/merge';
import type { EntityRecord } from './record';

/**
 * The optimistic view of an entity: its synced state with this device's unsettled writes (and journaled
 * resolutions) merged over it by `@tidemark/merge`, the rules merge-service applies. Pure: time and ids are
 * inputs (each event carries its own HLC stamp and id; `acceptedAt` is derived from the stamp).
 *
 * The merge state is rebuilt from what a pulled change carries (values) and the replica's evidence:
 * - `lww`, `max`, `min`: the synced value under a stamp older than any real one (a pending write wins, as it does
 *   on the server unless a write with a later stamp reached it first: then the server's answer diverges);
 * - `counter`, `append`: the synced value / items (appended items go after the synced ones);
 * - `set`: each element tagged with the version and device of the change that first showed it, so a remove
 *   keeps an element added concurrently (add wins), as on the server;
 * - `review`: the version and device of the change that last changed the value, so a write based on an older
 *   version opens a conflict when another device changed the field, as on the server;
 * - deletes: the version and device of the delete, and the values from before it.
 */
export interface OverlayResult {
  /** Absent when the entity has neither a synced state nor an accepted write. */
  view?: EntityView;
  /** The outcome of each event, in order (`skipped`: no schema could decide it). */
  outcomes: (MergeOutcome | 'skipped')[];
}

const SEED: Omit<EventStamp, 'deviceId'> = { eventId: 'replica:seed', hlc: { wall: 0, counter: 0 } };

/** The schema the overlay merges `event` with: the registry's, or one inferred from the writes (see {@link inferredSchema}). */
function schemaFor(registry: SchemaRegistry, event: DeviceEvent, inferred: () => EntityTypeSchema): EntityTypeSchema {
  const found = findSchema(registry, event.entity.type, event.schemaVersion);
  if (found.ok) return found.schema;
  const latest = latestSchema(registry, event.entity.type);
  if (latest) return { ...latest, version: event.schemaVersion };
  return { ...inferred(), version: event.schemaVersion };
}

const INFERRED: Record<FieldChange['op'], FieldPolicy> = {
  set: { policy: 'lww', valueType: 'json', nullable: true },
  inc: { policy: 'counter', valueType: 'integer' },
  add: { policy: 'set', valueType: 'json' },
  remove: { policy: 'set', valueType: 'json' },
  append: { policy: 'append', valueType: 'json' },
};

/**
 * For an entity type the client has no schema of: `set` is last-writer-wins, `inc` a counter, `add`/`remove` a
 * set, `append` a list (by the first op that names the field); an edit after a delete revives the entity.
 */
export function inferredSchema(type: string, events: readonly DeviceEvent[]): EntityTypeSchema {
  const fields: Record<string, FieldPolicy> = {};
  for (const event of events) for (const [name, change] of Object.entries(event.fields ?? {})) fields[name] ??= INFERRED[change.op];
  return { type, version: 1, fields, onDeleteConflict: 'edit-wins' };
}

function seedField(policy: FieldPolicy | undefined, name: string, value: unknown, record: EntityRecord, stamp: EventStamp): FieldState {
  const synced = record.synced!;
  switch (policy?.policy) {
    case 'counter':
      if (typeof value === 'number') return { policy: 'counter', value };
      break;
    case 'max':
    case 'min':
      if (typeof value === 'number' || typeof value === 'string') return { policy: policy.policy, value, stamp };
      break;
    case 'set': {
      if (!Array.isArray(value)) break;
      const tags = record.evidence.set?.[name] ?? {};
      const elements = value.map((element: unknown) => {
        const key = canonicalJson(element);
        const tag = tags[key] ?? { at: synced.version, deviceId: synced.deviceId };
        return { key, element: { value: element, tags: [{ eventId: `replica:seed:${tag.at}`, deviceId: tag.deviceId, at: tag.at }] } };
      });
      elements.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      return { policy: 'set', elements: elements.map((e) => e.element) };
    }
    case 'append':
      if (Array.isArray(value)) return { policy: 'append', items: value.map((item: unknown, index) => ({ ...stamp, index, value: item })) };
      break;
    case 'review': {
      const known = record.evidence.review?.[name] ?? { version: synced.version, deviceId: synced.deviceId, created: 0 };
      return { policy: 'review', value, changed: { ...SEED, deviceId: known.deviceId, version: known.version }, created: known.created, history: [{ version: known.version, value }] };
    }
    default:
      break;
  }
  return { policy: 'lww', value, stamp };
}

function seedConflict(conflict: ConflictView): OpenConflict | undefined {
  const ours = { eventId: conflict.ours.eventId, deviceId: conflict.ours.deviceId, hlc: conflict.ours.hlc, version: conflict.ours.version ?? conflict.opened.version };
  const theirs = { eventId: conflict.theirs.eventId, deviceId: conflict.theirs.deviceId, hlc: conflict.theirs.hlc, baseVersion: conflict.theirs.baseVersion ?? 0 };
  if (conflict.kind === 'delete') {
    return {
      id: conflict.id,
      kind: 'delete',
      rule: 'delete:edit-after-delete',
      field: ENTITY_FIELD,
      ours,
      theirs: { ...theirs, fields: (conflict.theirs.fields ?? {}) as Record<string, FieldChange> },
      openedAt: conflict.opened.version,
    };
  }
  return {
    id: conflict.id,
    kind: 'field',
    rule: 'review:concurrent-edit',
    field: conflict.field,
    base: conflict.base ?? { kind: 'unknown' },
    ours: { ...ours, value: conflict.ours.value },
    theirs: { ...theirs, value: conflict.theirs.value },
    openedAt: conflict.opened.version,
  };
}

/** The merge state rebuilt from a record (see the module comment); undefined for an entity never pulled. */
export function seedState(record: EntityRecord, schema: EntityTypeSchema | undefined): EntityState | undefined {
  const synced = record.synced;
  if (!synced) return undefined;
  const stamp: EventStamp = { ...SEED, deviceId: synced.deviceId };
  const values = synced.deleted ? (record.evidence.hidden ?? {}) : synced.state;
  const fields: Record<string, FieldState> = {};
  for (const name of Object.keys(values).sort()) fields[name] = seedField(schema?.fields[name], name, values[name], record, stamp);
  const conflicts: Record<string, OpenConflict> = {};
  for (const conflict of record.conflicts) {
    const seeded = seedConflict(conflict);
    if (seeded) conflicts[seeded.id] = seeded;
  }
  const state: EntityState = {
    type: record.type,
    id: record.id,
    version: synced.version,
    deleted: synced.deleted,
    fields,
    openConflicts: Object.keys(conflicts).sort(),
    conflicts,
    recent: [{ eventId: synced.eventId, deviceId: synced.deviceId, hlc: { wall: 0, counter: 0 } }],
  };
  if (synced.deleted) {
    const by = record.evidence.deleted ?? { version: synced.version, deviceId: synced.deviceId };
    state.tombstone = { ...SEED, deviceId: by.deviceId, version: by.version };
  }
  if (synced.job) {
    const job = synced.job as { state: NonNullable<EntityState['job']>['state']; attempt: number; error?: string };
    state.job = {
      state: job.state,
      attempt: job.attempt,
      ...(job.error !== undefined ? { error: job.error } : {}),
      history: [{ ...SEED, deviceId: synced.deviceId, version: synced.version, from: null, to: job.state, attempt: job.attempt }],
    };
  }
  return state;
}

/**
 * Merges `events` (this device's unsettled writes and resolutions, in the order the server will see them) over
 * the record's synced state. An event merge cannot decide here (a schema that contradicts the synced values)
 * is skipped: the server's answer will tell.
 */
export function overlay(record: EntityRecord, events: readonly DeviceEvent[], registry: SchemaRegistry, workspace: string): OverlayResult {
  let inferred: EntityTypeSchema | undefined;
  const infer = () => (inferred ??= inferredSchema(record.type, events));
  const seedSchema = latestSchema(registry, record.type) ?? (events.length > 0 ? infer() : undefined);
  let state = seedState(record, seedSchema);
  const outcomes: OverlayResult['outcomes'] = [];
  for (const event of events) {
    try {
      const result = merge(state, { event, workspace, acceptedAt: new Date(Math.min(event.hlc.wall, 8.64e15)).toISOString(), streamSeq: 0 }, schemaFor(registry, event, infer));
      outcomes.push(result.outcome);
      if (result.outcome === 'applied' || result.outcome === 'merged' || result.outcome === 'conflicted') state = result.state;
    } catch {
      outcomes.push('skipped');
    }
  }
  if (!state) return { outcomes };
  const shown = view(state);
  // Fields the server says are in conflict, whose conflict the replica has not pulled (it opened before this
  // device's cursor), stay in conflict.
  const known = new Set(record.conflicts.map((c) => c.field));
  const unknown = (record.synced?.inConflict ?? []).filter((field) => !known.has(field));
  if (unknown.length > 0) shown.inConflict = [...new Set([...shown.inConflict, ...unknown])].sort();
  return { view: shown, outcomes };
}
