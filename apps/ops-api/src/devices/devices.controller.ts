import { Controller, Get, Inject, Query } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { compileValidator } from '@tidemark/contracts';
import { gapsOf } from '@tidemark/merge';
import { ProblemError } from '@tidemark/platform';
import { OPS_DEPS, type OpsDeps } from '../streams/streams.controller';

const DevicesQuery = Type.Object(
  {
    workspace: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
    sort: Type.Optional(Type.Union([Type.Literal('missing'), Type.Literal('last-seen'), Type.Literal('device')])),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' })),
  },
  { additionalProperties: false },
);
const validate = compileValidator(DevicesQuery);

const ORDER: Record<string, string> = {
  missing: '(max_seq - contiguous - jsonb_array_length(ahead)) DESC, last_accepted_at ASC NULLS FIRST',
  'last-seen': 'last_accepted_at ASC NULLS FIRST',
  device: 'workspace, device_id',
};

@Controller('v1')
export class DevicesController {
  constructor(@Inject(OPS_DEPS) private readonly deps: OpsDeps) {}

  /**
   * Per device: the highest sequence applied, the contiguous mark, how many sequences are missing below
   * the highest (the gaps), and when it was last heard from; sorted to put who is falling behind first.
   */
  @Get('devices')
  async devices(@Query() query: Record<string, string>): Promise<unknown> {
    const parsed = validate(query);
    if (!parsed.ok) throw ProblemError.validation(parsed.errors.map((e) => ({ ...e, pointer: `query:${e.pointer.replace(/^\//, '')}` })));
    const limit = Math.min(Number(parsed.value.limit ?? 200), 1000);
    const rows: { workspace: string; device_id: string; site: string | null; contiguous: string; max_seq: string; missing: string; events: string; last_accepted_at: Date | null; ahead: number[] }[] = await this.deps.ds.query(
      `SELECT workspace, device_id, site, contiguous, max_seq, (max_seq - contiguous - jsonb_array_length(ahead)) AS missing, events, last_accepted_at, ahead
         FROM device_sequences WHERE ($1::text IS NULL OR workspace = $1)
        ORDER BY ${ORDER[parsed.value.sort ?? 'missing']} LIMIT $2`,
      [parsed.value.workspace ?? null, limit],
    );
    return {
      devices: rows.map((r) => ({
        workspace: r.workspace,
        deviceId: r.device_id,
        site: r.site,
        lastAppliedSeq: Number(r.max_seq),
        contiguousSeq: Number(r.contiguous),
        missing: Number(r.missing),
        gaps: gapsOf({ contiguous: Number(r.contiguous), maxSeq: Number(r.max_seq), ahead: r.ahead }, 20),
        events: Number(r.events),
        lastSeenAt: r.last_accepted_at,
      })),
    };
  }
}
