import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { CustomTransportStrategy } from '@nestjs/microservices';
import { Module, type DynamicModule, type LoggerService, type Type, type ValueProvider } from '@nestjs/common';
import { createLogger, enableDefaultMetrics, histogram, type Logger } from '@tidemark/telemetry';
import { PROBLEM_CONTENT_TYPE, ProblemType, problem } from '@tidemark/contracts';
import { ProblemFilter } from './problem-filter';
import { MAX_PATH_PARAM_CHARS, refuseUnstorableUrlText, registerJsonBody, sendFrameworkError } from './request-text';
import { registerCors, type CorsOptions } from './cors';
import { HealthController, registerReadinessGauges, READINESS_CHECKS, SHUTTING_DOWN, type ReadinessCheck, type ShutdownState } from './health';
import type { RegisteredRoute } from './openapi';

class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string) {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
}

export interface ServiceOptions {
  name: string;
  /** The app's controllers; health, readiness and metrics routes are added. */
  controllers: Type<unknown>[];
  /** Values the controllers inject, by token. */
  providers: ValueProvider[];
  /** What readiness checks (NATS, Postgres, S3 … as the service needs). */
  checks: ReadinessCheck[];
  host: string;
  port: number;
  logger: Logger;
  shutdownTimeoutMs: number;
  /** Largest request body accepted, in bytes (explicit: every limit is). */
  bodyLimit?: number;
  /** Durable consumers and other transports to run beside HTTP. */
  transports?: CustomTransportStrategy[];
  /** Releases what the service holds (consumers' connections, pools), in order, after HTTP and transports closed. */
  afterClose?: (() => Promise<unknown>)[];
  /**
   * HTTP timeouts (config `HTTP_*_TIMEOUT_MS`): headers and the whole request must arrive within `headersMs` and
   * `requestMs` (else 408 and the connection is closed), a connection silent for `idleMs` is closed, and an idle
   * keep-alive connection is kept `keepAliveMs`. Defaults: 10 s, 30 s, 75 s, 65 s.
   */
  timeouts?: { headersMs: number; requestMs: number; idleMs: number; keepAliveMs: number };
  /** Browser access (CORS) from these origins; unset: no CORS handling at all. */
  cors?: CorsOptions;
  /** Registers extra Fastify plugins or content parsers before routes (tus needs raw bodies). */
  configure?: (app: NestFastifyApplication) => Promise<void> | void;
}

export interface RunningService {
  app: NestFastifyApplication;
  url: string;
  /** Every route the HTTP server registered (Nest's, health and metrics, and Fastify's automatic HEAD and OPTIONS ones), in order. */
  routes: readonly RegisteredRoute[];
  close(): Promise<void>;
}

/**
 * Boots one tidemark service: NestJS on Fastify with problem+json errors, request metrics, health and
 * readiness routes, the given transports, and a graceful shutdown on SIGTERM/SIGINT (readiness fails
 * first, consumers drain, in-flight requests finish, then the process exits; a timer bounds it all).
 */
export async function runService(options: ServiceOptions): Promise<RunningService> {
  const { logger } = options;
  enableDefaultMetrics(options.name);
  const timeouts = options.timeouts ?? { headersMs: 10_000, requestMs: 30_000, idleMs: 75_000, keepAliveMs: 65_000 };
  const headersMs = Math.min(timeouts.headersMs, timeouts.requestMs); // Node requires headers ≤ request
  const adapter = new FastifyAdapter({
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    maxParamLength: MAX_PATH_PARAM_CHARS,
    frameworkErrors: sendFrameworkError,
    logger: false,
    forceCloseConnections: 'idle',
    return503OnClosing: false,
    requestTimeout: timeouts.requestMs,
    connectionTimeout: timeouts.idleMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    // Node checks the header and request deadlines on this interval (30 s by default): often enough that a
    // slow client is cut within a fraction of its limit.
    http: { headersTimeout: headersMs, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersMs / 4))) },
  });
  const shutdownState: ShutdownState = { shuttingDown: false };
  @Module({})
  class ServiceModule {}
  const module: DynamicModule = {
    module: ServiceModule,
    controllers: [HealthController, ...options.controllers],
    providers: [...options.providers, { provide: READINESS_CHECKS, useValue: options.checks }, { provide: SHUTTING_DOWN, useValue: shutdownState }],
  };
  registerReadinessGauges(options.checks, shutdownState);
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, { logger: new PinoNestLogger(logger), abortOnError: false, bodyParser: false });
  app.useGlobalFilters(new ProblemFilter(logger, options.bodyLimit ?? 1024 * 1024));

  const fastify = app.getHttpAdapter().getInstance();
  // Nest adds its routes when the app initialises (in listen), after this hook is in place.
  const routes: RegisteredRoute[] = [];
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  if (options.cors) await registerCors(fastify, options.cors);
  const requests = histogram('http_request_duration_seconds', 'HTTP request duration', ['method', 'route', 'status'], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  fastify.addHook('onResponse', async (request, reply) => {
    requests.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  // Once shutdown starts, new requests are refused before any work (in-flight ones finish normally);
  // health and readiness keep answering so orchestrators see the state.
  fastify.addHook('onRequest', async (request, reply) => {
    if (!shutdownState.shuttingDown || ['/healthz', '/readyz', '/metrics'].includes(request.url)) return;
    await reply
      .status(503)
      .header('retry-after', '1')
      .header('connection', 'close')
      .header('content-type', PROBLEM_CONTENT_TYPE)
      .send(problem(ProblemType.unavailable, 503, 'Shutting down', { detail: 'this instance is shutting down; retry (another instance will answer)', instance: request.url }));
  });
  // Responses finishing during shutdown close their connection, so keep-alive sockets do not hold it open.
  fastify.addHook('onSend', async (_request, reply, payload) => {
    if (shutdownState.shuttingDown) void reply.header('connection', 'close');
    return payload;
  });
  // JSON only (form and plain-text bodies are 415), well-formed UTF-8, storable text, in the body and the URL.
  registerJsonBody(fastify, options.bodyLimit ?? 1024 * 1024);
  refuseUnstorableUrlText(fastify);
  await options.configure?.(app);

  for (const strategy of options.transports ?? []) app.connectMicroservice({ strategy }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  await app.listen({ port: options.port, host: options.host });
  const address = fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${port}`;
  logger.info({ url }, `${options.name} listening`);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shutdownState.shuttingDown = true;
      const timer = setTimeout(() => {
        logger.error({ timeoutMs: options.shutdownTimeoutMs }, 'graceful shutdown took too long; exiting');
        process.exit(1);
      }, options.shutdownTimeoutMs);
      timer.unref();
      await app.close();
      for (const release of options.afterClose ?? []) await release();
      clearTimeout(timer);
      logger.info(`${options.name} stopped`);
    })();
    return closing;
  };
  return { app, url, routes, close };
}

/** Exits the process cleanly on SIGTERM/SIGINT after `close` finishes. */
export function exitOnSignals(close: () => Promise<void>, logger: Logger, after?: () => Promise<void>): void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'shutting down');
    close()
      .then(() => after?.())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/**
 * The body of every app's `main.ts`: read the config (a bad one stops the process with a message naming
 * the variable), start the service, and shut down cleanly on SIGTERM/SIGINT.
 */
export function serviceMain<C extends { LOG_LEVEL: string }>(name: string, loadConfig: () => C, start: (config: C) => Promise<{ close(): Promise<void> }>): void {
  let config: C;
  try {
    config = loadConfig();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(78); // EX_CONFIG
  }
  start(config).then(
    (service) => exitOnSignals(service.close, createLogger(name, config.LOG_LEVEL)),
    (error: unknown) => {
      console.error(`${name} failed to start:`, error instanceof Error ? (error.stack ?? error.message) : error);
      process.exit(1);
    },
  );
}
