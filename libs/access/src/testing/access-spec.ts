// Given / when / then for access rules (after emmett's DeciderSpecification): given the workspace's rules and the
// device's role, when it writes an event, then it is allowed or denied with these codes at these pointers. Every
// step also checks what any verdict must keep: the rules validate, inputs are not mutated, the verdict is the same
// when asked twice, and the batch form agrees with the single one.
import assert from 'node:assert/strict';
import type { DeviceEvent, FieldChange } from '@tidemark/contracts';
import { accessOf, checkBatchWrite, checkWrite, validateAccessRules, type AccessRules, type WriteDenialCode } from '../index';

/** A UUID-shaped, deterministic event id. */
const uuid = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
let counter = 0;

/** An event with sensible defaults (an upsert of `annotation/a-1` by `dev-a`). */
export function event(overrides: Partial<DeviceEvent> = {}): DeviceEvent {
  counter++;
  return {
    eventId: uuid(counter),
    deviceId: 'dev-a',
    deviceSeq: counter,
    hlc: { wall: 1_700_000_000_000 + counter, counter: 0 },
    entity: { type: 'annotation', id: 'a-1' },
    op: 'upsert',
    baseVersion: 0,
    schemaVersion: 1,
    ...overrides,
  };
}

const set = (value: unknown): FieldChange => ({ op: 'set', value });

export const upsert = (type: string, fields: Record<string, unknown>): DeviceEvent =>
  event({ entity: { type, id: `${type}-1` }, fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, set(v)])) });
export const remove = (type: string): DeviceEvent => event({ entity: { type, id: `${type}-1` }, op: 'delete' });
export const transition = (type: string, fields: Record<string, unknown> = {}): DeviceEvent =>
  event({
    entity: { type, id: `${type}-1` },
    op: 'transition',
    job: { to: 'running', attempt: 1 },
    ...(Object.keys(fields).length > 0 ? { fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, set(v)])) } : {}),
  });
export const resolution = (type: string): DeviceEvent => event({ entity: { type, id: `${type}-1` }, op: 'resolve', resolution: { conflictId: 'c-1', pick: 'ours' } });

function frozen<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) frozen(item);
  }
  return value;
}

export function accessSpec(rules: AccessRules | undefined) {
  if (rules) assert.deepStrictEqual(validateAccessRules(rules), [], 'the rules of a specification are valid');
  const held = rules && frozen(structuredClone(rules));
  return {
    /** The device holds `role` (null: none). */
    given(role: string | null) {
      const access = accessOf(held, role);
      return {
        when(written: DeviceEvent) {
          const e = frozen(written);
          const verdict = checkWrite(access, e);
          assert.deepStrictEqual(checkWrite(access, e), verdict, 'the same verdict when asked twice');
          const batch = checkBatchWrite(access, [e]);
          assert.deepStrictEqual(batch, verdict.ok ? [] : verdict.denials.map((d) => ({ ...d, pointer: `/events/0${d.pointer}` })), 'the batch form agrees');
          return {
            thenAllowed() {
              assert.ok(verdict.ok, `expected ${e.op} of ${e.entity.type} to be allowed, got ${JSON.stringify(verdict)}`);
            },
            /** The denials, as `code@pointer`, in order. */
            thenDenied(expected: `${WriteDenialCode}@${string}`[], detail?: RegExp) {
              assert.ok(!verdict.ok, `expected ${e.op} of ${e.entity.type} to be denied`);
              assert.deepStrictEqual(
                verdict.denials.map((d) => `${d.code}@${d.pointer}`),
                expected,
              );
              if (detail) for (const d of verdict.denials) assert.match(d.detail, detail);
            },
          };
        },
      };
    },
  };
}
