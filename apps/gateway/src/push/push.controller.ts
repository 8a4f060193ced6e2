import { Body, Controller, Headers, HttpCode, Inject, Post } from '@nestjs/common';
import type { PushResponse } from '@tidemark/contracts';
import { ProblemError } from '@tidemark/platform';
import { pushBatch, type PushDeps } from './push.service';
import { WORKSPACE_HEADER, workspaceOf } from '../workspace';

export const PUSH_DEPS = Symbol('PUSH_DEPS');
export const DEFAULT_WORKSPACE = Symbol('DEFAULT_WORKSPACE');

@Controller('v1')
export class PushController {
  constructor(
    @Inject(PUSH_DEPS) private readonly deps: PushDeps,
    @Inject(DEFAULT_WORKSPACE) private readonly defaultWorkspace: string,
  ) {}

  /** Journals a batch of device events; each is answered accepted (with its journal sequence) or duplicate. */
  @Post('events')
  @HttpCode(200)
  async push(@Body() body: unknown, @Headers(WORKSPACE_HEADER) workspace: string | undefined, @Headers('content-type') contentType: string | undefined): Promise<PushResponse> {
    if (!contentType || !/^application\/json\b/i.test(contentType)) throw ProblemError.unsupportedMediaType(contentType);
    return pushBatch(this.deps, workspaceOf(workspace, this.defaultWorkspace), body);
  }
}
