import { PARKED_HEADERS, parseJournalSubject, type JournalRecord } from '@tidemark/contracts';
import type { ParkedMark } from '@tidemark/merge';
import type { JsMsg } from '@tidemark/messaging';

/** The operator action a journal message carries in its headers (`PARKED_HEADERS`), if it carries a well-formed one. */
export function markOf(msg: Pick<JsMsg, 'headers'>): ParkedMark | undefined {
  const h = msg.headers;
  const action = h?.get(PARKED_HEADERS.action);
  if (!h || (action !== 'redrive' && action !== 'edit' && action !== 'skip')) return undefined;
  const seq = Number(h.get(PARKED_HEADERS.seq));
  if (!Number.isSafeInteger(seq) || seq < 1) return undefined;
  const raw = h.has(PARKED_HEADERS.reason) ? h.get(PARKED_HEADERS.reason) : null;
  let reason = raw;
  try {
    reason = raw === null ? null : decodeURIComponent(raw);
  } catch {
    // Not URI-encoded: keep it as written.
  }
  return { action, consumer: h.get(PARKED_HEADERS.consumer), seq, reason };
}

/** Turns a journal message into its record, or says why it cannot be one. */
export function decode(msg: JsMsg): { ok: true; record: JournalRecord } | { ok: false; reason: string } {
  let record: JournalRecord;
  try {
    record = msg.json<JournalRecord>();
  } catch (error) {
    return { ok: false, reason: `payload is not JSON: ${(error as Error).message}` };
  }
  const where = parseJournalSubject(msg.subject);
  if (!record || record.v !== 1 || !record.event || typeof record.workspace !== 'string') return { ok: false, reason: 'payload is not a version 1 journal record' };
  if (!where || where.workspace !== record.workspace || where.entity.type !== record.event.entity?.type || where.entity.id !== record.event.entity?.id) {
    return { ok: false, reason: `subject ${msg.subject} does not match the record's workspace and entity` };
  }
  return { ok: true, record };
}
