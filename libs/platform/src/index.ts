export { runService, exitOnSignals, serviceMain, type ServiceOptions, type RunningService } from './bootstrap';
export { HealthController, readiness, registerReadinessGauges, READINESS_CHECKS, SHUTTING_DOWN, type ReadinessCheck, type ShutdownState, type Readiness } from './health';
export { ProblemError, ProblemFilter, toProblem, sendProblem, isDependencyUnavailable } from './problem-filter';
export { PublicRoute, PUBLIC_ROUTE } from './access';
export { parseQuery, parsePath } from './request';
export { registerJsonBody, refuseUnstorableUrlText, utf8ErrorOffset, frameworkErrorProblem, MAX_PATH_PARAM_CHARS } from './request-text';
export { registerCors, parseCorsOrigins, CORS_METHODS, CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS, CORS_MAX_AGE_SECONDS, type CorsOptions } from './cors';
export { registerCompression, negotiateEncoding, compress, compressingStream, BROTLI_QUALITY, GZIP_LEVEL, type AnswerEncoding, type CompressionOptions } from './compression';
export { asyncApiController, openApiController, type RegisteredRoute } from './openapi';
