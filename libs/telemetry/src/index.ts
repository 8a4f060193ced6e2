export {
  startTelemetry,
  tracer,
  injectTraceContext,
  extractTraceContext,
  withSpan,
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Span,
  type Context,
  type HeaderCarrier,
  type Telemetry,
  type TelemetryOptions,
} from './tracing';
export { createLogger, type Logger } from './logging';
export { metricsRegistry, enableDefaultMetrics, counter, gauge, histogram } from './metrics';
