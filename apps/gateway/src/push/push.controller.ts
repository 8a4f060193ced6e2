import { Body, Controller, Headers, HttpCode, Inject, Post } from '@nestjs/common';
import type { PushResponse } from '@tidemark/contracts';
import { ProblemError } from '@tidemark/platform';
import { pushBatch, type PushDeps } from './push.service';
import { CurrentPrincipal, RequireAuth, type DevicePrincipal } from '@tidemark/auth';

export const PUSH_DEPS = Symbol('PUSH_DEPS');

@RequireAuth('device')
@Controller('v1')
export class PushController {
  constructor(
    @Inject(PUSH_DEPS) private readonly deps: PushDeps,
  ) {}

  /** Journals a batch of device events; each is answered accepted (with its journal sequence) or duplicate. */
  @Post('events')
  @HttpCode(200)
  async push(@Body() body: unknown, @CurrentPrincipal() device: DevicePrincipal, @Headers('content-type') contentType: string | undefined): Promise<PushResponse> {
    if (!contentType || !/^application\/json\b/i.test(contentType)) throw ProblemError.unsupportedMediaType(contentType);
    return pushBatch(this.deps, device, body);
  }
}
