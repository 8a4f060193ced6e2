// Property tests: for any rules and events fast-check can think of, a verdict names real places in the event,
// widening a role never takes a permission away, and a field grant denies exactly the fields it does not list.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DeviceEvent, FieldChange } from '@tidemark/contracts';
import { accessOf, checkBatchWrite, checkWrite, typeGrant, validateAccessRules, type RoleRules, type TypeWrite } from '../index';

const TYPES = ['annotation', 'job', 'prompt'] as const;
const FIELDS = ['label', 'tags', 'progress', 'logs', 'text'] as const;

const fieldList = fc.uniqueArray(fc.constantFrom(...FIELDS), { minLength: 1 });
const typeWrite: fc.Arbitrary<TypeWrite> = fc.oneof(
  fc.constant('*' as const),
  fieldList,
  fc.record({ fields: fc.oneof(fc.constant('*' as const), fieldList), delete: fc.boolean(), transition: fc.boolean() }, { requiredKeys: [] }),
);
const role: fc.Arbitrary<RoleRules> = fc.record(
  {
    write: fc.oneof({ weight: 1, arbitrary: fc.constant('*' as const) }, { weight: 5, arbitrary: fc.dictionary(fc.constantFrom(...TYPES), typeWrite, { maxKeys: 3 }) }),
    resolve: fc.oneof(fc.boolean(), fc.uniqueArray(fc.constantFrom(...TYPES))),
  },
  { requiredKeys: ['write'] },
);

let n = 0;
const set: FieldChange = { op: 'set', value: 1 };
const deviceEvent: fc.Arbitrary<DeviceEvent> = fc
  .record({ type: fc.constantFrom(...TYPES), op: fc.constantFrom('upsert', 'delete', 'transition', 'resolve'), fields: fc.uniqueArray(fc.constantFrom(...FIELDS), { minLength: 1 }) })
  .map(({ type, op, fields }) => {
    n++;
    const base = {
      eventId: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
      deviceId: 'd',
      deviceSeq: n,
      hlc: { wall: n, counter: 0 },
      entity: { type, id: 'e' },
      baseVersion: 0,
      schemaVersion: 1,
    };
    const changes = Object.fromEntries(fields.map((f) => [f, set]));
    switch (op) {
      case 'upsert':
        return { ...base, op, fields: changes };
      case 'delete':
        return { ...base, op };
      case 'transition':
        return { ...base, op, job: { to: 'running', attempt: 1 }, fields: changes };
      default:
        return { ...base, op: 'resolve', resolution: { conflictId: 'c', pick: 'ours' } };
    }
  });

/** The member a JSON pointer names ('' is the whole value). */
function at(value: unknown, pointer: string): unknown {
  if (pointer === '') return value;
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, token) => (node !== null && typeof node === 'object' && Object.prototype.hasOwnProperty.call(node, token) ? (node as Record<string, unknown>)[token] : undefined), value);
}

/** Everything `a` grants and everything `b` grants. */
function widen(a: RoleRules, b: RoleRules): RoleRules {
  const resolve = a.resolve === true || b.resolve === true ? true : [...new Set([...(Array.isArray(a.resolve) ? a.resolve : []), ...(Array.isArray(b.resolve) ? b.resolve : [])])];
  if (a.write === '*' || b.write === '*') return { write: '*', resolve };
  const write: Record<string, TypeWrite> = {};
  for (const type of TYPES) {
    const x = typeGrant(a, type);
    const y = typeGrant(b, type);
    const fields = x.fields === '*' || y.fields === '*' ? '*' : [...new Set([...x.fields, ...y.fields])];
    if (fields !== '*' && fields.length === 0 && !x.delete && !y.delete && !x.transition && !y.transition) continue;
    write[type] = { fields, delete: x.delete || y.delete, transition: x.transition || y.transition };
  }
  return { write, resolve };
}

describe('access rules, for any roles and events', () => {
  it('generated roles are valid rules', () => {
    fc.assert(fc.property(role, (r) => assert.deepStrictEqual(validateAccessRules({ version: 1, roles: { r } }), [])));
  });

  it('every denial points at a member of the event, and the batch points at the same member inside the batch', () => {
    fc.assert(
      fc.property(role, fc.array(deviceEvent, { minLength: 1, maxLength: 5 }), (r, events) => {
        const access = accessOf({ version: 1, roles: { r } }, 'r');
        for (const e of events) {
          const verdict = checkWrite(access, e);
          if (!verdict.ok) for (const d of verdict.denials) assert.notEqual(at(e, d.pointer), undefined, `${d.pointer} in ${JSON.stringify(e)}`);
        }
        for (const d of checkBatchWrite(access, events)) assert.notEqual(at({ events }, d.pointer), undefined, d.pointer);
      }),
    );
  });

  it('widening a role never denies what it allowed', () => {
    fc.assert(
      fc.property(role, role, deviceEvent, (a, b, e) => {
        const narrow = checkWrite(accessOf({ version: 1, roles: { r: a } }, 'r'), e);
        const wide = checkWrite(accessOf({ version: 1, roles: { r: widen(a, b) } }, 'r'), e);
        if (narrow.ok) assert.ok(wide.ok, JSON.stringify({ a, b, e, wide }));
        else if (!wide.ok && !narrow.denials.some((d) => d.code === 'type-not-writable')) {
          const denied = new Set(narrow.denials.map((d) => d.pointer));
          for (const d of wide.denials) assert.ok(denied.has(d.pointer), `${d.pointer} denied only once widened`);
        }
      }),
    );
  });

  it('an upsert of a writable type is denied exactly the fields the role does not list', () => {
    fc.assert(
      fc.property(role, deviceEvent, (r, e) => {
        fc.pre(e.op === 'upsert');
        const grant = typeGrant(r, e.entity.type);
        fc.pre(grant.fields === '*' || grant.fields.length > 0);
        const verdict = checkWrite(accessOf({ version: 1, roles: { r } }, 'r'), e);
        const unlisted =
          grant.fields === '*'
            ? []
            : Object.keys(e.fields!)
                .filter((f) => !grant.fields.includes(f))
                .sort();
        assert.deepStrictEqual(
          verdict.ok ? [] : verdict.denials.map((d) => d.pointer),
          unlisted.map((f) => `/fields/${f}`),
        );
      }),
    );
  });
});
