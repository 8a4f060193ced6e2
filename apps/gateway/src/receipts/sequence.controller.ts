import { Body, Controller, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { CurrentPrincipal, RequireAuth, type DevicePrincipal } from '@tidemark/auth';
import { AbandonSequences, compileValidator, type AbandonSequencesResponse } from '@tidemark/contracts';
import { gapsOf, mergeSeqRanges } from '@tidemark/merge';
import { ProblemError } from '@tidemark/platform';
import { LEDGER_DEPS, type LedgerDeps } from '../conflicts/ledger-http';

/** What the service has of a device's sequence: pushed, applied contiguously, and the gaps above. */
export interface SequenceView {
  deviceId: string;
  /** Highest deviceSeq the journal acknowledged from this device. */
  lastPushedSeq: number;
  /** Every deviceSeq up to this one has been applied (or otherwise receipted). */
  contiguousSeq: number;
  /** Highest deviceSeq applied. */
  maxAppliedSeq: number;
  /** Missing ranges between `contiguousSeq` and `maxAppliedSeq`, `[from, to]` inclusive (at most 100). */
  gaps: [number, number][];
  lastSeenAt: string | null;
  /** Ranges the device reported abandoned (`POST /v1/sequence/abandoned`), merged. */
  abandoned: [number, number][];
}

const validateAbandon = compileValidator(AbandonSequences);

@RequireAuth('device')
@Controller('v1')
export class SequenceController {
  constructor(@Inject(LEDGER_DEPS) private readonly deps: LedgerDeps) {}

  /** The calling device's sequence progress: a device that sees a gap re-sends those events (same ids). */
  @Get('sequence')
  async sequence(@CurrentPrincipal() device: DevicePrincipal): Promise<SequenceView> {
    const rows: { contiguous: string; max_seq: string; ahead: number[]; last_accepted_at: Date | null; last_pushed_seq: string | null; last_push_at: Date | null }[] = await this.deps.ds.query(
      `SELECT s.contiguous, s.max_seq, s.ahead, s.last_accepted_at, d.last_pushed_seq, d.last_push_at
         FROM devices d LEFT JOIN device_sequences s ON s.workspace = d.workspace AND s.device_id = d.device_id
        WHERE d.workspace = $1 AND d.device_id = $2`,
      [device.workspace, device.deviceId],
    );
    const row = rows[0];
    const contiguous = Number(row?.contiguous ?? 0);
    const maxSeq = Number(row?.max_seq ?? 0);
    const seen = [row?.last_accepted_at, row?.last_push_at].filter((d): d is Date => d instanceof Date).sort((a, b) => b.getTime() - a.getTime())[0];
    return {
      deviceId: device.deviceId,
      lastPushedSeq: Number(row?.last_pushed_seq ?? 0),
      contiguousSeq: contiguous,
      maxAppliedSeq: maxSeq,
      gaps: gapsOf({ contiguous, maxSeq, ahead: row?.ahead ?? [] }),
      lastSeenAt: seen?.toISOString() ?? null,
      abandoned: await this.abandoned(device),
    };
  }

  /**
   * Records deviceSeq ranges the calling device gave up for good (refused events it discarded): they will
   * never be pushed, so ops-api counts them as abandoned instead of missing. Validated whole before anything
   * is written (400 naming each bad range by JSON pointer); idempotent (a range reported again is kept once).
   */
  @Post('sequence/abandoned')
  @HttpCode(200)
  async abandon(@CurrentPrincipal() device: DevicePrincipal, @Body() body: unknown): Promise<AbandonSequencesResponse> {
    const checked = validateAbandon(body);
    if (!checked.ok) throw ProblemError.validation(checked.errors);
    const { ranges, reason } = checked.value;
    const reversed = ranges.flatMap((r, i) => (r.from > r.to ? [{ pointer: `/ranges/${i}`, detail: `from (${r.from}) is above to (${r.to})` }] : []));
    if (reversed.length > 0) throw ProblemError.validation(reversed);
    const rows: unknown[] = await this.deps.ds.query(
      `INSERT INTO device_abandoned_sequences (workspace, device_id, first_seq, last_seq, reason)
       SELECT $1, $2, r.f, r.t, $5 FROM unnest($3::bigint[], $4::bigint[]) AS r(f, t)
       ON CONFLICT DO NOTHING RETURNING 1`,
      [device.workspace, device.deviceId, ranges.map((r) => r.from), ranges.map((r) => r.to), reason ?? null],
    );
    return { deviceId: device.deviceId, abandoned: await this.abandoned(device), recorded: rows.length };
  }

  private async abandoned(device: DevicePrincipal): Promise<[number, number][]> {
    const rows: { first_seq: string; last_seq: string }[] = await this.deps.ds.query('SELECT first_seq, last_seq FROM device_abandoned_sequences WHERE workspace = $1 AND device_id = $2', [device.workspace, device.deviceId]);
    return mergeSeqRanges(rows.map((r) => [Number(r.first_seq), Number(r.last_seq)]));
  }
}
