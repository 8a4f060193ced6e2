import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { RequireAuth } from '@tidemark/auth';
import { ProblemType, compileValidator, problem, type ChangeLogSide, type EntitySnapshot, type InspectView, type JournalRecord, type ParkCode, type ParkedStatus } from '@tidemark/contracts';
import { loadDecision, type StoredDecision } from '@tidemark/merge';
import { STREAMS } from '@tidemark/messaging';
import { CONFLICT_COLUMNS, conflictView, type ConflictLedgerRow } from '@tidemark/persistence';
import { OPS_VIEWS, type OpsViews } from '../streams/views';
import { ProblemError } from '@tidemark/platform';
import { iso, notFound, parsePath, parseQuery } from '../streams/query';

const validateEventId = compileValidator(Type.String({ format: 'uuid' }));
export const InspectQuery = Type.Object({ workspace: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })) }, { additionalProperties: false });
const validateInspectQuery = compileValidator(InspectQuery);

interface ReceiptRow {
  workspace: string;
  device_id: string;
  device_seq: string;
  entity_type: string;
  entity_id: string;
  status: string;
  reason: string | null;
  stream_seq: string;
  version: string | null;
  accepted_at: Date;
}

interface ParkedRow {
  consumer: string;
  stream_seq: string;
  workspace: string | null;
  subject: string;
  reason: string;
  code: ParkCode | null;
  attempts: number;
  status: ParkedStatus;
  parked_at: Date;
  resolved_seq: string | null;
  resolution: string | null;
  note: string | null;
}

interface ChangeRow {
  cursor: string;
  version: string;
  deleted: boolean;
  view: EntitySnapshot;
  event_id: string;
  device_id: string;
  stream_seq: string;
}

const change = (r: ChangeRow | undefined): ChangeLogSide | null =>
  r === undefined ? null : { cursor: r.cursor, version: Number(r.version), deleted: r.deleted, view: r.view, eventId: r.event_id, deviceId: r.device_id, streamSeq: Number(r.stream_seq) };

/**
 * One event, followed through the system: where the journal holds it, the record itself, its receipt,
 * the merge decisions it caused, the conflicts it opened or resolved, repairs, its parked entry, and the
 * entity before and after it (from the change log).
 */
@RequireAuth('operator')
@Controller('v1/events')
export class InspectController {
  constructor(@Inject(OPS_VIEWS) private readonly views: OpsViews) {}

  /**
   * An event is (workspace, eventId): `?workspace=` names the workspace; without it, an eventId held by
   * several workspaces is refused (409, naming them) rather than mixed.
   */
  @Get(':eventId')
  async inspect(@Param('eventId') text: string, @Query() query: Record<string, unknown>): Promise<InspectView> {
    const eventId = parsePath(validateEventId, 'eventId', text);
    const { ds } = this.views;
    let workspace = parseQuery(validateInspectQuery, query).workspace ?? null;
    if (workspace === null) {
      const held: { workspace: string }[] = await ds.query(
        'SELECT workspace FROM event_receipts WHERE event_id = $1 UNION SELECT workspace FROM parked_events WHERE event_id = $1 AND workspace IS NOT NULL ORDER BY workspace',
        [eventId],
      );
      if (held.length > 1) {
        throw new ProblemError(
          problem(ProblemType.conflict, 409, 'Conflict', {
            detail: `eventId ${eventId} is used in ${held.length} workspaces (${held.map((h) => h.workspace).join(', ')}): name one with ?workspace=`,
            errors: [{ pointer: 'query:workspace', detail: 'required: the eventId is used in several workspaces' }],
          }),
        );
      }
      workspace = held[0]?.workspace ?? null;
    }
    const [receipts, parked, duplicates] = await Promise.all([
      ds.query('SELECT workspace, device_id, device_seq, entity_type, entity_id, status, reason, stream_seq, version, accepted_at FROM event_receipts WHERE event_id = $1 AND workspace = $2', [
        eventId,
        workspace,
      ]) as Promise<ReceiptRow[]>,
      ds.query(
        'SELECT consumer, stream_seq, workspace, subject, reason, code, attempts, status, parked_at, resolved_seq, resolution, note FROM parked_events WHERE event_id = $1 AND workspace = $2 ORDER BY stream_seq',
        [eventId, workspace],
      ) as Promise<ParkedRow[]>,
      ds.query('SELECT stream_seq FROM journal_duplicates WHERE event_id = $1 AND workspace = $2 ORDER BY stream_seq', [eventId, workspace]) as Promise<{ stream_seq: string }[]>,
    ]);
    const receipt = receipts[0];
    const seq = receipt ? Number(receipt.stream_seq) : parked[0] ? Number(parked[0].stream_seq) : undefined;
    if (seq === undefined) {
      throw notFound(`no event ${eventId} has a receipt or a parked entry: it is unknown, or accepted and not projected yet (see /v1/streams for the projection's lag)`);
    }

    const message = await this.views.connection().jsm.streams.getMessage(STREAMS.journal, { seq }); // null: the journal no longer holds it
    let record: JournalRecord | null = null;
    try {
      record = message?.json<JournalRecord>() ?? null;
    } catch {
      record = null; // not JSON: the parked entry says why
    }

    const [decisions, repairs, opened, resolvedById] = await Promise.all([
      ds.query('SELECT decisions FROM merge_decisions WHERE event_id = $1 AND workspace = $2', [eventId, workspace]) as Promise<{ decisions: StoredDecision[] }[]>,
      ds.query('SELECT repair_id, code, reason, status, detail FROM repairs WHERE event_id = $1 AND workspace = $2 ORDER BY repair_id', [eventId, workspace]) as Promise<
        { repair_id: string; code: string; reason: string; status: string; detail: unknown }[]
      >,
      ds.query(`SELECT ${CONFLICT_COLUMNS} FROM conflicts WHERE opened_event_id = $1 AND workspace = $2 ORDER BY conflict_id`, [eventId, workspace]) as Promise<ConflictLedgerRow[]>,
      record?.event?.op === 'resolve' && record.event.resolution
        ? (ds.query(`SELECT ${CONFLICT_COLUMNS} FROM conflicts WHERE conflict_id = $1 AND workspace = $2`, [record.event.resolution.conflictId, workspace]) as Promise<ConflictLedgerRow[]>)
        : Promise.resolve([] as ConflictLedgerRow[]),
    ]);

    const entity = receipt
      ? { workspace: receipt.workspace, type: receipt.entity_type, id: receipt.entity_id }
      : record
        ? { workspace: record.workspace, type: record.event.entity.type, id: record.event.entity.id }
        : null;
    let after: ChangeRow | undefined;
    let before: ChangeRow | undefined;
    if (entity) {
      const mine: ChangeRow[] = await ds.query(
        'SELECT cursor, version, deleted, view, event_id, device_id, stream_seq FROM change_log WHERE workspace = $1 AND entity_type = $2 AND entity_id = $3 AND event_id = $4 ORDER BY version DESC LIMIT 1',
        [entity.workspace, entity.type, entity.id, eventId],
      );
      after = mine[0];
      if (after) {
        const earlier: ChangeRow[] = await ds.query(
          'SELECT cursor, version, deleted, view, event_id, device_id, stream_seq FROM change_log WHERE workspace = $1 AND entity_type = $2 AND entity_id = $3 AND version < $4 ORDER BY version DESC LIMIT 1',
          [entity.workspace, entity.type, entity.id, after.version],
        );
        before = earlier[0];
      }
    }

    return {
      eventId,
      journal: {
        stream: STREAMS.journal,
        seq,
        subject: message?.subject ?? null,
        storedAt: message ? iso(message.time) : null,
        record,
        /** Later journal copies of the same event, recorded and not applied again. */
        duplicateSeqs: duplicates.map((d) => Number(d.stream_seq)),
      },
      receipt: receipt
        ? {
            workspace: receipt.workspace,
            deviceId: receipt.device_id,
            deviceSeq: Number(receipt.device_seq),
            entity: { type: receipt.entity_type, id: receipt.entity_id },
            status: receipt.status,
            reason: receipt.reason,
            streamSeq: Number(receipt.stream_seq),
            version: receipt.version === null ? null : Number(receipt.version),
            acceptedAt: iso(receipt.accepted_at),
          }
        : null,
      decisions: (decisions[0]?.decisions ?? []).map(loadDecision).map((d, idx) => ({
        idx,
        field: d.field,
        policy: d.policy,
        rule: d.rule,
        outcome: d.outcome,
        change: d.change,
        before: d.before ?? null,
        after: d.after ?? null,
        conflictId: d.conflictId ?? null,
      })),
      conflicts: {
        opened: opened.map((c) => ({ workspace: c.workspace, ...conflictView(c) })),
        resolved: resolvedById.filter((c) => c.resolved_event_id === eventId).map((c) => ({ workspace: c.workspace, ...conflictView(c) })),
      },
      repairs: repairs.map((r) => ({ id: r.repair_id, code: r.code, reason: r.reason, status: r.status, detail: r.detail })),
      parked: parked.map((p) => ({
        consumer: p.consumer,
        streamSeq: Number(p.stream_seq),
        subject: p.subject,
        reason: p.reason,
        code: p.code,
        attempts: p.attempts,
        status: p.status,
        parkedAt: iso(p.parked_at),
        resolvedSeq: p.resolved_seq === null ? null : Number(p.resolved_seq),
        resolution: p.resolution,
        note: p.note,
      })),
      entity: entity ? { workspace: entity.workspace, type: entity.type, id: entity.id, before: change(before), after: change(after) } : null,
    };
  }
}
