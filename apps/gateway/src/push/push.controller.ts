import { Body, Controller, Headers, HttpCode, Inject, Post } from '@nestjs/common';
import type { PushResponse } from '@tidemark/contracts';
import { CurrentUnconfirmedDevice, RequireDeviceToken, type UnconfirmedDevice } from '@tidemark/auth';
import { pushFromDevice, type PushDeps } from './push.service';

export const PUSH_DEPS = Symbol('PUSH_DEPS');

/** The guard verifies the token; the push confirms the device's standing (cached, `StandingCache`) while it reads its receipts. */
@RequireDeviceToken()
@Controller('v1')
export class PushController {
  constructor(@Inject(PUSH_DEPS) private readonly deps: PushDeps) {}

  /** Journals a batch of device events; each is answered accepted (with its journal sequence) or duplicate. */
  @Post('events')
  @HttpCode(200)
  async push(@Body() body: unknown, @CurrentUnconfirmedDevice() device: UnconfirmedDevice, @Headers('content-type') contentType: string | undefined): Promise<PushResponse> {
    return pushFromDevice(this.deps, device, contentType, body);
  }
}
