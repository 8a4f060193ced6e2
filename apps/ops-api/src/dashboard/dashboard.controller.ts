import { Controller, Get, Headers, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { PublicRoute } from '@tidemark/auth';
import { ProblemType, problem } from '@tidemark/contracts';
import { ProblemError } from '@tidemark/platform';
import { DASHBOARD_HEADERS, loadDashboardFiles, type DashboardFile } from './files';

/**
 * The operators' web dashboard: static HTML, CSS and ES modules from `apps/ops-api/dashboard/`, at `/` and
 * `/dashboard/…`. The files are public (they hold no data); the page asks for an operator token and sends
 * it with every API call, so the API's own access rules apply to everything it shows or does.
 */
@PublicRoute()
@Controller()
export class DashboardController {
  private readonly files = loadDashboardFiles();

  @Get()
  root(@Headers('if-none-match') ifNoneMatch: string | undefined, @Res() reply: FastifyReply): void {
    this.send(reply, this.files.get('index.html')!, ifNoneMatch);
  }

  @Get('dashboard')
  index(@Headers('if-none-match') ifNoneMatch: string | undefined, @Res() reply: FastifyReply): void {
    this.send(reply, this.files.get('index.html')!, ifNoneMatch);
  }

  @Get('dashboard/*')
  file(@Param('*') path: string, @Headers('if-none-match') ifNoneMatch: string | undefined, @Res() reply: FastifyReply): void {
    const file = this.files.get(path === '' ? 'index.html' : path);
    if (!file) throw new ProblemError(problem(ProblemType.notFound, 404, 'Not found', { detail: `the dashboard has no file "${path}"` }));
    this.send(reply, file, ifNoneMatch);
  }

  private send(reply: FastifyReply, file: DashboardFile, ifNoneMatch: string | undefined): void {
    void reply.headers({ ...DASHBOARD_HEADERS, etag: file.etag });
    if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === file.etag)) {
      void reply.status(304).send();
      return;
    }
    void reply.header('content-type', file.contentType).send(file.body);
  }
}
