import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { gauge, metricsRegistry } from '@tidemark/telemetry';
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

export interface Readiness {
  ok: boolean;
  status: 'ready' | 'not-ready' | 'shutting-down';
  checks: { name: string; ok: boolean; error?: string }[];
}

/** Runs every check (each bounded to 2 s): what `/readyz` answers and the readiness gauges report. */
export async function readiness(checks: readonly ReadinessCheck[], state: ShutdownState): Promise<Readiness> {
  const results = await Promise.all(
    checks.map(async (c) => {
      try {
        await within(c.check(), 2000);
        return { name: c.name, ok: true };
      } catch (error) {
        return { name: c.name, ok: false, error: (error as Error).message };
      }
    }),
  );
  const ok = !state.shuttingDown && results.every((r) => r.ok);
  return { ok, status: ok ? 'ready' : state.shuttingDown ? 'shutting-down' : 'not-ready', checks: results };
}

let readinessSource: { checks: readonly ReadinessCheck[]; state: ShutdownState } | undefined;
let lastReadiness: { at: number; value: Promise<Readiness> } | undefined;
const currentReadiness = (): Promise<Readiness> | undefined => {
  if (!readinessSource) return undefined;
  const now = Date.now();
  if (!lastReadiness || now - lastReadiness.at >= 1000) lastReadiness = { at: now, value: readiness(readinessSource.checks, readinessSource.state) };
  return lastReadiness.value;
};

/**
 * Reports the service's readiness on `/metrics` as it would answer `/readyz` at scrape time, so a pod that
 * Kubernetes took out of its Service still shows why: `tidemark_ready` (1 ready, 0 not) and
 * `tidemark_readiness_check_up` per check. The `check` label takes only the names the services declare in
 * code (nats, postgres, s3; merge-service's partitions), so it has at most four values. One service per process: the latest one
 * registered is the one reported.
 */
export function registerReadinessGauges(checks: readonly ReadinessCheck[], state: ShutdownState): void {
  readinessSource = { checks, state };
  lastReadiness = undefined;
  gauge('tidemark_ready', '1 while the service would answer /readyz with 200 (dependencies answer, not shutting down), else 0', [], async function () {
    const r = await currentReadiness();
    if (r) this.set(r.ok ? 1 : 0);
  });
  gauge('tidemark_readiness_check_up', '1 while the named readiness check (nats, postgres, s3, partitions) answers, else 0', ['check'], async function () {
    this.reset();
    const r = await currentReadiness();
    for (const c of r?.checks ?? []) this.set({ check: c.name }, c.ok ? 1 : 0);
  });
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
    const { ok, status, checks } = await readiness(this.checks, this.state);
    void reply.status(ok ? 200 : 503).send({ status, checks });
  }

  @Get('metrics')
  async metrics(@Res() reply: FastifyReply): Promise<void> {
    void reply.header('content-type', metricsRegistry.contentType).send(await metricsRegistry.metrics());
  }
}
