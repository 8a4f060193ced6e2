// Loaded first by main.ts: OpenTelemetry must hook http and pg before they are required.
import { startTelemetry } from '@tidemark/telemetry';

startTelemetry({ serviceName: 'asset-service', otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined });
