import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { metricsRegistry } from '@tidemark/telemetry';
import { PublicRoute } from './access';

/** A dependency the service needs before it can take work: resolves when reachable, throws when not. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');
export const SHUTTING_DOWN = Symbol('SHUTTING_DOWN');

export interface ShutdownState {
  shuttingDown: boolean;
}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}

@PublicRoute()
@Controller()
export class HealthController {
  constructor(
    @Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[],
    @Inject(SHUTTING_DOWN) private readonly state: ShutdownState,
  ) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: every dependency answers (NATS, Postgres, S3 as the service needs), and not shutting down. */
  @Get('readyz')
  async ready(@Res() reply: FastifyReply): Promise<void> {
    const results = await Promise.all(
      this.checks.map(async (c) => {
        try {
          await within(c.check(), 2000);
          return { name: c.name, ok: true };
        } catch (error) {
          return { name: c.name, ok: false, error: (error as Error).message };
        }
      }),
    );
    const ok = !this.state.shuttingDown && results.every((r) => r.ok);
    void reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : this.state.shuttingDown ? 'shutting-down' : 'not-ready', checks: results });
  }

  @Get('metrics')
  async metrics(@Res() reply: FastifyReply): Promise<void> {
    void reply.header('content-type', metricsRegistry.contentType).send(await metricsRegistry.metrics());
  }
}
