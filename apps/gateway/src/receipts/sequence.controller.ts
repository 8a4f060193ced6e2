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
    const row = await this.deps.progress.progress(device.workspace, device.deviceId);
    const contiguous = row?.contiguous ?? 0;
    const maxSeq = row?.maxSeq ?? 0;
    const seen = [row?.lastAcceptedAt, row?.lastPushAt].filter((d): d is Date => d instanceof Date).sort((a, b) => b.getTime() - a.getTime())[0];
    return {
      deviceId: device.deviceId,
      lastPushedSeq: row?.lastPushedSeq ?? 0,
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
    const recorded = await this.deps.progress.abandon(device.workspace, device.deviceId, ranges, reason ?? null);
    return { deviceId: device.deviceId, abandoned: await this.abandoned(device), recorded };
  }

  private async abandoned(device: DevicePrincipal): Promise<[number, number][]> {
    return mergeSeqRanges(await this.deps.progress.abandoned(device.workspace, device.deviceId));
  }
}
