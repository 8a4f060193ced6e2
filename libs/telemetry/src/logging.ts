import pino, { type Logger } from 'pino';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { hostname } from 'node:os';

export type { Logger };

/**
 * Structured JSON logs on stdout, one object a line, with the service, instance, and the active
 * trace and span ids so a log line can be found from its trace and back.
 */
export function createLogger(service: string, level = 'info', instance = `${hostname()}:${process.pid}`): Logger {
  return pino({
    level,
    base: { service, instance },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const spanContext = span.spanContext();
      if (!isSpanContextValid(spanContext)) return {};
      const { traceId, spanId } = spanContext;
      return { trace_id: traceId, span_id: spanId };
    },
  });
}
