import type { DeviceEvent, InvalidParam, ParkedAction, ParkedStatus } from '@tidemark/contracts';
import type { MergeResult, RejectCode } from '../merge/result';

/**
 * Rejections that are the registry's gap, not the device's fault: the event names an entity type or a
 * schema version the registry does not have (yet). Such an event is parked for an operator, who publishes
 * the schema and re-drives it; every other rejection (an undeclared field, an unsupported op, a wrong
 * value) is a final answer to the device.
 */
export const PARKED_REJECT_CODES: readonly RejectCode[] = ['unknown-entity-type', 'unknown-schema-version'];

export interface Parking {
  code: RejectCode;
  reason: string;
}

/** Whether a merge result is to be parked rather than answered, and with what code and reason. */
export function parkingOf(result: MergeResult): Parking | undefined {
  if (result.outcome !== 'rejected' || !PARKED_REJECT_CODES.includes(result.code)) return undefined;
  return { code: result.code, reason: result.reason };
}

/**
 * What the projector does with a journal record, given the receipt its eventId already has:
 * - `first`: no receipt — merge it, write its receipt, count it as the device's progress;
 * - `again`: the receipt is `parked` — a re-drive, an edit or the device's own later copy: merge it, turn the
 *   receipt into the outcome (or park it again with the new reason), and resolve the open parked entry;
 * - `duplicate`: any other receipt — its fate is decided; record the copy, never apply it a second time.
 */
export type Intake = 'first' | 'again' | 'duplicate';

export function intakeOf(receipt: string | undefined): Intake {
  if (receipt === undefined) return 'first';
  return receipt === 'parked' ? 'again' : 'duplicate';
}

/** The plan for a merged record: how its receipt is written, and what happens to parked entries. */
export interface ParkedPlan {
  /** Receipt status: `parked` when parked (again), else the merge outcome's. */
  receipt: 'insert' | 'update';
  /** Park this copy: a new entry with the code and reason. */
  park: Parking | undefined;
  /** The event's open parked entry becomes `redriven` with this copy's sequence and the resolution. */
  resolveOpen: { resolution: ParkedAction | 'retry' } | undefined;
}

/**
 * Decides, for a record that was merged (intake `first` or `again`), what the projector writes. A re-drive
 * that fails again is parked again as a new entry, and the earlier one is resolved by it: an event has at
 * most one open parked entry, and its receipt always says where it stands.
 */
export function planParked(intake: Exclude<Intake, 'duplicate'>, parking: Parking | undefined, action: ParkedAction | undefined): ParkedPlan {
  return {
    receipt: intake === 'first' ? 'insert' : 'update',
    park: parking,
    resolveOpen: intake === 'again' ? { resolution: action === 'redrive' || action === 'edit' ? action : 'retry' } : undefined,
  };
}

/**
 * A skip marker reaching the projector: the parked entry is skipped only while it is `parked`, and the
 * event's receipt only while it is `parked` (a copy applied in between wins: nothing is undone).
 */
export function skipDecision(entry: ParkedStatus | undefined, receipt: string | undefined): { entry: boolean; receipt: boolean } {
  if (entry !== 'parked') return { entry: false, receipt: false };
  return { entry: true, receipt: receipt === 'parked' };
}

export type OperatorRefusal = { code: 'not-found' | 'not-parked' | 'not-a-record'; detail: string };

/**
 * Whether an operator may act on a parked entry: only a `parked` one, and re-drive or edit only when it
 * holds a journal record (an undecodable message can only be skipped).
 */
export function checkOperatorAction(entry: { status: string; hasRecord: boolean } | undefined, action: ParkedAction): OperatorRefusal | undefined {
  if (!entry) return { code: 'not-found', detail: 'no parked entry at that consumer and sequence' };
  if (entry.status !== 'parked') return { code: 'not-parked', detail: `the entry is ${entry.status}, not parked: there is nothing left to ${action}` };
  if (action !== 'skip' && !entry.hasRecord) return { code: 'not-a-record', detail: `the parked message is not a journal record, so there is nothing to ${action}; skip it` };
  return undefined;
}

/**
 * An edited event must be the same event: eventId, deviceId, deviceSeq and entity stay those of the
 * original (they are its identity, its place in the device's sequence and its partition). Everything else
 * — fields, schemaVersion, op, baseVersion, stamps — may be corrected. Problems are named by pointer.
 */
export function checkEditedEvent(original: DeviceEvent, edited: DeviceEvent, at = '/event'): InvalidParam[] {
  const problems: InvalidParam[] = [];
  const keep = (name: string, was: unknown, now: unknown) => {
    if (was !== now) problems.push({ pointer: `${at}/${name}`, detail: `must stay ${JSON.stringify(was)} (the original event's); got ${JSON.stringify(now)}` });
  };
  keep('eventId', original.eventId, edited.eventId);
  keep('deviceId', original.deviceId, edited.deviceId);
  keep('deviceSeq', original.deviceSeq, edited.deviceSeq);
  keep('entity/type', original.entity.type, edited.entity.type);
  keep('entity/id', original.entity.id, edited.entity.id);
  return problems;
}
