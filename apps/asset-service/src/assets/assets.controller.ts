import { Readable } from 'node:stream';
import { Controller, Delete, Get, Inject, Put, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '@tidemark/telemetry';
import { headersOf, sendError } from '../http';
import { LOGGER } from '../uploads/tus.controller';
import { RequireAuth, deviceWorkspaceOf } from '@tidemark/auth';
import type { AssetsService } from './assets.service';

export const ASSETS = Symbol('ASSETS');

type Params = { Params: { sha256: string; ref?: string } };

@RequireAuth('device')
@Controller('v1/assets')
export class AssetsController {
  constructor(
    @Inject(ASSETS) private readonly assets: AssetsService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  private workspace(request: FastifyRequest): string {
    return deviceWorkspaceOf(request);
  }

  /** The asset's bytes (HEAD: its headers). Fastify answers HEAD through this route without a body. */
  @Get(':sha256')
  async download(@Req() request: FastifyRequest<Params>, @Res() reply: FastifyReply): Promise<void> {
    try {
      const h = headersOf(request);
      const head = request.method === 'HEAD';
      const answer = await this.assets.download(this.workspace(request), request.params.sha256, { range: h.range, ifNoneMatch: h['if-none-match'], ifRange: h['if-range'] }, head);
      void reply.status(answer.status).headers(answer.headers);
      if (!answer.open) {
        // Fastify's HEAD route resets Content-Length to 0 for an empty payload, not for a stream.
        void reply.send(head ? Readable.from([]) : undefined);
        return;
      }
      const stream = await answer.open();
      request.raw.once('close', () => stream.destroy());
      void reply.send(stream);
    } catch (error) {
      sendError(request, reply, error, this.logger);
    }
  }

  /** A short-lived presigned URL to the bytes in the store (when ASSET_PRESIGNED_URL_TTL_S is set). */
  @Get(':sha256/url')
  async url(@Req() request: FastifyRequest<Params>, @Res() reply: FastifyReply): Promise<void> {
    try {
      void reply.header('cache-control', 'no-store').send(await this.assets.presign(this.workspace(request), request.params.sha256));
    } catch (error) {
      sendError(request, reply, error, this.logger);
    }
  }

  /** Records that a record points at the asset (idempotent). */
  @Put(':sha256/references/:ref')
  async reference(@Req() request: FastifyRequest<Params>, @Res() reply: FastifyReply): Promise<void> {
    try {
      void reply.send(await this.assets.reference(this.workspace(request), request.params.sha256, request.params.ref ?? ''));
    } catch (error) {
      sendError(request, reply, error, this.logger);
    }
  }

  /** Removes a reference (idempotent); the last one gone orphans the asset. */
  @Delete(':sha256/references/:ref')
  async unreference(@Req() request: FastifyRequest<Params>, @Res() reply: FastifyReply): Promise<void> {
    try {
      void reply.send(await this.assets.unreference(this.workspace(request), request.params.sha256, request.params.ref ?? ''));
    } catch (error) {
      sendError(request, reply, error, this.logger);
    }
  }
}
