import type { DeviceEvent } from '@tidemark/contracts';
import { roleResolves, typeGrant } from '../rules/declaration';
import { pointerToken } from '../rules/validate';
import { describeRole, describeUndeclared, type Access } from './access';

/** Why an event may not be written. Codes are stable; the gateway answers them as 403 problem+json. */
export const WRITE_DENIAL_CODES = ['role-undeclared', 'type-not-writable', 'field-not-writable', 'delete-not-allowed', 'transition-not-allowed', 'resolve-not-allowed'] as const;
export type WriteDenialCode = (typeof WRITE_DENIAL_CODES)[number];

/** One thing a device may not write: where (a JSON pointer into the event, or into the batch) and why. */
export interface WriteDenial {
  code: WriteDenialCode;
  pointer: string;
  detail: string;
}

export type WriteVerdict = { ok: true } | { ok: false; denials: readonly WriteDenial[] };

const OK: WriteVerdict = Object.freeze({ ok: true });

/**
 * Whether a device with `access` may write `event`. Pointers are into the event (`/fields/label`, `/op`,
 * `/entity/type`; `` for the whole event). Every denial of the event is listed:
 * - `upsert`: the entity type must be writable, and each changed field among the type's writable fields;
 * - `delete`: the role must be allowed to delete entities of the type;
 * - `transition`: the role must be allowed to report transitions of the type, and any fields it changes as for an upsert;
 * - `resolve` (a resolution pushed as an event): the role must be allowed to resolve conflicts of the type.
 */
export function checkWrite(access: Access, event: DeviceEvent): WriteVerdict {
  switch (access.kind) {
    case 'unrestricted':
      return OK;
    case 'undeclared':
      return { ok: false, denials: [{ code: 'role-undeclared', pointer: '', detail: describeUndeclared(access, 'write') }] };
    case 'role':
      break;
    default:
      return assertNever(access);
  }
  const type = event.entity.type;
  const who = describeRole(access);
  const denials: WriteDenial[] = [];
  if (event.op === 'resolve') {
    if (!roleResolves(access.rules, type)) denials.push({ code: 'resolve-not-allowed', pointer: '/op', detail: `${who} may not resolve conflicts of ${type}` });
    return denials.length > 0 ? { ok: false, denials } : OK;
  }
  const grant = typeGrant(access.rules, type);
  const fields = Object.keys(event.fields ?? {}).sort(compareText);
  if (grant.fields !== '*' && grant.fields.length === 0 && !grant.delete && !grant.transition) {
    return { ok: false, denials: [{ code: 'type-not-writable', pointer: '/entity/type', detail: `${who} may not write entities of type ${type}` }] };
  }
  switch (event.op) {
    case 'upsert':
      break;
    case 'delete':
      if (!grant.delete) denials.push({ code: 'delete-not-allowed', pointer: '/op', detail: `${who} may not delete entities of type ${type}` });
      break;
    case 'transition':
      if (!grant.transition) denials.push({ code: 'transition-not-allowed', pointer: '/op', detail: `${who} may not report job transitions of ${type}` });
      break;
    default:
      return assertNever(event.op);
  }
  if (grant.fields !== '*') {
    for (const field of fields) {
      if (!grant.fields.includes(field)) denials.push({ code: 'field-not-writable', pointer: `/fields/${pointerToken(field)}`, detail: `${who} may not write field "${field}" of ${type}` });
    }
  }
  return denials.length > 0 ? { ok: false, denials } : OK;
}

/**
 * `checkWrite` over a push batch: every denial of every event, its pointer into the batch (`/events/3/fields/label`).
 * `exempt` events are not checked (the gateway exempts events it already journaled: they are answered duplicate and
 * never journaled again, so a rule changed since cannot refuse them).
 */
export function checkBatchWrite(access: Access, events: readonly DeviceEvent[], exempt: (event: DeviceEvent) => boolean = () => false): WriteDenial[] {
  if (access.kind === 'unrestricted') return [];
  const denials: WriteDenial[] = [];
  events.forEach((event, i) => {
    if (exempt(event)) return;
    const verdict = checkWrite(access, event);
    if (!verdict.ok) for (const denial of verdict.denials) denials.push({ ...denial, pointer: `/events/${i}${denial.pointer}` });
  });
  return denials;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function assertNever(value: never): never {
  throw new Error(`unexpected ${JSON.stringify(value)}`);
}
