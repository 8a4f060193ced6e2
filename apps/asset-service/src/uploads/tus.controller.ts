import { Controller, Delete, Head, Inject, Options, Patch, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CHECKSUM_ALGORITHMS, TUS_EXTENSIONS, TUS_VERSION } from '@tidemark/assets';
import type { Logger } from '@tidemark/telemetry';
import { headersOf, sendError } from '../http';
import { AssetProblem, assetProblem } from '../problems';
import { PublicRoute, RequireAuth, deviceWorkspaceOf, principalOf } from '@tidemark/auth';
import type { TusAnswer, UploadService } from './upload.service';

export const UPLOADS = Symbol('UPLOADS');
export const LOGGER = Symbol('LOGGER');
export const UPLOADS_PATH = '/v1/uploads';

/**
 * tus 1.0 (https://tus.io/protocols/resumable-upload) at `/v1/uploads`: OPTIONS, POST (creation,
 * creation-with-upload, creation-defer-length), HEAD, PATCH (checksum: sha1, sha256), DELETE (termination).
 * Bodies reach the handlers unread (a content-type parser that does not consume them), so PATCH streams.
 */
@RequireAuth('device')
@Controller('v1/uploads')
export class TusController {
  constructor(
    @Inject(UPLOADS) private readonly uploads: UploadService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  private async answer(request: FastifyRequest, reply: FastifyReply, handle: (workspace: string) => Promise<TusAnswer>): Promise<void> {
    try {
      if (request.method !== 'OPTIONS' && request.headers['tus-resumable'] !== TUS_VERSION) {
        throw assetProblem(AssetProblem.tusVersion, 412, 'Precondition failed', { detail: `send Tus-Resumable: ${TUS_VERSION}` }, { 'tus-version': TUS_VERSION });
      }
      const workspace = request.method === 'OPTIONS' ? '' : deviceWorkspaceOf(request);
      const result = await handle(workspace);
      void reply
        .status(result.status)
        .headers({ ...result.headers, 'tus-resumable': TUS_VERSION, ...(result.close ? { connection: 'close' } : {}) })
        .send();
    } catch (error) {
      sendError(request, reply, error, this.logger, { 'tus-resumable': TUS_VERSION });
    }
  }

  @Options()
  @PublicRoute()
  options(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.answer(request, reply, async () => ({
      status: 204,
      headers: { 'tus-version': TUS_VERSION, 'tus-extension': TUS_EXTENSIONS.join(','), 'tus-max-size': String(this.uploads.maxSize()), 'tus-checksum-algorithm': CHECKSUM_ALGORITHMS.join(',') },
    }));
  }

  @Options(':id')
  @PublicRoute()
  optionsOfUpload(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.options(request, reply);
  }

  @Post()
  create(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.answer(request, reply, (workspace) =>
      this.uploads.create({ workspace, deviceId: deviceOf(request), site: siteOf(request), headers: headersOf(request), body: request.raw, collectionPath: UPLOADS_PATH }),
    );
  }

  @Head(':id')
  head(@Req() request: FastifyRequest<{ Params: { id: string } }>, @Res() reply: FastifyReply): Promise<void> {
    return this.answer(request, reply, (workspace) => this.uploads.head(workspace, uploadId(request.params.id)));
  }

  @Patch(':id')
  patch(@Req() request: FastifyRequest<{ Params: { id: string } }>, @Res() reply: FastifyReply): Promise<void> {
    return this.answer(request, reply, (workspace) =>
      this.uploads.patch({ workspace, deviceId: deviceOf(request), headers: headersOf(request), body: request.raw, collectionPath: UPLOADS_PATH }, uploadId(request.params.id)),
    );
  }

  @Delete(':id')
  terminate(@Req() request: FastifyRequest<{ Params: { id: string } }>, @Res() reply: FastifyReply): Promise<void> {
    return this.answer(request, reply, (workspace) => this.uploads.terminate(workspace, uploadId(request.params.id)));
  }
}

/** The device of the request's token (the routes that stream bodies require one). */
function deviceOf(request: FastifyRequest): string {
  const principal = principalOf(request);
  return principal?.kind === 'device' ? principal.deviceId : '';
}

/** The site of the request's device token (null without one). */
function siteOf(request: FastifyRequest): string | null {
  const principal = principalOf(request);
  return principal?.kind === 'device' ? principal.site : null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Upload ids are UUIDs; anything else is an upload that does not exist. */
function uploadId(value: string): string {
  const id = value.toLowerCase();
  if (!UUID.test(id)) throw assetProblem(AssetProblem.notFound, 404, 'Not found', { detail: `upload ${value} does not exist in this workspace` });
  return id;
}
