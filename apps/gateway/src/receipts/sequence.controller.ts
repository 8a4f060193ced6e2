import { Controller, Get, Inject } from '@nestjs/common';
import { CurrentPrincipal, RequireAuth, type DevicePrincipal } from '@tidemark/auth';
import { gapsOf } from '@tidemark/merge';
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
}

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
    };
  }
}
