import type { DeviceEvent, FieldChange } from '@tidemark/contracts';
import { checkJobTransition } from '../job/job-machine';
import { planFieldChange, writeReview, type PolicyStep } from '../policies';
import { assertNever, own, sortedKeys } from '../schema/own';
import type { EntityTypeSchema, FieldPolicy } from '../schema/schema';
import { cloneJson, valueProblem } from '../schema/values';
import { ENTITY_FIELD, type DeleteConflict, type EntityState, type EventStamp, type FieldState } from '../state/entity-state';
import { stampOf } from '../state/order';
import { fieldValue, hasAccepted } from '../state/state';
import type { MergeFact } from './facts';
import type { FieldDecision, MergeProblem, NoopCode, RejectCode, RepairCode } from './result';

/** What `decide` concludes about one event; `merge` turns it into a `MergeResult`. */
export type Verdict =
  | { kind: 'reject'; problems: MergeProblem[] }
  | { kind: 'noop'; code: NoopCode; reason: string }
  | { kind: 'repair'; code: RepairCode; reason: string }
  | {
      kind: 'accept';
      facts: MergeFact[];
      decisions: FieldDecision[];
      resolved: string[];
      /** An entity-level rule combined the event with changes it had not seen (a delete rule fired). */
      merged: boolean;
      reason?: string;
    };

function reject(pointer: string, code: RejectCode, detail: string): Verdict {
  return { kind: 'reject', problems: [{ pointer, code, detail }] };
}

interface PlannedChange {
  field: string;
  policy: FieldPolicy;
  change: FieldChange;
  current: FieldState | undefined;
  step: PolicyStep;
}

type FieldsPlan = { ok: true; planned: PlannedChange[] } | { ok: false; problems: MergeProblem[] };

interface Writer {
  stamp: EventStamp;
  baseVersion: number;
  version: number;
}

/** Plans every field change (sorted by field) before anything applies: one bad change rejects the event. */
function planFields(schema: EntityTypeSchema, state: EntityState | undefined, changes: Readonly<Record<string, FieldChange>>, writer: Writer): FieldsPlan {
  const problems: MergeProblem[] = [];
  const planned: PlannedChange[] = [];
  for (const field of sortedKeys(changes)) {
    const change = changes[field]!;
    const policy = own(schema.fields, field);
    if (!policy) {
      problems.push({ pointer: `/fields/${field}`, code: 'unknown-field', detail: `field "${field}" is not declared by ${schema.type} v${schema.version}` });
      continue;
    }
    const current = state ? own(state.fields, field) : undefined;
    const plan = planFieldChange(policy, current, change, { field, ...writer });
    if (plan.ok) planned.push({ field, policy, change, current, step: plan.step });
    else problems.push(...plan.problems);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, planned };
}

function before(planned: PlannedChange): { before?: unknown } {
  return planned.current ? { before: cloneJson(fieldValue(planned.current)) } : {};
}

/** The facts and decisions of planned changes that take effect. */
function applyPlanned(planned: readonly PlannedChange[]): { facts: MergeFact[]; decisions: FieldDecision[] } {
  const facts: MergeFact[] = [];
  const decisions: FieldDecision[] = [];
  for (const item of planned) {
    const { step } = item;
    if (step.next) facts.push({ kind: 'field-set', field: item.field, state: step.next });
    if (step.conflict) facts.push({ kind: 'conflict-opened', conflict: step.conflict });
    const after = step.next ?? item.current;
    decisions.push({
      field: item.field,
      policy: item.policy.policy,
      change: cloneJson(item.change),
      ...before(item),
      ...(after ? { after: cloneJson(fieldValue(after)) } : {}),
      outcome: step.outcome,
      rule: step.rule,
      ...(step.conflict ? { conflictId: step.conflict.id } : {}),
    });
  }
  return { facts, decisions };
}

/** Decisions for changes that are held back whole (delete-wins discards them, a delete conflict parks them). */
function heldBack(planned: readonly PlannedChange[], outcome: 'discarded' | 'conflicted', conflictId?: string): FieldDecision[] {
  return planned.map((item) => ({
    field: item.field,
    policy: item.policy.policy,
    change: cloneJson(item.change),
    ...before(item),
    ...(item.current ? { after: cloneJson(fieldValue(item.current)) } : {}),
    outcome,
    rule: outcome === 'discarded' ? 'delete:delete-wins' : 'delete:review',
    ...(conflictId ? { conflictId } : {}),
  }));
}

function extraMembers(event: DeviceEvent, allowed: ReadonlyArray<'fields' | 'job' | 'resolution'>): Verdict | undefined {
  const problems: MergeProblem[] = [];
  const a = /^[aeiou]/.test(event.op) ? 'an' : 'a';
  if (!allowed.includes('fields') && event.fields !== undefined && Object.keys(event.fields).length > 0) {
    problems.push({ pointer: '/fields', code: 'invalid-event', detail: `${a} ${event.op} carries no field changes` });
  }
  if (!allowed.includes('job') && event.job !== undefined) problems.push({ pointer: '/job', code: 'invalid-event', detail: `${a} ${event.op} carries no job transition` });
  if (!allowed.includes('resolution') && event.resolution !== undefined) {
    problems.push({ pointer: '/resolution', code: 'invalid-event', detail: `${a} ${event.op} carries no conflict resolution` });
  }
  return problems.length > 0 ? { kind: 'reject', problems } : undefined;
}

function decideUpsert(state: EntityState | undefined, event: DeviceEvent, schema: EntityTypeSchema): Verdict {
  const extra = extraMembers(event, ['fields']);
  if (extra) return extra;
  if (!event.fields || Object.keys(event.fields).length === 0) return reject('/fields', 'invalid-event', 'an upsert needs at least one field change');
  const stamp = stampOf(event);
  const version = (state?.version ?? 0) + 1;
  const plan = planFields(schema, state, event.fields, { stamp, baseVersion: event.baseVersion, version });
  if (!plan.ok) return { kind: 'reject', problems: plan.problems };
  const accepted: MergeFact = { kind: 'event-accepted', stamp };
  const { facts, decisions } = applyPlanned(plan.planned);

  if (state?.deleted && state.tombstone) {
    const tomb = state.tombstone;
    const sawDelete = event.baseVersion >= tomb.version || event.deviceId === tomb.deviceId;
    if (sawDelete) {
      return {
        kind: 'accept',
        facts: [accepted, { kind: 'entity-revived' }, ...facts],
        decisions,
        resolved: [],
        merged: false,
        reason: `revived by an edit made after seeing the delete at version ${tomb.version}`,
      };
    }
    const why = `the entity was deleted at version ${tomb.version} by device ${tomb.deviceId}, which this edit (based on version ${event.baseVersion}) had not seen`;
    switch (schema.onDeleteConflict) {
      case 'delete-wins':
        return { kind: 'accept', facts: [accepted], decisions: heldBack(plan.planned, 'discarded'), resolved: [], merged: true, reason: `${why}; delete wins: the edit is recorded, not applied` };
      case 'edit-wins':
        return { kind: 'accept', facts: [accepted, { kind: 'entity-revived' }, ...facts], decisions, resolved: [], merged: true, reason: `${why}; edit wins: the entity is revived` };
      case 'review': {
        const conflict: DeleteConflict = {
          id: `${event.eventId}:${ENTITY_FIELD}`,
          kind: 'delete',
          rule: 'delete:edit-after-delete',
          field: ENTITY_FIELD,
          ours: { ...tomb, hlc: { ...tomb.hlc } },
          theirs: { ...stamp, baseVersion: event.baseVersion, fields: cloneJson(event.fields) },
          openedAt: version,
        };
        return {
          kind: 'accept',
          facts: [accepted, { kind: 'conflict-opened', conflict }],
          decisions: heldBack(plan.planned, 'conflicted', conflict.id),
          resolved: [],
          merged: true,
          reason: `${why}; the type says review: a conflict is opened and the entity stays deleted`,
        };
      }
      default:
        return assertNever(schema.onDeleteConflict, 'delete conflict rule');
    }
  }
  return { kind: 'accept', facts: [accepted, ...facts], decisions, resolved: [], merged: false };
}

function decideDelete(state: EntityState | undefined, event: DeviceEvent): Verdict {
  const extra = extraMembers(event, []);
  if (extra) return extra;
  if (state?.deleted) {
    const by = state.tombstone ? ` at version ${state.tombstone.version} by device ${state.tombstone.deviceId}` : '';
    return { kind: 'noop', code: 'already-deleted', reason: `the entity was already deleted${by}` };
  }
  const stamp = stampOf(event);
  const version = (state?.version ?? 0) + 1;
  // A delete applies to the entity as it stands; field states stay in the tombstoned state, so a revival
  // (edit-wins, a resolved delete conflict, a deliberate edit) brings them back.
  return {
    kind: 'accept',
    facts: [
      { kind: 'event-accepted', stamp },
      { kind: 'entity-deleted', tombstone: { ...stamp, version } },
    ],
    decisions: [],
    resolved: [],
    merged: false,
  };
}

function decideResolve(state: EntityState | undefined, event: DeviceEvent, schema: EntityTypeSchema): Verdict {
  const extra = extraMembers(event, ['resolution']);
  if (extra) return extra;
  const resolution = event.resolution;
  if (!resolution) return reject('/resolution', 'invalid-event', 'is required when op is "resolve"');
  const conflict = state ? own(state.conflicts, resolution.conflictId) : undefined;
  if (!state || !conflict) {
    return reject('/resolution/conflictId', 'conflict-not-open', `conflict "${resolution.conflictId}" is not open on ${event.entity.type}/${event.entity.id} (unknown or already resolved)`);
  }
  const hasValue = resolution.value !== undefined;
  if (resolution.pick !== 'value' && hasValue) return reject('/resolution/value', 'invalid-resolution', `a value is only given with pick "value", not "${resolution.pick}"`);
  const stamp = stampOf(event);
  const version = state.version + 1;
  const head: MergeFact[] = [
    { kind: 'event-accepted', stamp },
    { kind: 'conflict-resolved', conflictId: conflict.id },
  ];

  switch (conflict.kind) {
    case 'field': {
      const policy = own(schema.fields, conflict.field);
      if (!policy || policy.policy !== 'review') {
        return reject('/resolution/conflictId', 'invalid-resolution', `${schema.type} v${schema.version} does not declare "${conflict.field}" as a review field`);
      }
      const stored = own(state.fields, conflict.field);
      const current = stored?.policy === 'review' ? stored : undefined;
      const was = current ? { before: cloneJson(current.value) } : {};
      let chosen: unknown;
      switch (resolution.pick) {
        case 'ours': {
          const decision: FieldDecision = {
            field: conflict.field,
            policy: 'review',
            change: { op: 'set', value: cloneJson(current?.value ?? null) },
            ...was,
            ...(current ? { after: cloneJson(current.value) } : {}),
            outcome: 'unchanged',
            rule: 'resolve:ours',
          };
          return { kind: 'accept', facts: head, decisions: [decision], resolved: [conflict.id], merged: false, reason: `conflict ${conflict.id} resolved: the stored value stays` };
        }
        case 'theirs':
          chosen = conflict.theirs.value;
          break;
        case 'value': {
          if (!hasValue) return reject('/resolution/value', 'invalid-resolution', 'pick "value" needs a value');
          const problem = valueProblem(resolution.value, policy.valueType, policy.nullable === true);
          if (problem) return reject('/resolution/value', 'invalid-value', `field "${conflict.field}": ${problem}`);
          chosen = resolution.value;
          break;
        }
        default:
          return assertNever(resolution.pick, 'resolution pick');
      }
      const next = writeReview(current, chosen, { stamp, version });
      const decision: FieldDecision = {
        field: conflict.field,
        policy: 'review',
        change: { op: 'set', value: cloneJson(chosen) },
        ...was,
        after: cloneJson(next.value),
        outcome: 'applied',
        rule: resolution.pick === 'theirs' ? 'resolve:theirs' : 'resolve:value',
      };
      return {
        kind: 'accept',
        facts: [...head, { kind: 'field-set', field: conflict.field, state: next }],
        decisions: [decision],
        resolved: [conflict.id],
        merged: false,
        reason: `conflict ${conflict.id} resolved with ${resolution.pick}`,
      };
    }
    case 'delete': {
      switch (resolution.pick) {
        case 'ours':
          return { kind: 'accept', facts: head, decisions: [], resolved: [conflict.id], merged: false, reason: `conflict ${conflict.id} resolved: the delete stands, the edit is discarded` };
        case 'theirs': {
          // The parked edit applies now, under its own stamp and base, as if it had just arrived on a live entity.
          const { baseVersion, fields, ...editStamp } = conflict.theirs;
          const plan = planFields(schema, state, fields, { stamp: stampOf(editStamp), baseVersion, version });
          if (!plan.ok) return { kind: 'reject', problems: plan.problems.map((p) => ({ ...p, code: 'invalid-resolution', detail: `the parked edit no longer applies: ${p.detail}` })) };
          const { facts, decisions } = applyPlanned(plan.planned);
          const revive: MergeFact[] = state.deleted ? [{ kind: 'entity-revived' }] : [];
          return {
            kind: 'accept',
            facts: [...head, ...revive, ...facts],
            decisions,
            resolved: [conflict.id],
            merged: false,
            reason: `conflict ${conflict.id} resolved: the edit applies and the entity is revived`,
          };
        }
        case 'value':
          return reject('/resolution/pick', 'invalid-resolution', 'a delete conflict is resolved with "ours" (the delete stands) or "theirs" (the edit applies)');
        default:
          return assertNever(resolution.pick, 'resolution pick');
      }
    }
    default:
      return assertNever(conflict, 'conflict');
  }
}

function decideTransition(state: EntityState | undefined, event: DeviceEvent, schema: EntityTypeSchema): Verdict {
  if (!schema.job) return reject('/op', 'not-a-job', `${schema.type} is not a job type; only job types accept transitions`);
  const extra = extraMembers(event, ['fields', 'job']);
  if (extra) return extra;
  const reported = event.job;
  if (!reported) return reject('/job', 'invalid-event', 'is required when op is "transition"');
  const stamp = stampOf(event);
  const version = (state?.version ?? 0) + 1;
  const plan = planFields(schema, state, event.fields ?? {}, { stamp, baseVersion: event.baseVersion, version });
  if (!plan.ok) return { kind: 'reject', problems: plan.problems };
  if (state?.deleted) return { kind: 'repair', code: 'job-deleted', reason: `the job entity is deleted; device ${event.deviceId} reports ${reported.to} at attempt ${reported.attempt}` };
  const check = checkJobTransition(state?.job, reported, event.deviceId);
  switch (check.kind) {
    case 'noop':
      return { kind: 'noop', code: 'already-reported', reason: check.reason };
    case 'repair':
      return { kind: 'repair', code: check.code, reason: check.reason };
    case 'advance': {
      const { facts, decisions } = applyPlanned(plan.planned);
      const entry = { ...stamp, version, from: check.from, to: reported.to, attempt: reported.attempt, ...(reported.error !== undefined ? { error: reported.error } : {}) };
      return {
        kind: 'accept',
        facts: [{ kind: 'event-accepted', stamp }, { kind: 'job-transitioned', entry }, ...facts],
        decisions,
        resolved: [],
        merged: false,
        reason: `job ${check.from ?? '(new)'} → ${reported.to} at attempt ${reported.attempt}`,
      };
    }
    default:
      return assertNever(check, 'job check');
  }
}

/**
 * The decider: what one event does to one entity under its schema. Pure: reads its arguments only.
 * Order of checks: the schema must be the event's; an event already accepted is a no-op; then the
 * operation's own rules (validation of every field change comes before any effect).
 */
export function decide(state: EntityState | undefined, event: DeviceEvent, schema: EntityTypeSchema): Verdict {
  if (schema.type !== event.entity.type) return reject('/entity/type', 'schema-mismatch', `the schema is for "${schema.type}", the event is for "${event.entity.type}"`);
  if (schema.version !== event.schemaVersion) {
    return reject('/schemaVersion', 'schema-mismatch', `the event was written against ${event.entity.type} v${event.schemaVersion}, the schema given is v${schema.version}`);
  }
  if (state && hasAccepted(state, event.eventId)) return { kind: 'noop', code: 'duplicate-event', reason: `event ${event.eventId} was already applied` };
  switch (event.op) {
    case 'upsert':
      return decideUpsert(state, event, schema);
    case 'delete':
      return decideDelete(state, event);
    case 'resolve':
      return decideResolve(state, event, schema);
    case 'transition':
      return decideTransition(state, event, schema);
    default:
      return assertNever(event.op, 'event op');
  }
}
