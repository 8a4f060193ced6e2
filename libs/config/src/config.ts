import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { Type, type Static, type TObject, type TProperties, type TSchema } from '@sinclair/typebox';

/** A configuration problem, naming the variable. */
export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: { variable: string; detail: string }[],
  ) {
    super(`${service}: invalid configuration\n` + problems.map((p) => `  - ${p.variable}: ${p.detail}`).join('\n'));
    this.name = 'ConfigError';
  }
}

export interface ConfigSpec<P extends TProperties> {
  service: string;
  schema: TObject<P>;
  /** Rules across variables (one requires another); return the problems found. */
  rules?: (config: Static<TObject<P>>) => { variable: string; detail: string }[];
}

const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, strict: false });
addFormats(ajv, ['uri']);

/**
 * Reads one typed config object from the environment, checked at boot. Every property of the schema is
 * an environment variable name with a description; strings from the environment are coerced to the
 * declared types, defaults filled in, and every problem reported at once with the variable it concerns.
 */
export function loadConfig<P extends TProperties>(spec: ConfigSpec<P>, env: NodeJS.ProcessEnv = process.env): Static<TObject<P>> {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(spec.schema.properties)) {
    const raw = env[key];
    if (raw !== undefined && raw !== '') input[key] = raw;
  }
  const validate = ajv.compile(spec.schema);
  const problems: { variable: string; detail: string }[] = [];
  if (!validate(input)) {
    for (const error of validate.errors ?? []) {
      const variable = error.keyword === 'required' ? (error.params as { missingProperty: string }).missingProperty : error.instancePath.replace(/^\//, '') || '(config)';
      const description = (spec.schema.properties[variable] as TSchema | undefined)?.description;
      const detail = error.keyword === 'required' ? `is required${description ? ` (${description})` : ''}` : `${error.message ?? error.keyword}; got ${JSON.stringify(env[variable])}`;
      problems.push({ variable, detail });
    }
  }
  if (problems.length === 0 && spec.rules) problems.push(...spec.rules(input as Static<TObject<P>>));
  if (problems.length > 0) throw new ConfigError(spec.service, problems);
  return Object.freeze(input) as Static<TObject<P>>;
}

/** A markdown table of a config spec: the configuration reference in the README is generated from this. */
export function describeConfig(spec: ConfigSpec<TProperties>): string {
  const rows = Object.entries(spec.schema.properties).map(([name, schema]) => {
    const s = schema as TSchema & { default?: unknown; description?: string };
    const required = (spec.schema.required ?? []).includes(name) && s.default === undefined ? 'yes' : 'no';
    const def = s.default === undefined ? '' : `\`${String(s.default)}\``;
    return `| \`${name}\` | ${required} | ${def} | ${s.description ?? ''} |`;
  });
  return ['| variable | required | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** Shared building blocks: each app composes its own schema from these. */
export const CommonConfig = {
  LOG_LEVEL: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')], {
    default: 'info',
    description: 'log level of the structured JSON logs',
  }),
  HTTP_HOST: Type.String({ default: '127.0.0.1', description: 'address the HTTP server binds (0.0.0.0 in containers)' }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 15_000, description: 'how long a graceful shutdown may take before the process exits anyway' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ format: 'uri', description: 'OTLP/HTTP collector for traces; unset: spans are not exported' })),
  TIDEMARK_INSTANCE: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'instance name in logs and traces (default: host name and pid)' })),
  HTTP_HEADERS_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 600_000,
    default: 10_000,
    description: "how long a client may take to send a request's headers before the connection is closed (408); at most HTTP_REQUEST_TIMEOUT_MS",
  }),
  HTTP_REQUEST_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 86_400_000,
    default: 30_000,
    description: 'how long a client may take to send a whole request, headers and body, before it is answered 408 and the connection closed (a slow or trickling client is cut)',
  }),
  HTTP_IDLE_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 3_600_000,
    default: 75_000,
    description: 'a connection on which nothing is sent or received for this long is closed; above the longest long-poll (30 s) and the live stream keep-alive (15 s)',
  }),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 3_600_000,
    default: 65_000,
    description: 'how long an idle keep-alive connection is kept open between requests (above a load balancer idle timeout of 60 s)',
  }),
} as const;

/** The HTTP timeouts of `CommonConfig`, as the service bootstrap takes them. */
export function httpTimeouts(config: { HTTP_HEADERS_TIMEOUT_MS: number; HTTP_REQUEST_TIMEOUT_MS: number; HTTP_IDLE_TIMEOUT_MS: number; HTTP_KEEP_ALIVE_TIMEOUT_MS: number }): {
  headersMs: number;
  requestMs: number;
  idleMs: number;
  keepAliveMs: number;
} {
  return { headersMs: config.HTTP_HEADERS_TIMEOUT_MS, requestMs: config.HTTP_REQUEST_TIMEOUT_MS, idleMs: config.HTTP_IDLE_TIMEOUT_MS, keepAliveMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS };
}

export const NatsConfig = {
  NATS_URL: Type.String({
    pattern: '^(nats|tls)://',
    description:
      'NATS server with JetStream, e.g. nats://127.0.0.1:4222 (comma-separate several); a server that requires TLS is connected with TLS, its certificate verified against the name in the URL',
  }),
  NATS_CREDS_FILE: Type.Optional(
    Type.String({
      description: 'NATS credentials: a JWT credentials file (operator mode, from nsc) or a file holding only a user NKey seed (SU…, for a server configuration that lists the user by its public key)',
    }),
  ),
  NODE_EXTRA_CA_CERTS: Type.Optional(
    Type.String({ description: "read by Node itself at start, not by tidemark: a PEM file of CA certificates trusted besides Node's built-in ones, e.g. the CA of the NATS server's TLS certificate" }),
  ),
  JOURNAL_PARTITIONS: Type.Integer({ minimum: 1, maximum: 100, default: 8, description: 'partitions of the journal (fixed for a deployment: it is part of every subject)' }),
  JOURNAL_DUPLICATE_WINDOW_MS: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 600_000, description: "JetStream's dedupe window for fast retries (Postgres keeps the lasting guarantee)" }),
  JOURNAL_REPLICAS: Type.Integer({ minimum: 1, maximum: 5, default: 1, description: 'stream replicas (3 on a clustered JetStream)' }),
} as const;

export const DatabaseConfig = {
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://', description: 'Postgres connection URL' }),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 10, description: 'Postgres connection pool size' }),
  DATABASE_CONNECT_TIMEOUT_MS: Type.Integer({
    minimum: 500,
    maximum: 120_000,
    default: 10_000,
    description: 'the longest wait for a Postgres connection (a new one, or a free one from the pool); past it the work fails as "database unavailable" and is retried, never left waiting forever',
  }),
} as const;

export const S3Config = {
  S3_ENDPOINT: Type.String({ pattern: '^https?://', description: 'S3 endpoint, e.g. http://minio:9000' }),
  S3_REGION: Type.String({ default: 'us-east-1', description: 'S3 region' }),
  S3_ACCESS_KEY: Type.String({ minLength: 1, description: 'S3 access key' }),
  S3_SECRET_KEY: Type.String({ minLength: 1, description: 'S3 secret key' }),
  S3_BUCKET: Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$', default: 'tidemark-assets', description: 'bucket for assets' }),
} as const;

export const AuthConfig = {
  AUTH_SIGNING_KEYS: Type.String({
    pattern: '^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]{43,}(,[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]{43,})*$',
    description:
      'token signing keys as kid:secret (base64url, at least 32 bytes), comma-separated; the first signs, all verify (rotate by putting a new key first, drop the old one after the longest token lifetime)',
  }),
  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 30, maximum: 86_400, default: 900, description: 'lifetime of a device access token' }),
} as const;

/**
 * Browsers on other origins (web apps, the dashboard, Electron renderers served from a custom scheme) may call a
 * device-facing service only from these origins. Credentials travel as bearer headers, never cookies.
 */
export const CorsConfig = {
  CORS_ORIGINS: Type.String({
    pattern: '^$|^[*]$|^[a-z][a-z0-9+.-]*://[^/,\\s]+(\\s*,\\s*[a-z][a-z0-9+.-]*://[^/,\\s]+)*$',
    default: '',
    description:
      'origins allowed to call this service from a browser, comma-separated, each exactly as the browser sends it (scheme://host[:port], no path or trailing slash, e.g. https://app.example.com,http://localhost:5173); * allows any origin; empty: none (preflights are refused with 403)',
  }),
} as const;

export function httpPort(defaultPort: number) {
  return Type.Integer({ minimum: 0, maximum: 65535, default: defaultPort, description: 'HTTP port (0: any free port)' });
}
